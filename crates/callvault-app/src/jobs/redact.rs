//! Redaction, run as part of transcribing a recording of a number that redacts: card numbers,
//! their expiry and code, SSNs and bank numbers found in the transcript are replaced by
//! `[redacted]` in the text, and the same spans of the audio by a tone in a new MP3 that takes
//! the old one's place. The text, the audio swap and the old audio's removal are one
//! transaction, so the unredacted transcript is never stored and the unredacted audio does not
//! outlive it; if anything fails before that, the job tries again from the start.

use std::path::Path;

use callvault_asr::Transcript;
use callvault_core::RecordingId;
use callvault_core::recording::Recording;
use callvault_core::redaction::{RedactedSpan, RedactionKind};
use callvault_redact::{PAD_SECONDS, SegmentIn, TimedWord, redact_transcript};
use callvault_store::{
    AuditAction, JobSpec, RecordingRecord, RedactedAudio, StoreError, TranscriptSegment,
};

use super::JobError;
use crate::App;

/// What redaction left to store: the segments' texts, and the spans it covered.
pub struct Redaction {
    pub texts: Vec<String>,
    pub spans: Vec<RedactedSpan>,
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "non-negative seconds of a call"
)]
fn millis(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0).round() as u64
}

/// What to hide in a transcript (pure: nothing is stored).
#[must_use]
pub fn find(transcript: &Transcript) -> Redaction {
    let segments: Vec<SegmentIn> = transcript
        .segments
        .iter()
        .map(|s| SegmentIn {
            channel: s.channel,
            start: s.start,
            end: s.end,
            text: s.text.clone(),
            words: s
                .words
                .iter()
                .map(|w| TimedWord {
                    text: w.text.clone(),
                    start: w.start,
                    end: w.end.min(transcript.duration),
                })
                .collect(),
        })
        .collect();
    let redacted = redact_transcript(&segments);
    let mut spans: Vec<RedactedSpan> = redacted
        .spans
        .iter()
        .map(|s| RedactedSpan {
            start_ms: millis(s.start),
            end_ms: millis(s.end.min(transcript.duration)),
            kind: s.kind,
        })
        .collect();
    // What the model looped on is not in the transcript; if it looped on digits, they may be
    // a card read out: the audio is covered all the same.
    for looped in &transcript.dropped {
        let words: Vec<&str> = looped.text.split_whitespace().collect();
        if callvault_redact::digit_runs(&words).is_empty() {
            continue;
        }
        spans.push(RedactedSpan {
            start_ms: millis(looped.start - PAD_SECONDS),
            end_ms: millis((looped.end + PAD_SECONDS).min(transcript.duration)),
            kind: RedactionKind::UnclearDigits,
        });
    }
    spans.sort_by_key(|s| s.start_ms);
    Redaction {
        texts: redacted.texts,
        spans,
    }
}

/// Why the swap did not happen.
enum NotStored {
    /// The recording was deleted meanwhile.
    Gone,
    /// The recording no longer points at the audio that was read.
    Superseded,
    Failed(JobError),
}
use NotStored::{Failed, Gone, Superseded};

/// A swap refused because the recording moved on: done if it was checked meanwhile (another
/// run redacted it), else tried again from the start with what it holds now.
async fn superseded(state: &App, id: RecordingId) -> Result<(), JobError> {
    match state.store.recording(id).await.map_err(JobError::new)? {
        Some(now) if now.recording.redaction_pending => Err(JobError::new(
            "the recording changed while it was redacted; reading it again",
        )),
        _ => Ok(()),
    }
}

