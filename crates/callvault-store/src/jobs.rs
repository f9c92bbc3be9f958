//! The work the queue holds, typed: each kind of job with its payload and its retry policy.
//! Backends store a job as its kind's name and its payload as JSON, and read it back through
//! [`JobSpec::decode`]; nothing outside this module spells a kind or a payload field.

use callvault_core::{CallId, JobId, RecordingId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{StoreError, StoreResult};

/// One piece of background work, with what it needs to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum JobSpec {
    /// Removes an audio object once no recording refers to it: enqueued in the transaction that
    /// drops the last reference, or before an object is written.
    CollectBlob { key: String },
    /// Downloads a finished recording Twilio announced and stores it.
    FetchTwilioRecording {
        call_id: CallId,
        recording_sid: String,
        url: String,
    },
    /// Transcribes a recording.
    Transcribe { recording_id: RecordingId },
    /// Deletes what the retention policy says is past its time; queued once a day (`day`, as
    /// `YYYY-MM-DD`, keeps it to one run per day however many processes queue it).
    ApplyRetention { day: String },
    /// Sends one webhook delivery.
    DeliverWebhook {
        delivery_id: callvault_core::DeliveryId,
    },
}

/// The kinds of job, as workers choose what to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    CollectBlob,
    FetchTwilioRecording,
    Transcribe,
    ApplyRetention,
    DeliverWebhook,
}

impl JobKind {
    pub const ALL: [Self; 5] = [
        Self::CollectBlob,
        Self::FetchTwilioRecording,
        Self::Transcribe,
        Self::ApplyRetention,
        Self::DeliverWebhook,
    ];

    /// The name stored in the `kind` column.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CollectBlob => "collect_blob",
            Self::FetchTwilioRecording => "fetch_twilio_recording",
            Self::Transcribe => "transcribe",
            Self::ApplyRetention => "apply_retention",
            Self::DeliverWebhook => "deliver_webhook",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Attempts before a failing job is kept as dead.
    #[must_use]
    pub fn max_attempts(self) -> u32 {
        match self {
            // Deleting an object should outlast a long outage of the audio store.
            Self::CollectBlob => 20,
            // Twilio answers 404 for a while after announcing a recording.
            Self::FetchTwilioRecording => 10,
            Self::Transcribe => 5,
            // Tomorrow's run starts over anyway.
            Self::ApplyRetention => 5,
            // With the doubling backoff, about a day of trying.
            Self::DeliverWebhook => 17,
        }
    }

    /// Wait before the attempt after `attempts` failed ones: 2^n seconds, at most an hour.
    #[must_use]
    pub fn backoff(self, attempts: u32) -> Duration {
        Duration::seconds(1_i64 << attempts.min(12)).min(Duration::hours(1))
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl JobSpec {
    #[must_use]
    pub fn kind(&self) -> JobKind {
        match self {
            Self::CollectBlob { .. } => JobKind::CollectBlob,
            Self::FetchTwilioRecording { .. } => JobKind::FetchTwilioRecording,
            Self::Transcribe { .. } => JobKind::Transcribe,
            Self::ApplyRetention { .. } => JobKind::ApplyRetention,
            Self::DeliverWebhook { .. } => JobKind::DeliverWebhook,
        }
    }

    /// While a job with this key is queued or running, another is refused
    /// ([`crate::Conflict::DuplicateJob`]).
    #[must_use]
    pub fn dedupe_key(&self) -> Option<String> {
        match self {
            Self::FetchTwilioRecording { recording_sid, .. } => {
                Some(format!("twilio-recording:{recording_sid}"))
            }
            // A transcript's own status keeps it to one live job; a key would also refuse a new
            // request in the moment between a job's last failure and its burial.
            Self::ApplyRetention { day } => Some(format!("retention:{day}")),
            Self::CollectBlob { .. } | Self::Transcribe { .. } | Self::DeliverWebhook { .. } => {
                None
            }
        }
    }

    /// The payload as stored beside the kind.
    #[must_use]
    pub fn payload(&self) -> serde_json::Value {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.remove("payload").unwrap_or(serde_json::Value::Null)
            }
            _ => serde_json::Value::Null,
        }
    }

    /// Reads a job stored as its kind's name and payload.
    pub fn decode(kind: &str, payload: &str) -> StoreResult<Self> {
        let payload: serde_json::Value = serde_json::from_str(payload)
            .map_err(|e| StoreError::corrupt(format!("job payload is not JSON: {e}")))?;
        serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload }))
            .map_err(|e| StoreError::corrupt(format!("unreadable {kind:?} job: {e}")))
    }

    /// This job, due at `run_at`.
    #[must_use]
    pub fn at(self, run_at: OffsetDateTime) -> NewJob {
        NewJob { spec: self, run_at }
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub spec: JobSpec,
    pub run_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Dead,
}

impl JobState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Dead => "dead",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub spec: JobSpec,
    pub state: JobState,
    /// Including the one now running.
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: OffsetDateTime,
    pub last_error: Option<String>,
}

impl Job {
    #[must_use]
    pub fn kind(&self) -> JobKind {
        self.spec.kind()
    }

    /// Whether this attempt is the job's last: a failure now buries it.
    #[must_use]
    pub fn last_attempt(&self) -> bool {
        self.attempts >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_through_kind_and_payload() {
        let specs = [
            JobSpec::CollectBlob {
                key: "a/b.mp3".into(),
            },
            JobSpec::FetchTwilioRecording {
                call_id: CallId::new(),
                recording_sid: "RE1".into(),
                url: "https://api.twilio.com/x".into(),
            },
            JobSpec::Transcribe {
                recording_id: RecordingId::new(),
            },
            JobSpec::ApplyRetention {
                day: "2026-12-01".into(),
            },
        ];
        for spec in specs {
            let stored = spec.payload().to_string();
            let back = JobSpec::decode(spec.kind().as_str(), &stored).expect("decodes");
            assert_eq!(back, spec);
            assert_eq!(JobKind::parse(spec.kind().as_str()), Some(spec.kind()));
        }
    }

    #[test]
    fn payloads_keep_the_shape_older_rows_have() {
        let spec = JobSpec::CollectBlob {
            key: "k.mp3".into(),
        };
        assert_eq!(spec.payload(), serde_json::json!({"key": "k.mp3"}));
    }

    #[test]
    fn unknown_kinds_and_bad_payloads_are_errors() {
        assert!(JobSpec::decode("launch_rockets", "{}").is_err());
        assert!(JobSpec::decode("transcribe", "{}").is_err());
        assert!(JobSpec::decode("transcribe", "not json").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let k = JobKind::Transcribe;
        assert_eq!(k.backoff(1), Duration::seconds(2));
        assert_eq!(k.backoff(3), Duration::seconds(8));
        assert_eq!(k.backoff(30), Duration::hours(1));
    }
}
