//! The decisions the store makes, written once for every backend: backends read what a rule
//! needs inside their transaction, ask the rule, and persist its answer.

use callvault_core::call::Direction;
use callvault_core::number::{RecordingChange, recording_allowed_at};
use time::OffsetDateTime;

use crate::{NewCall, TranscriptStatus};

/// What storing a reported call decides before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPlan {
    /// Frozen on the call: whether it may ever have a recording.
    pub recording_allowed: bool,
    pub from: String,
    pub to: String,
    /// The name a contact created for this call gets.
    pub contact_name: String,
}

/// Plans a reported call against the history of its number's recording setting.
#[must_use]
pub fn plan_call(call: &NewCall, history: &[RecordingChange], now: OffsetDateTime) -> CallPlan {
    // The rule of the product: the setting in effect when the call started decides, and the
    // answer is frozen on the call. A start reported slightly ahead of our clock is judged by
    // the setting known now.
    let recording_allowed = recording_allowed_at(history, call.times.started_at.min(now));
    let (from, to) = match call.direction {
        Direction::Inbound => (call.contact_phone.to_string(), call.number.to_string()),
        Direction::Outbound => (call.number.to_string(), call.contact_phone.to_string()),
    };
    CallPlan {
        recording_allowed,
        from,
        to,
        contact_name: call
            .contact_name
            .clone()
            .unwrap_or_else(|| call.contact_phone.to_string()),
    }
}

/// Whether an event at `at` becomes its conversation's latest message. Reports may arrive out
/// of order, so an older event never moves the conversation back.
#[must_use]
pub fn becomes_latest(last_message_at: Option<OffsetDateTime>, at: OffsetDateTime) -> bool {
    last_message_at.is_none_or(|last| at >= last)
}

/// A transcript's status as users should see it: one queued or running whose job is gone
/// (buried after its worker kept dying, say) is as good as failed, so asking again queues it
/// anew rather than leaving it waiting forever.
#[must_use]
pub fn effective_status(stored: TranscriptStatus, job_alive: bool) -> TranscriptStatus {
    match stored {
        TranscriptStatus::Queued | TranscriptStatus::Running if !job_alive => {
            TranscriptStatus::Failed
        }
        other => other,
    }
}

/// Why a transcript that reads as failed by [`effective_status`] stopped, when its job left no
/// error of its own.
pub const STOPPED_TRANSCRIPT: &str =
    "the transcription stopped before it finished; ask for it again";

/// What asking for a transcript does, given its current status (already effective).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptAsk {
    /// Queued, running or done: nothing to do.
    Keep(TranscriptStatus),
    /// Failed: queue it again.
    Requeue,
    /// None yet: create it, queued.
    Create,
}

#[must_use]
pub fn ask_transcript(current: Option<TranscriptStatus>) -> TranscriptAsk {
    match current {
        Some(TranscriptStatus::Failed) => TranscriptAsk::Requeue,
        Some(status) => TranscriptAsk::Keep(status),
        None => TranscriptAsk::Create,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn an_older_event_never_becomes_the_latest() {
        let t = datetime!(2026-01-01 10:00 UTC);
        assert!(becomes_latest(None, t));
        assert!(becomes_latest(Some(t), t));
        assert!(!becomes_latest(Some(t), t - time::Duration::seconds(1)));
    }

    #[test]
    fn an_unfinished_transcript_without_a_job_reads_as_failed() {
        use TranscriptStatus::*;
        assert_eq!(effective_status(Running, false), Failed);
        assert_eq!(effective_status(Queued, true), Queued);
        assert_eq!(effective_status(Done, false), Done);
        assert_eq!(ask_transcript(Some(Failed)), TranscriptAsk::Requeue);
        assert_eq!(ask_transcript(Some(Done)), TranscriptAsk::Keep(Done));
        assert_eq!(ask_transcript(None), TranscriptAsk::Create);
    }
}
