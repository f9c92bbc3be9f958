//! Phone calls: direction, outcome, and the times that give their duration.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{CallId, ContactId, ConversationId, NumberId, RecordingId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    /// Still ringing or in progress; the final status is not known yet.
    Ringing,
    Answered,
    NoAnswer,
    Busy,
    Failed,
}

impl Direction {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inbound" => Some(Self::Inbound),
            "outbound" => Some(Self::Outbound),
            _ => None,
        }
    }
}

impl CallStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::Answered => "answered",
            Self::NoAnswer => "no-answer",
            Self::Busy => "busy",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ringing" => Some(Self::Ringing),
            "answered" => Some(Self::Answered),
            "no-answer" => Some(Self::NoAnswer),
            "busy" => Some(Self::Busy),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A call as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub id: CallId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub number_id: NumberId,
    pub direction: Direction,
    pub status: CallStatus,
    /// The calling party as the phone system gave it (usually E.164).
    pub from: String,
    pub to: String,
    pub times: CallTimes,
    pub handled_by: Option<UserId>,
    /// Frozen from the number's setting at the moment the call started.
    pub recording_allowed: bool,
    pub recording_id: Option<RecordingId>,
    /// Where the call came from ("pbx", "twilio", "asterisk") and its id there.
    pub source: String,
    pub external_id: Option<String>,
    /// Why a call that may be recorded has no recording (the provider reported none, the
    /// download failed), for people to read.
    pub recording_note: Option<String>,
    /// When the retention policy deleted the call's recording (the call itself stays).
    pub recording_expired_at: Option<OffsetDateTime>,
}

/// When a call started, was answered and ended, checked for consistency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimes {
    pub started_at: OffsetDateTime,
    pub answered_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallTimesError {
    #[error("answered_at is before started_at")]
    AnsweredBeforeStart,
    #[error("ended_at is before the call started or was answered")]
    EndedBeforeStart,
    #[error("started_at is in the future")]
    StartsInFuture,
    #[error("a call with status {0} cannot have answered_at")]
    AnsweredButNotAnswered(&'static str),
}

/// How far ahead of our clock a phone system's clock may run before its times are refused.
pub const ALLOWED_CLOCK_SKEW: Duration = Duration::minutes(5);

impl CallTimes {
    /// Checks the times of a reported call against its status and the current time.
    pub fn new(
        status: CallStatus,
        started_at: OffsetDateTime,
        answered_at: Option<OffsetDateTime>,
        ended_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Self, CallTimesError> {
        // Kept at the precision every store keeps, so a call reads back the same anywhere.
        let started_at = crate::clock::truncate_to_millis(started_at);
        let answered_at = answered_at.map(crate::clock::truncate_to_millis);
        let ended_at = ended_at.map(crate::clock::truncate_to_millis);
        if started_at > now + ALLOWED_CLOCK_SKEW {
            return Err(CallTimesError::StartsInFuture);
        }
        if answered_at.is_some_and(|a| a < started_at) {
            return Err(CallTimesError::AnsweredBeforeStart);
        }
        if ended_at.is_some_and(|e| e < answered_at.unwrap_or(started_at)) {
            return Err(CallTimesError::EndedBeforeStart);
        }
        if answered_at.is_some() && !matches!(status, CallStatus::Answered | CallStatus::Ringing) {
            return Err(CallTimesError::AnsweredButNotAnswered(status.as_str()));
        }
        // A phone system that says "answered" without a time answered at the start.
        let answered_at = match (status, answered_at) {
            (CallStatus::Answered, None) => Some(started_at),
            (_, answered) => answered,
        };
        Ok(Self {
            started_at,
            answered_at,
            ended_at,
        })
    }

    /// Talk time: from answer to hang-up, in whole seconds (rounded to nearest). Zero for a call
    /// nobody answered or that has not ended.
    #[must_use]
    pub fn talk_seconds(&self) -> u64 {
        match (self.answered_at, self.ended_at) {
            (Some(answered), Some(ended)) if ended > answered => {
                let millis = (ended - answered).whole_milliseconds();
                u64::try_from((millis + 500) / 1000).unwrap_or(0)
            }
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    #[test]
    fn talk_time_runs_from_answer_to_hang_up() {
        let t = CallTimes::new(
            CallStatus::Answered,
            datetime!(2026-03-01 11:00:00 UTC),
            Some(datetime!(2026-03-01 11:00:12 UTC)),
            Some(datetime!(2026-03-01 11:03:42.600 UTC)),
            NOW,
        );
        assert_eq!(t.map(|t| t.talk_seconds()), Ok(211));
    }

    #[test]
    fn unanswered_calls_have_no_talk_time() {
        let t = CallTimes::new(
            CallStatus::NoAnswer,
            datetime!(2026-03-01 11:00 UTC),
            None,
            Some(datetime!(2026-03-01 11:00:30 UTC)),
            NOW,
        );
        assert_eq!(t.map(|t| t.talk_seconds()), Ok(0));
    }

    #[test]
    fn answered_without_a_time_counts_from_the_start() {
        let t = CallTimes::new(
            CallStatus::Answered,
            datetime!(2026-03-01 11:00 UTC),
            None,
            Some(datetime!(2026-03-01 11:01 UTC)),
            NOW,
        );
        assert_eq!(t.map(|t| t.talk_seconds()), Ok(60));
    }

    #[test]
    fn inconsistent_times_are_refused() {
        let start = datetime!(2026-03-01 11:00 UTC);
        let before = datetime!(2026-03-01 10:59 UTC);
        assert_eq!(
            CallTimes::new(CallStatus::Answered, start, Some(before), None, NOW),
            Err(CallTimesError::AnsweredBeforeStart)
        );
        assert_eq!(
            CallTimes::new(CallStatus::Busy, start, None, Some(before), NOW),
            Err(CallTimesError::EndedBeforeStart)
        );
        assert_eq!(
            CallTimes::new(CallStatus::Busy, start, Some(start), None, NOW),
            Err(CallTimesError::AnsweredButNotAnswered("busy"))
        );
        assert_eq!(
            CallTimes::new(
                CallStatus::Answered,
                NOW + Duration::hours(1),
                None,
                None,
                NOW
            ),
            Err(CallTimesError::StartsInFuture)
        );
    }

    #[test]
    fn statuses_use_the_contract_spelling() {
        for status in [
            CallStatus::Ringing,
            CallStatus::Answered,
            CallStatus::NoAnswer,
            CallStatus::Busy,
            CallStatus::Failed,
        ] {
            assert_eq!(CallStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(CallStatus::NoAnswer.as_str(), "no-answer");
    }
}