/// Covers the spans in `mp3` with a tone, stores the new audio and the redacted transcript in
/// place of the old, and audits it.
pub async fn store(
    state: &App,
    record: &RecordingRecord,
    mp3: &Path,
    language: &str,
    segments: &[TranscriptSegment],
    spans: Vec<RedactedSpan>,
) -> Result<(), JobError> {
    let id: RecordingId = record.recording.id;
    let covered = state
        .settings
        .spool_file(".mp3")
        .await
        .map_err(JobError::new)?;
    let tones: Vec<callvault_audio::ToneSpan> = spans
        .iter()
        .map(|s| callvault_audio::ToneSpan {
            #[allow(clippy::cast_precision_loss, reason = "milliseconds of a call")]
            start: s.start_ms as f64 / 1000.0,
            #[allow(clippy::cast_precision_loss, reason = "milliseconds of a call")]
            end: s.end_ms as f64 / 1000.0,
        })
        .collect();
    let (input, output) = (mp3.to_owned(), covered.path().to_owned());
    let transcoded = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&input)?;
        callvault_audio::transcode_covering(Box::new(file), Some("mp3"), &output, &tones)
    })
    .await
    .map_err(JobError::new)?
    .map_err(|e| JobError::new(format!("covering the redacted spans: {e}")))?;

    let now = state.now();
    let key = format!(
        "{}.redacted-{}.mp3",
        Recording::blob_key_for(id).trim_end_matches(".mp3"),
        now.unix_timestamp_nanos()
    );
    // If anything below dies halfway, this job removes the object nobody owns.
    let guard = state
        .store
        .enqueue(
            JobSpec::CollectBlob { key: key.clone() }.at(now + state.settings.orphan_audio_grace),
            now,
        )
        .await
        .map_err(JobError::new)?;
    let count = spans.len();
    let kinds: Vec<&str> = {
        let mut k: Vec<&str> = spans.iter().map(|s| s.kind.as_str()).collect();
        k.sort_unstable();
        k.dedup();
        k
    };
    let stored = async {
        if let Err(e) = state.blobs.put_file(&key, covered.path()).await {
            return Err(Failed(JobError::new(e)));
        }
        state
            .store
            .transcript_redacted(
                id,
                language,
                segments,
                RedactedAudio {
                    replaces: record.recording.blob_key.clone(),
                    blob_key: key.clone(),
                    bytes: transcoded.bytes,
                    sha256: transcoded.sha256.clone(),
                    peaks: transcoded.peaks.clone(),
                    spans,
                    guard,
                },
                state.now(),
            )
            .await
            .map_err(|e| match e {
                // Deleted meanwhile: nothing is left to redact.
                StoreError::NotFound => Gone,
                // Another run swapped it first (or its guard ran out): nothing to do here.
                StoreError::Conflict(callvault_store::Conflict::UploadExpired) => Superseded,
                other => Failed(JobError::new(other)),
            })
    }
    .await;
    if let Err(outcome) = stored {
        // Undo now rather than after the grace, unless the swap did commit (an answer lost on
        // the way back); the guard stays queued in case this fails too.
        if !state.store.blob_in_use(&key).await.unwrap_or(true)
            && state.blobs.delete(&key).await.is_ok()
        {
            let _ = state.store.cancel(guard).await;
        }
        return match outcome {
            Gone => Ok(()),
            Superseded => superseded(state, id).await,
            Failed(e) => Err(e),
        };
    }
    // The old audio's removal is queued: let a worker take it now.
    state.jobs.wake();
    crate::audit::record_about(
        state,
        None,
        AuditAction::Redacted,
        "recording",
        Some(id.to_string()),
        record.access.contact_id,
        serde_json::json!({ "spans": count, "kinds": kinds }),
    )
    .await;
    tracing::info!(recording = %id, spans = count, "redacted");
    Ok(())
}

#[cfg(test)]
mod tests {
    use callvault_asr::{Segment, Transcript};
    use callvault_core::redaction::RedactionKind;

    fn segment(start: f64, end: f64, channel: usize, text: &str) -> Segment {
        Segment {
            start,
            end,
            channel,
            text: text.into(),
            words: Vec::new(),
        }
    }

    #[test]
    fn digits_the_model_looped_on_are_covered_though_no_text_says_them() {
        let transcript = Transcript {
            language: "en".into(),
            duration: 30.0,
            channels: 2,
            segments: vec![
                segment(1.0, 3.0, 1, "What is the card number?"),
                segment(20.0, 24.0, 0, "Thanks, that is all."),
            ],
            dropped: vec![
                segment(
                    5.0,
                    12.0,
                    0,
                    "It is 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6",
                ),
                segment(25.0, 27.0, 0, "Thank you. Thank you. Thank you. Thank you."),
            ],
        };
        let found = super::find(&transcript);
        assert_eq!(
            found.texts,
            ["What is the card number?", "Thanks, that is all."]
        );
        assert_eq!(found.spans.len(), 1, "{:?}", found.spans);
        let span = found.spans[0];
        assert_eq!(span.kind, RedactionKind::UnclearDigits);
        assert!(span.start_ms <= 5000 && span.end_ms >= 12_000, "{span:?}");
    }
}
