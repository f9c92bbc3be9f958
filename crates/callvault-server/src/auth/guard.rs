//! Applies the core's permission rules and turns their answer into HTTP.

use callvault_core::UserId;
use callvault_core::permissions::{ContactAction, Decision, OrgAction, can, can_org};
use callvault_core::user::User;

use crate::error::ApiError;

/// Allows `action` on something of a contact assigned to `assigned`, or answers 404 (the user
/// may not know it exists) or 403 (they see it but may not do this).
pub fn require(
    user: &User,
    action: ContactAction,
    assigned: &[UserId],
    what: &'static str,
) -> Result<(), ApiError> {
    match can(user, action, assigned) {
        Decision::Allow => Ok(()),
        Decision::NotFound => Err(ApiError::not_found(what)),
        Decision::Forbidden => Err(ApiError::forbidden(match action {
            ContactAction::Download => "your account may not download recordings",
            ContactAction::Delete => "your account may not delete conversations",
            ContactAction::Assign => "only admins assign contacts",
            ContactAction::View | ContactAction::Edit => "you may not do this",
        })),
    }
}

pub fn require_org(user: &User, action: OrgAction) -> Result<(), ApiError> {
    if can_org(user, action) {
        Ok(())
    } else {
        Err(ApiError::forbidden(match action {
            OrgAction::ManageUsers => "only admins manage users",
            OrgAction::ManageNumbers => "only admins configure phone numbers",
            OrgAction::ReportCalls => "only admin tokens report calls and upload recordings",
            OrgAction::ReadAuditLog => "only admins read the audit log",
            OrgAction::AssignContacts => "only admins assign contacts",
            OrgAction::ViewNumbers | OrgAction::CreateContact => "you may not do this",
        }))
    }
}
