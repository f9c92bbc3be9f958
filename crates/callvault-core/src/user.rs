//! Team members and what they may do.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Configures numbers and users, sees everything, may do everything.
    Admin,
    /// A team member; what they see follows their scope.
    User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Sees every contact.
    All,
    /// Sees only the contacts assigned to them.
    Assigned,
}

impl Role {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

impl Scope {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Assigned => "assigned",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Self::All),
            "assigned" => Some(Self::Assigned),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    /// May download recordings as files (playing needs only access to the contact).
    pub can_download: bool,
    /// May delete conversations, and with them their recordings.
    pub can_delete: bool,
    /// A disabled user can no longer sign in, and their sessions and tokens stop working.
    pub disabled: bool,
    /// Their PBX extension or SIP user part ("201", "alice"): how a phone system names who
    /// handled a call.
    pub extension: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl User {
    #[must_use]
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The longest email address (RFC 5321's path limit), counted as sent.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Emails are compared without regard to case or surrounding space. [`crate::patterns::EMAIL`]
/// says what is accepted.
#[must_use]
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let plausible = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && raw.chars().count() <= MAX_EMAIL_CHARS
        // No one types a control character in an address, and PostgreSQL cannot take NUL.
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then_some(email)
}

/// Longest extension or SIP user part kept.
pub const MAX_EXTENSION_CHARS: usize = 64;

/// An extension as typed: trimmed, and made only of what a SIP user part or a dial plan uses
/// (letters, digits and `. - _ + * #`). A typed `sip:` URI gives its user part.
#[must_use]
pub fn normalise_extension(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = raw
        .strip_prefix("sips:")
        .or_else(|| raw.strip_prefix("sip:"))
        .unwrap_or(raw);
    let user = raw.split('@').next().unwrap_or(raw);
    let plausible = !user.is_empty()
        && user.chars().count() <= MAX_EXTENSION_CHARS
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_+*#".contains(c));
    plausible.then(|| user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_the_user_part_a_phone_system_sends() {
        assert_eq!(normalise_extension(" 201 "), Some("201".to_owned()));
        assert_eq!(
            normalise_extension("sip:alice@pbx.example"),
            Some("alice".to_owned())
        );
        assert_eq!(
            normalise_extension("+15551234567"),
            Some("+15551234567".to_owned())
        );
        assert_eq!(normalise_extension(""), None);
        assert_eq!(normalise_extension("two words"), None);
        assert_eq!(normalise_extension(&"9".repeat(65)), None);
    }

    #[test]
    fn emails_are_compared_case_insensitively() {
        assert_eq!(
            normalise_email("  Ana@Example.COM "),
            Some("ana@example.com".to_owned())
        );
        assert_eq!(normalise_email("not-an-email"), None);
        assert_eq!(normalise_email("a@b@c"), None);
        assert_eq!(normalise_email("a b@c"), None);
    }

    #[test]
    fn role_and_scope_round_trip() {
        for role in [Role::Admin, Role::User] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for scope in [Scope::All, Scope::Assigned] {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("everyone"), None);
    }
}
