//! Recordings: the stored MP3 and what is known about it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{CallId, RecordingId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub id: RecordingId,
    pub call_id: CallId,
    /// Where the audio object lives in the blob store.
    pub blob_key: String,
    pub duration_ms: u64,
    pub channels: u16,
    pub sample_rate: u32,
    pub bytes: u64,
    /// Hex SHA-256 of the stored MP3.
    pub sha256: String,
    pub peaks: Peaks,
    pub created_at: OffsetDateTime,
    /// The spans redaction covered with a tone, in order.
    pub redactions: Vec<crate::redaction::RedactedSpan>,
    /// Its number redacts, and the recording has not been checked yet: nobody may hear it.
    pub redaction_pending: bool,
}

/// A waveform overview for the seek bar: for each channel, the lowest and highest sample in
/// each bucket, scaled to -127..=127.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Peaks {
    /// Length of one bucket in milliseconds of audio.
    pub bucket_ms: u32,
    pub channels: Vec<ChannelPeaks>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelPeaks {
    pub min: Vec<i8>,
    pub max: Vec<i8>,
}

impl Recording {
    /// The object key for a recording's MP3.
    #[must_use]
    pub fn blob_key_for(id: RecordingId) -> String {
        format!("{id}.mp3")
    }
}
