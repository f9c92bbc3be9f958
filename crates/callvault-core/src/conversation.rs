//! A contact's conversation: the timeline of calls, messages and notes.

use serde::{Deserialize, Serialize};

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
