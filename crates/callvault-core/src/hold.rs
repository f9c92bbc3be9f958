//! Legal holds: while one applies, nothing of what it covers may be deleted, by a user, by the
//! retention policy or through the API. A hold covers one contact (all their conversations) or
//! the whole installation; it is placed and released by admins, with a reason, and kept after
//! release so the history of who held what stays readable.

use serde::{Deserialize, Serialize};

use crate::ContactId;

/// The longest reason a hold may carry, in characters as sent.
pub const MAX_REASON_CHARS: usize = 500;

/// What a hold covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", content = "contact_id", rename_all = "snake_case")]
pub enum HoldScope {
    /// Every contact, conversation and recording.
    Installation,
    /// One contact and everything in their conversation.
    Contact(ContactId),
}

impl HoldScope {
    /// Whether the hold covers this contact.
    #[must_use]
    pub fn covers(self, contact: ContactId) -> bool {
        match self {
            Self::Installation => true,
            Self::Contact(held) => held == contact,
        }
    }

    /// The stored name of the kind of scope.
    #[must_use]
    pub fn kind(self) -> &'static str {
        match self {
            Self::Installation => "installation",
            Self::Contact(_) => "contact",
        }
    }
}

/// A hold's reason as kept: one trimmed line, not blank, at most [`MAX_REASON_CHARS`] as sent,
/// no control characters (it is shown in lists and in error messages).
/// [`crate::patterns::NAME`] says the same, but for the length.
#[must_use]
pub fn clean_reason(raw: &str) -> Option<String> {
    crate::contact::clean_line(raw, MAX_REASON_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_hold_covers_only_its_contact_and_an_installation_hold_everyone() {
        let held = ContactId::new();
        let other = ContactId::new();
        assert!(HoldScope::Contact(held).covers(held));
        assert!(!HoldScope::Contact(held).covers(other));
        assert!(HoldScope::Installation.covers(other));
    }

    #[test]
    fn reasons_are_one_trimmed_line_of_bounded_length() {
        assert_eq!(
            clean_reason("  Smith v. Acme, case 24-1187 ").as_deref(),
            Some("Smith v. Acme, case 24-1187")
        );
        assert_eq!(clean_reason("   "), None);
        assert_eq!(clean_reason("two\nlines"), None);
        assert_eq!(clean_reason("nul\0"), None);
        assert!(clean_reason(&"x".repeat(MAX_REASON_CHARS)).is_some());
        assert_eq!(clean_reason(&"x".repeat(MAX_REASON_CHARS + 1)), None);
    }
}
