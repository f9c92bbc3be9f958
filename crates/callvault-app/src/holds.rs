//! Legal holds as admins place and release them, each change audited (ids only: the reason may
//! name people, and the hold itself keeps it). The store refuses every deletion a hold covers.

use callvault_core::hold::{HoldScope, clean_reason};
use callvault_core::permissions::{ContactAction, OrgAction};
use callvault_core::user::User;
use callvault_core::{ContactId, HoldId};
use callvault_store::{AuditAction, LegalHold, NewHold};

use crate::access::{require, require_org};
use crate::error::{AppError, AppResult, Invalid};
use crate::{App, audit};

/// Places a hold on one contact (all their conversations) or on the whole installation.
pub async fn place(app: &App, user: &User, scope: HoldScope, reason: &str) -> AppResult<LegalHold> {
    require_org(user, OrgAction::ManageLegalHolds)?;
    let reason = clean_reason(reason).ok_or(AppError::Invalid(Invalid::HoldReason))?;
    let hold = app
        .store
        .place_hold(
            NewHold {
                scope,
                reason,
                placed_by: user.id,
            },
            app.now(),
        )
        .await
        .map_err(|e| AppError::named(e, "contact"))?;
    audit_change(app, user, AuditAction::HoldPlaced, &hold).await;
    Ok(hold)
}

/// Releases a hold; what it kept may be deleted again (retention catches up at its next run).
pub async fn release(app: &App, user: &User, id: HoldId) -> AppResult<LegalHold> {
    require_org(user, OrgAction::ManageLegalHolds)?;
    let hold = app
        .store
        .release_hold(id, user.id, app.now())
        .await
        .map_err(|e| AppError::named(e, "legal hold"))?;
    audit_change(app, user, AuditAction::HoldReleased, &hold).await;
    Ok(hold)
}

/// Every hold, newest first: those in force, or all of them.
pub async fn list(app: &App, user: &User, include_released: bool) -> AppResult<Vec<LegalHold>> {
    require_org(user, OrgAction::ManageLegalHolds)?;
    Ok(app.store.legal_holds(include_released).await?)
}

/// One hold, for admins.
pub async fn get(app: &App, user: &User, id: HoldId) -> AppResult<LegalHold> {
    require_org(user, OrgAction::ManageLegalHolds)?;
    app.store
        .legal_hold(id)
        .await?
        .ok_or(AppError::NotFound("legal hold"))
}

/// The holds in force over a contact whose conversation `user` may see (shown on it).
pub async fn covering(
    app: &App,
    user: &User,
    contact: ContactId,
    assigned: &[callvault_core::UserId],
) -> AppResult<Vec<LegalHold>> {
    require(user, ContactAction::View, assigned, "conversation")?;
    let holds = app.store.holds_covering(contact).await?;
    if callvault_core::permissions::can_org(user, OrgAction::ManageLegalHolds) {
        return Ok(holds);
    }
    // A reason may name other people (a hold on everything is about someone): team members
    // see that there is a hold and since when, admins why and by whom.
    Ok(holds
        .into_iter()
        .map(|h| LegalHold {
            reason: String::new(),
            placed_by: None,
            released_by: None,
            ..h
        })
        .collect())
}

async fn audit_change(app: &App, user: &User, action: AuditAction, hold: &LegalHold) {
    let target = Some(hold.id.to_string());
    let detail = serde_json::json!({"scope": hold.scope.kind()});
    match hold.scope {
        HoldScope::Installation => {
            audit::record(app, Some(user), action, "legal_hold", target, detail).await;
        }
        HoldScope::Contact(contact) => {
            audit::record_about(
                app,
                Some(user),
                action,
                "legal_hold",
                target,
                contact,
                detail,
            )
            .await;
        }
    }
}

/// Holds a contact (the API's `PUT /contacts/{id}/hold`): the hold already in force on them if
/// there is one (`false`), or a new one (`true`).
pub async fn hold_contact(
    app: &App,
    user: &User,
    contact: ContactId,
    reason: &str,
) -> AppResult<(LegalHold, bool)> {
    require_org(user, OrgAction::ManageLegalHolds)?;
    // Checked even when the contact is held already: a bad reason is refused either way.
    clean_reason(reason).ok_or(AppError::Invalid(Invalid::HoldReason))?;
    let own = app
        .store
        .holds_covering(contact)
        .await?
        .into_iter()
        .find(|h| h.scope == HoldScope::Contact(contact));
    match own {
        Some(hold) => Ok((hold, false)),
        None => Ok((
            place(app, user, HoldScope::Contact(contact), reason).await?,
            true,
        )),
    }
}

/// Releases every hold placed on the contact itself (a hold on everything stays); `NotFound`
/// when there is none.
pub async fn release_contact(
    app: &App,
    user: &User,
    contact: ContactId,
) -> AppResult<Vec<LegalHold>> {
    require_org(user, OrgAction::ManageLegalHolds)?;
    let own: Vec<LegalHold> = app
        .store
        .holds_covering(contact)
        .await?
        .into_iter()
        .filter(|h| h.scope == HoldScope::Contact(contact))
        .collect();
    if own.is_empty() {
        return Err(AppError::NotFound("legal hold on this contact"));
    }
    let mut released = Vec::with_capacity(own.len());
    for hold in own {
        released.push(release(app, user, hold.id).await?);
    }
    Ok(released)
}
