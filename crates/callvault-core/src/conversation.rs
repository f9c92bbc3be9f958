//! A contact's conversation: the timeline of calls, messages and notes.

use serde::{Deserialize, Serialize};

/// Longest note kept.
pub const MAX_NOTE_CHARS: usize = 5000;

/// A note as kept: trimmed, not blank, at most [`MAX_NOTE_CHARS`] as sent, any text but NUL
/// (which no one types, and PostgreSQL cannot store). [`crate::patterns::NOTE`] says the same.
#[must_use]
pub fn clean_note(raw: &str) -> Option<String> {
    let body = raw.trim();
    let ok = !body.is_empty() && raw.chars().count() <= MAX_NOTE_CHARS && !body.contains('\0');
    ok.then(|| body.to_owned())
}

/// What kind of entry a timeline event is; the inbox filters by the latest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Call,
    Sms,
    Note,
}

impl Channel {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Sms => "sms",
            Self::Note => "note",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "call" => Some(Self::Call),
            "sms" => Some(Self::Sms),
            "note" => Some(Self::Note),
            _ => None,
        }
    }
}
