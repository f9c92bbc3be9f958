//! The business's own phone numbers and their recording policy.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::phone::E164;
use crate::{NumberId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Calls arrive through Twilio's webhooks.
    Twilio,
    /// Calls are reported by a phone system (PBX) through the API or an import.
    Pbx,
}

impl Provider {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Pbx => "pbx",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "twilio" => Some(Self::Twilio),
            "pbx" => Some(Self::Pbx),
            _ => None,
        }
    }
}

/// A team member's phone that calls to a number ring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ForwardTarget {
    pub phone: E164,
    /// The team member who answers at this phone; calls they pick up are handled by them.
    pub user_id: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PhoneNumber {
    pub id: NumberId,
    pub e164: E164,
    pub label: String,
    pub provider: Provider,
    /// Whether calls that start from now on are recorded. Changing it never affects calls
    /// that already started.
    pub call_recording: bool,
    /// Spoken to the caller before the call connects, when recording is on.
    pub consent_announcement: Option<String>,
    pub forward_to: Vec<ForwardTarget>,
    /// Recordings of this number's calls are transcribed as soon as they are stored.
    pub transcribe_automatically: bool,
    /// How long its recordings and conversations are kept; `None` follows the installation's
    /// default.
    pub retention: Option<crate::retention::RetentionPolicy>,
    /// Card numbers, their expiry and code, SSNs and bank numbers are hidden from its
    /// recordings' transcripts and covered by a tone in their audio.
    pub redact_sensitive: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Longest consent announcement kept; it is read aloud before every call.
pub const MAX_ANNOUNCEMENT_CHARS: usize = 1000;

/// An announcement that is not plain text of at most [`MAX_ANNOUNCEMENT_CHARS`] characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the announcement must be plain text of at most {MAX_ANNOUNCEMENT_CHARS} characters")]
pub struct BadAnnouncement;

/// An announcement as kept: trimmed, lines allowed but no other control characters, at most
/// [`MAX_ANNOUNCEMENT_CHARS`] as sent; blank means none. [`crate::patterns::ANNOUNCEMENT`]
/// says the same.
pub fn clean_announcement(raw: &str) -> Result<Option<String>, BadAnnouncement> {
    let text = raw.trim();
    if raw.chars().count() > MAX_ANNOUNCEMENT_CHARS
        || text.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(BadAnnouncement);
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// When each recording setting of a number took effect, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingChange {
    pub call_recording: bool,
    pub effective_at: OffsetDateTime,
}

/// Whether a call that started at `started_at` may be recorded, given the history of the
/// number's setting (oldest first): the setting in effect at that moment. A call that started
/// before the number was configured here had no setting in effect, so it is not recorded:
/// recording is never granted after the fact.
#[must_use]
pub fn recording_allowed_at(history: &[RecordingChange], started_at: OffsetDateTime) -> bool {
    history
        .iter()
        .take_while(|change| change.effective_at <= started_at)
        .last()
        .is_some_and(|change| change.call_recording)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn change(on: bool, at: OffsetDateTime) -> RecordingChange {
        RecordingChange {
            call_recording: on,
            effective_at: at,
        }
    }

    #[test]
    fn the_setting_at_the_start_of_the_call_decides() {
        let history = [
            change(false, datetime!(2026-01-01 09:00 UTC)),
            change(true, datetime!(2026-01-01 10:00 UTC)),
            change(false, datetime!(2026-01-01 11:00 UTC)),
        ];
        assert!(!recording_allowed_at(
            &history,
            datetime!(2026-01-01 09:59:59 UTC)
        ));
        assert!(recording_allowed_at(
            &history,
            datetime!(2026-01-01 10:00 UTC)
        ));
        assert!(recording_allowed_at(
            &history,
            datetime!(2026-01-01 10:30 UTC)
        ));
        assert!(!recording_allowed_at(
            &history,
            datetime!(2026-01-01 11:30 UTC)
        ));
    }

    #[test]
    fn calls_from_before_the_number_was_configured_are_not_recorded() {
        let history = [change(true, datetime!(2026-01-01 09:00 UTC))];
        assert!(!recording_allowed_at(
            &history,
            datetime!(2025-06-01 09:00 UTC)
        ));
        assert!(!recording_allowed_at(&[], datetime!(2025-06-01 09:00 UTC)));
    }
}
