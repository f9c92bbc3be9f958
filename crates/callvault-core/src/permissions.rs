//! Who may do what, decided here and nowhere else. Every door of the server (single items,
//! lists, search, audio, downloads, deletion) asks these functions.
//!
//! Access to anything about a contact (its conversation, calls, recordings, transcripts)
//! follows access to the contact. What a user may not see answers "not found", never
//! "forbidden", so ids of other people's contacts reveal nothing.

use crate::UserId;
use crate::user::{Scope, User};

/// Something done to one contact or what hangs off it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactAction {
    /// See the contact, its conversation, calls and recordings, and play the audio.
    View,
    /// Change the contact's name, phone or email.
    Edit,
    /// Change who the contact is assigned to.
    Assign,
    /// Delete the conversation (or the contact) with its recordings.
    Delete,
    /// Save a recording as a file.
    Download,
}

/// Something done to the organisation rather than to one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAction {
    ManageUsers,
    ManageNumbers,
    /// Report calls and upload recordings as a phone system does.
    ReportCalls,
    ReadAuditLog,
    ViewNumbers,
    CreateContact,
    /// Choose who a new contact is assigned to.
    AssignContacts,
    /// Place and release legal holds.
    ManageLegalHolds,
    /// Set how long recordings and conversations are kept, and run the policy.
    ManageRetention,
    /// Register URLs for events, and see their deliveries.
    ManageWebhooks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The user can see the thing but may not do this to it.
    Forbidden,
    /// The user may not know the thing exists.
    NotFound,
}

/// Which contacts a user's lists and searches may include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactScope {
    All,
    AssignedTo(UserId),
}

impl ContactScope {
    /// Whether a contact assigned to `assigned` falls within this scope.
    #[must_use]
    pub fn admits(self, assigned: &[UserId]) -> bool {
        match self {
            Self::All => true,
            Self::AssignedTo(user) => assigned.contains(&user),
        }
    }
}

/// The contacts a user sees.
#[must_use]
pub fn contact_scope(user: &User) -> ContactScope {
    if user.is_admin() || user.scope == Scope::All {
        ContactScope::All
    } else {
        ContactScope::AssignedTo(user.id)
    }
}

/// May `user` do `action` to a contact assigned to `assigned`?
#[must_use]
pub fn can(user: &User, action: ContactAction, assigned: &[UserId]) -> Decision {
    if user.disabled || !contact_scope(user).admits(assigned) {
        return Decision::NotFound;
    }
    let allowed = match action {
        ContactAction::View | ContactAction::Edit => true,
        ContactAction::Assign => user.is_admin(),
        ContactAction::Delete => user.is_admin() || user.can_delete,
        ContactAction::Download => user.is_admin() || user.can_download,
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Forbidden
    }
}

/// May `user` do `action` to the organisation?
#[must_use]
pub fn can_org(user: &User, action: OrgAction) -> bool {
    if user.disabled {
        return false;
    }
    match action {
        OrgAction::ViewNumbers | OrgAction::CreateContact => true,
        OrgAction::ManageUsers
        | OrgAction::ManageNumbers
        | OrgAction::ReportCalls
        | OrgAction::ReadAuditLog
        | OrgAction::AssignContacts
        | OrgAction::ManageLegalHolds
        | OrgAction::ManageRetention
        | OrgAction::ManageWebhooks => user.is_admin(),
    }
}

/// Who a new contact is assigned to when `creator` makes it without saying: a user who sees only
/// assigned contacts gets it, so they do not lose sight of what they just created.
#[must_use]
pub fn default_assignees(creator: &User) -> Vec<UserId> {
    match contact_scope(creator) {
        ContactScope::All => Vec::new(),
        ContactScope::AssignedTo(user) => vec![user],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::Role;
    use time::macros::datetime;

    fn user(role: Role, scope: Scope, can_download: bool, can_delete: bool) -> User {
        User {
            id: UserId::new(),
            email: "x@example.com".into(),
            name: "X".into(),
            role,
            scope,
            can_download,
            can_delete,
            disabled: false,
            extension: None,
            created_at: datetime!(2026-01-01 00:00 UTC),
        }
    }

    #[test]
    fn scoped_user_sees_only_assigned_contacts() {
        let u = user(Role::User, Scope::Assigned, true, true);
        let other = UserId::new();
        assert_eq!(can(&u, ContactAction::View, &[u.id]), Decision::Allow);
        assert_eq!(can(&u, ContactAction::View, &[other]), Decision::NotFound);
        assert_eq!(can(&u, ContactAction::View, &[]), Decision::NotFound);
        // Not seeing wins over every other rule: no hint that the contact exists.
        assert_eq!(
            can(&u, ContactAction::Download, &[other]),
            Decision::NotFound
        );
        assert_eq!(can(&u, ContactAction::Delete, &[other]), Decision::NotFound);
        assert_eq!(contact_scope(&u), ContactScope::AssignedTo(u.id));
    }

    #[test]
    fn user_with_scope_all_sees_everything() {
        let u = user(Role::User, Scope::All, false, false);
        assert_eq!(can(&u, ContactAction::View, &[]), Decision::Allow);
        assert_eq!(contact_scope(&u), ContactScope::All);
    }

    #[test]
    fn download_and_delete_are_permissions_of_their_own() {
        let plain = user(Role::User, Scope::All, false, false);
        assert_eq!(
            can(&plain, ContactAction::Download, &[]),
            Decision::Forbidden
        );
        assert_eq!(can(&plain, ContactAction::Delete, &[]), Decision::Forbidden);
        let trusted = user(Role::User, Scope::All, true, true);
        assert_eq!(can(&trusted, ContactAction::Download, &[]), Decision::Allow);
        assert_eq!(can(&trusted, ContactAction::Delete, &[]), Decision::Allow);
    }

    #[test]
    fn admins_may_do_everything_and_users_may_not_administer() {
        let admin = user(Role::Admin, Scope::Assigned, false, false);
        assert_eq!(can(&admin, ContactAction::View, &[]), Decision::Allow);
        assert_eq!(can(&admin, ContactAction::Assign, &[]), Decision::Allow);
        assert_eq!(can(&admin, ContactAction::Download, &[]), Decision::Allow);
        assert!(can_org(&admin, OrgAction::ManageNumbers));
        let u = user(Role::User, Scope::All, true, true);
        assert_eq!(can(&u, ContactAction::Assign, &[]), Decision::Forbidden);
        for action in [
            OrgAction::ManageUsers,
            OrgAction::ManageNumbers,
            OrgAction::ReportCalls,
        ] {
            assert!(!can_org(&u, action), "{action:?}");
        }
        assert!(can_org(&u, OrgAction::CreateContact));
    }

    #[test]
    fn disabled_users_may_do_nothing() {
        let mut admin = user(Role::Admin, Scope::All, true, true);
        admin.disabled = true;
        assert_eq!(can(&admin, ContactAction::View, &[]), Decision::NotFound);
        assert!(!can_org(&admin, OrgAction::ViewNumbers));
    }

    #[test]
    fn new_contacts_stay_visible_to_their_scoped_creator() {
        let scoped = user(Role::User, Scope::Assigned, false, false);
        assert_eq!(default_assignees(&scoped), vec![scoped.id]);
        let all = user(Role::User, Scope::All, false, false);
        assert!(default_assignees(&all).is_empty());
    }
}
