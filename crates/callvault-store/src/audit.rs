//! What the audit log records: each kind of entry, named as the API and the CSV name it, and
//! the filters and pages it is read in.

use callvault_core::{AuditId, ContactId, UserId};
use serde::Serialize;
use time::OffsetDateTime;

use crate::UserRef;

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $label:literal;)*) => {
        /// Each kind of audit entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($(#[$doc])* $variant,)*
        }

        impl AuditAction {
            pub const ALL: &[Self] = &[$(Self::$variant,)*];

            /// As stored, and as the API and the CSV name it.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// For people: "Played a recording".
            #[must_use]
            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)*
                }
            }

            #[must_use]
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|a| a.as_str() == s)
            }
        }
    };
}

actions! {
    /// A person signed in.
    SignIn = "auth.login", "Signed in";
    /// A sign-in was refused (a wrong password, an unknown or disabled account).
    SignInFailed = "auth.login_failed", "Sign-in failed";
    SignOut = "auth.logout", "Signed out";
    /// Too many failures: the account or address waits.
    Lockout = "auth.lockout", "Locked out after failures";
    PasswordChange = "user.password", "Changed their password";
    UserCreate = "user.create", "Added a user";
    /// Role, scope, permissions, disabling.
    UserUpdate = "user.update", "Changed a user";
    TokenCreate = "token.create", "Created an API token";
    TokenDelete = "token.delete", "Revoked an API token";
    TokenDeleteAll = "token.delete_all", "Revoked all API tokens";
    NumberCreate = "number.create", "Added a number";
    NumberUpdate = "number.update", "Changed a number's configuration";
    /// Who a contact is assigned to (who may see them).
    ContactAssign = "contact.assign", "Changed who sees a contact";
    RecordingUpload = "recording.upload", "Uploaded a recording";
    Play = "play", "Played a recording";
    Download = "download", "Downloaded a recording";
    TranscriptView = "transcript_view", "Read a transcript";
    ShareLinkOpen = "share_link_open", "Opened a conversation link";
    /// A conversation or a contact, with everything in it.
    Delete = "delete", "Deleted";
    RetentionPolicy = "retention.policy", "Changed the retention policy";
    RetentionDelete = "retention_delete", "Deleted by the retention policy";
    RetentionRun = "retention.run", "Ran the retention policy";
    HoldPlaced = "hold_placed", "Placed a legal hold";
    HoldReleased = "hold_released", "Released a legal hold";
    /// Card or ID details hidden from a recording's transcript and audio.
    Redacted = "redacted", "Redacted payment or ID details";
    AuditExport = "audit.export", "Exported the audit log";
    WebhookCreate = "webhook.create", "Added a webhook";
    WebhookDelete = "webhook.delete", "Removed a webhook";
    /// Calls imported from a phone system's records.
    Import = "import.asterisk", "Imported calls";
    SettingsChange = "settings.update", "Changed a setting";
}

/// An entry to write.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub at: OffsetDateTime,
    pub actor: Option<UserId>,
    pub action: AuditAction,
    pub target_kind: String,
    pub target_id: Option<String>,
    /// The contact whose things it concerns, to find entries by contact.
    pub contact: Option<ContactId>,
    /// Ids and counts only: never a caller's name or number.
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: AuditId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Option<UserRef>,
    /// `play`, `download`, `delete`, `hold_placed`, … (see the list of actions).
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    pub contact_id: Option<ContactId>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Where a page of the log (newest first) goes on from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: OffsetDateTime,
    pub id: AuditId,
}

/// Which entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub action: Option<AuditAction>,
    pub contact: Option<ContactId>,
    /// From this moment on.
    pub since: Option<OffsetDateTime>,
    /// Before this moment.
    pub until: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next: Option<AuditCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_from_its_name_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(*action));
            assert!(names.insert(action.as_str()), "{action:?}");
            assert!(!action.label().is_empty());
        }
        assert_eq!(AuditAction::parse("nonsense"), None);
    }
}
