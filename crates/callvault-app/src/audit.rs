//! The audit log: who signed in, changed settings, heard, read, downloaded or deleted what.
//! Written here (ids only), read by admins in pages or as one export of any size, and pruned
//! only by its own retention setting.

use callvault_core::ContactId;
use callvault_core::permissions::OrgAction;
use callvault_core::user::User;
use callvault_store::{AuditAction, AuditCursor, AuditEntry, AuditFilter, AuditPage, NewAudit};

use crate::App;
use crate::access::require_org;
use crate::error::AppResult;

/// Writes an audit entry. A failure to audit is logged but does not undo what was done.
pub async fn record(
    state: &App,
    actor: Option<&User>,
    action: AuditAction,
    target_kind: &str,
    target_id: Option<String>,
    detail: serde_json::Value,
) {
    write(state, actor, action, target_kind, target_id, None, detail).await;
}

/// Writes an audit entry about something of `contact`'s (found again by contact).
pub async fn record_about(
    state: &App,
    actor: Option<&User>,
    action: AuditAction,
    target_kind: &str,
    target_id: Option<String>,
    contact: ContactId,
    detail: serde_json::Value,
) {
    write(
        state,
        actor,
        action,
        target_kind,
        target_id,
        Some(contact),
        detail,
    )
    .await;
}

async fn write(
    state: &App,
    actor: Option<&User>,
    action: AuditAction,
    target_kind: &str,
    target_id: Option<String>,
    contact: Option<ContactId>,
    detail: serde_json::Value,
) {
    let entry = NewAudit {
        at: state.now(),
        actor: actor.map(|u| u.id),
        action,
        target_kind: target_kind.to_owned(),
        target_id,
        contact,
        detail,
    };
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(error = %e, action = action.as_str(), "could not write the audit log");
    }
}

/// Writes an audit entry for something done by the system rather than a user.
pub async fn record_system(state: &App, action: AuditAction, detail: serde_json::Value) {
    record(state, None, action, "system", None, detail).await;
}

/// A page of the log as an admin reads it: newest first, through `filter`.
pub async fn page(
    state: &App,
    user: &User,
    filter: &AuditFilter,
    before: Option<AuditCursor>,
    limit: u32,
) -> AppResult<AuditPage> {
    require_org(user, OrgAction::ReadAuditLog)?;
    Ok(state.store.audit_page(filter, before, limit).await?)
}

/// Entries read per page of an export.
const EXPORT_PAGE: u32 = 1000;

/// Every entry `filter` admits, newest first, a page at a time, for an export of any size
/// (memory holds one page); the export itself is audited first.
pub async fn export(
    state: &App,
    user: &User,
    filter: AuditFilter,
) -> AppResult<impl futures::Stream<Item = AppResult<Vec<AuditEntry>>> + Send + 'static> {
    require_org(user, OrgAction::ReadAuditLog)?;
    record(
        state,
        Some(user),
        AuditAction::AuditExport,
        "audit_log",
        None,
        serde_json::json!({
            "actor": filter.actor,
            "action": filter.action.map(AuditAction::as_str),
            "contact_id": filter.contact,
            "since": filter.since.map(|t| t.unix_timestamp()),
            "until": filter.until.map(|t| t.unix_timestamp()),
        }),
    )
    .await;
    let state = state.clone();
    // None: the first page; Some(None): no more pages.
    let start: Option<Option<AuditCursor>> = None;
    Ok(futures::stream::unfold(start, move |cursor| {
        let (state, filter) = (state.clone(), filter.clone());
        async move {
            let before = match cursor {
                Some(None) => return None,
                Some(Some(c)) => Some(c),
                None => None,
            };
            match state.store.audit_page(&filter, before, EXPORT_PAGE).await {
                Ok(page) => Some((Ok(page.items), Some(page.next))),
                Err(e) => Some((Err(e.into()), Some(None))),
            }
        }
    }))
}

/// Removes entries older than the log's own retention, unless a hold on everything is in
/// force (a legal hold keeps the record of who heard what too); how many went.
pub async fn prune(state: &App) -> AppResult<u64> {
    let Some(days) = state.store.audit_retention_days().await? else {
        return Ok(0);
    };
    let held = state
        .store
        .legal_holds(false)
        .await?
        .iter()
        .any(|h| h.scope == callvault_core::hold::HoldScope::Installation);
    if held {
        return Ok(0);
    }
    let before = state.now() - time::Duration::days(i64::from(days));
    Ok(state.store.prune_audit(before).await?)
}

/// Sets how long audit entries are kept (admins; `None`: forever); audited.
pub async fn set_retention(state: &App, user: &User, days: Option<u32>) -> AppResult<()> {
    require_org(user, OrgAction::ManageRetention)?;
    if days.is_some_and(|d| !(1..=callvault_core::retention::MAX_DAYS).contains(&d)) {
        return Err(crate::AppError::Invalid(crate::Invalid::RetentionPeriod));
    }
    let before = state.store.audit_retention_days().await?;
    state
        .store
        .set_audit_retention_days(days, state.now())
        .await?;
    record(
        state,
        Some(user),
        AuditAction::SettingsChange,
        "installation",
        None,
        serde_json::json!({"setting": "audit_retention_days", "before": before, "after": days}),
    )
    .await;
    Ok(())
}
