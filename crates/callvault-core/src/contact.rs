//! The people a team talks to.

use serde::Serialize;
use time::OffsetDateTime;

use crate::phone::E164;
use crate::{ContactId, ConversationId, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    /// The number in E.164.
    pub phone: E164,
    /// The number as it was first typed or received.
    pub phone_raw: String,
    pub email: Option<String>,
    /// Team members this contact is assigned to; users with scope `assigned` see only these.
    pub assigned_user_ids: Vec<UserId>,
    /// The contact's conversation; none after it was deleted, until the next call or message.
    pub conversation_id: Option<ConversationId>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Longest name kept for a contact or user; longer input is refused, not cut.
pub const MAX_NAME_CHARS: usize = 200;

/// A name as it is stored: trimmed, not empty, not absurdly long, no control characters.
#[must_use]
pub fn clean_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

/// The form of a name the inbox search compares against.
#[must_use]
pub fn fold_for_search(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(clean_name("  Ana Souza "), Some("Ana Souza".to_owned()));
        assert_eq!(clean_name("   "), None);
        assert_eq!(clean_name("a\u{0}b"), None);
        assert_eq!(clean_name(&"x".repeat(MAX_NAME_CHARS + 1)), None);
    }

    #[test]
    fn search_folding_handles_non_ascii() {
        assert_eq!(fold_for_search("ÉLODIE Müller"), "élodie müller");
    }
}
