//! The people a team talks to.

use serde::Serialize;
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

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

/// A name as it is stored: trimmed, not empty, not absurdly long (as sent, so the limit the
/// API documents is the one applied), no control characters. [`crate::patterns::NAME`] says
/// the same.
#[must_use]
pub fn clean_name(raw: &str) -> Option<String> {
    clean_line(raw, MAX_NAME_CHARS)
}

/// One line of text as kept: trimmed, not empty, at most `max` characters as sent, no control
/// characters. [`crate::patterns::NAME`] says the same, but for the length.
#[must_use]
pub fn clean_line(raw: &str, max: usize) -> Option<String> {
    let line = raw.trim();
    let ok = !line.is_empty() && raw.chars().count() <= max && !line.chars().any(char::is_control);
    ok.then(|| line.to_owned())
}

/// The form of a name the inbox search compares against: its words, lower-case and without
/// accents ("Élodie O'Brien-García" is "elodie o brien garcia"), split on anything that is not
/// a letter or a digit, joined by single spaces. Search text is folded the same way, so a
/// query matches whatever way either was typed.
#[must_use]
pub fn fold_for_search(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        if !c.is_alphanumeric() {
            gap = !out.is_empty();
            continue;
        }
        if gap {
            out.push(' ');
            gap = false;
        }
        match c {
            // Letters that carry no accent to strip but are written without it in ASCII.
            'ß' | 'ẞ' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            'þ' | 'Þ' => out.push_str("th"),
            'ı' => out.push('i'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
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
    fn search_folding_drops_case_accents_and_punctuation() {
        assert_eq!(fold_for_search("ÉLODIE Müller"), "elodie muller");
        assert_eq!(
            fold_for_search("  O'Brien-García, Łukasz Straße "),
            "o brien garcia lukasz strasse"
        );
        assert_eq!(fold_for_search("+1 (415) 555-0100"), "1 415 555 0100");
        assert_eq!(fold_for_search("李小龍"), "李小龍");
        assert_eq!(fold_for_search("--"), "");
    }
}
