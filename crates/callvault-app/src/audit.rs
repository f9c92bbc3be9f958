//! The audit log: who signed in, changed settings, downloaded or deleted what.

use callvault_core::user::User;
use callvault_store::NewAudit;

use crate::App;

/// Writes an audit entry. A failure to audit is logged but does not undo what was done.
pub async fn record(
    state: &App,
    actor: Option<&User>,
    action: &str,
    target_kind: &str,
    target_id: Option<String>,
    detail: serde_json::Value,
) {
    let entry = NewAudit {
        at: state.now(),
        actor: actor.map(|u| u.id),
        action: action.to_owned(),
        target_kind: target_kind.to_owned(),
        target_id,
        detail,
    };
    if let Err(e) = state.store.audit(entry).await {
        tracing::error!(error = %e, action, "could not write the audit log");
    }
}

/// Writes an audit entry for something done by the system rather than a user.
pub async fn record_system(state: &App, action: &str, detail: serde_json::Value) {
    record(state, None, action, "system", None, detail).await;
}
