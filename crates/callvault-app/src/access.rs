//! The permission rules of `callvault_core::permissions` as the services enforce them: a
//! contact's things one may not see are "not found" (never "forbidden", which would tell they
//! exist); what one sees but may not do, and the organisation's actions, are refused.

use callvault_core::UserId;
use callvault_core::permissions::{ContactAction, Decision, OrgAction, can, can_org};
use callvault_core::user::User;

use crate::error::{AppError, AppResult};

/// What was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Contact(ContactAction),
    Org(OrgAction),
}

impl Denied {
    /// Says what the account may not do, for people.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::Contact(ContactAction::Download) => "your account may not download recordings",
            Self::Contact(ContactAction::Delete) => "your account may not delete conversations",
            Self::Contact(ContactAction::Assign) | Self::Org(OrgAction::AssignContacts) => {
                "only admins assign contacts"
            }
            Self::Org(OrgAction::ManageUsers) => "only admins manage users",
            Self::Org(OrgAction::ManageNumbers) => "only admins configure phone numbers",
            Self::Org(OrgAction::ReportCalls) => {
                "only admin tokens report calls and upload recordings"
            }
            Self::Org(OrgAction::ReadAuditLog) => "only admins read the audit log",
            Self::Org(OrgAction::ManageLegalHolds) => "only admins place and release legal holds",
            Self::Org(OrgAction::ManageRetention) => "only admins set the retention policy",
            Self::Org(OrgAction::ManageWebhooks) => "only admins manage webhooks",
            Self::Contact(ContactAction::View | ContactAction::Edit)
            | Self::Org(OrgAction::ViewNumbers | OrgAction::CreateContact) => "you may not do this",
        }
    }
}

/// Allows `action` on something (`what`) of a contact assigned to `assigned`.
pub fn require(
    user: &User,
    action: ContactAction,
    assigned: &[UserId],
    what: &'static str,
) -> AppResult<()> {
    match can(user, action, assigned) {
        Decision::Allow => Ok(()),
        Decision::NotFound => Err(AppError::NotFound(what)),
        Decision::Forbidden => Err(AppError::Forbidden(Denied::Contact(action))),
    }
}

/// Allows one of the organisation's actions.
pub fn require_org(user: &User, action: OrgAction) -> AppResult<()> {
    if can_org(user, action) {
        Ok(())
    } else {
        Err(AppError::Forbidden(Denied::Org(action)))
    }
}
