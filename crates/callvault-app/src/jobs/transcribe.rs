//! Transcribes a recording: its MP3 is copied out of the audio store, read by the speech model
//! one channel per party, and the segments stored with the parties' names. Progress is written
//! as it goes, so people see it move.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use callvault_core::RecordingId;
use callvault_redact::MARK;
use callvault_store::{Job, TranscriptSegment};
use tokio::sync::watch;

use super::JobError;
use crate::App;

/// Progress is written at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

pub async fn run(state: &App, job: &Job, recording: RecordingId) -> Result<(), JobError> {
    let outcome = transcribe(state, recording).await;
    if let Err(e) = &outcome {
        let now = state.now();
        let noted = if e.permanent || job.last_attempt() {
            state
                .store
                .transcript_failed(recording, &e.to_string(), now)
                .await
        } else {
            state
                .store
                .transcript_retrying(recording, &e.to_string(), now)
                .await
        };
        if let Err(store) = noted {
            tracing::warn!(%recording, error = %store, "could not record the transcript's failure");
        }
    }
    outcome
}

async fn transcribe(state: &App, id: RecordingId) -> Result<(), JobError> {
    // Deleted since it was asked for: nothing to do.
    let Some(record) = state.store.recording(id).await.map_err(JobError::new)? else {
        return Ok(());
    };
    let engine = state
        .speech
        .engine(&state.settings.asr)
        .await
        .map_err(JobError::permanent)?;
    let call = match state.store.call(record.recording.call_id).await {
        Ok(Some(call)) => call,
        Ok(None) => return Ok(()),
        Err(e) => return Err(JobError::new(e)),
    };
    let handler = call.handled_by.map(|u| u.name);
    // Held back at upload for redaction, or the number redacts now (a transcript asked for
    // again after the setting was turned on).
    let redact = record.recording.redaction_pending
        || state
            .store
            .number(call.call.number_id)
            .await
            .map_err(JobError::new)?
            .is_some_and(|n| n.redact_sensitive);
    if redact && !engine.can_time_words() {
        return Err(JobError::permanent(
            "the speech model cannot time words, which redaction needs: install the default \
             model with `callvault model fetch`",
        ));
    }

    let mp3 = state
        .settings
        .spool_file(".mp3")
        .await
        .map_err(JobError::new)?;
    state
        .blobs
        .get_to_file(&record.recording.blob_key, mp3.path())
        .await
        .map_err(|e| JobError::new(format!("reading the recording's audio: {e}")))?;

    state
        .store
        .transcript_running(id, 0.0, state.now())
        .await
        .map_err(JobError::new)?;
    let total = (record.recording.duration_ms as f64 / 1000.0).max(0.001);
    let (progress, mut heard) = watch::channel(0.0_f64);
    // Dropped with this future (a lost lease, a shutdown): the model stops at its next block.
    let keep_going = Arc::new(AtomicBool::new(true));
    let _stop = StopOnDrop(keep_going.clone());
    let path = mp3.path().to_owned();
    let mut work = tokio::task::spawn_blocking(move || {
        callvault_asr::transcribe(
            &engine,
            &path,
            callvault_asr::Options { words: redact },
            &mut |seconds| {
                progress.send_replace(seconds);
                keep_going.load(Ordering::Relaxed)
            },
        )
    });
    let mut written = Instant::now();
    let transcript = loop {
        tokio::select! {
            done = &mut work => break done.map_err(JobError::new)?,
            Ok(()) = heard.changed() => {
                if written.elapsed() >= PROGRESS_EVERY {
                    written = Instant::now();
                    let fraction = (*heard.borrow_and_update() / total).min(0.99);
                    let _ = state.store.transcript_running(id, fraction, state.now()).await;
                }
            }
        }
    };
    // A recording the model cannot read will not read better next time.
    let transcript = transcript.map_err(|e| match e {
        callvault_asr::AsrError::Audio(_) | callvault_asr::AsrError::Model(_) => {
            JobError::permanent(e)
        }
        other => JobError::new(other),
    })?;
    // A contact nobody named carries its phone number as its name: "Caller" reads better.
    let contact = Some(record.contact_name.as_str()).filter(|n| n.chars().any(char::is_alphabetic));
    let redaction = redact.then(|| super::redact::find(&transcript));
    let segments: Vec<TranscriptSegment> = transcript
        .segments
        .iter()
        .enumerate()
        .map(|(i, s)| TranscriptSegment {
            start: s.start,
            end: s.end,
            channel: u16::try_from(s.channel).ok(),
            speaker: callvault_asr::speaker(
                s.channel,
                transcript.channels,
                contact,
                handler.as_deref(),
            ),
            text: match &redaction {
                // One text per segment, by construction: never fall back to the unredacted one.
                Some(r) => r.texts.get(i).cloned().unwrap_or_else(|| MARK.to_owned()),
                None => s.text.clone(),
            },
        })
        .collect();
    match redaction {
        Some(r) if !r.spans.is_empty() => {
            super::redact::store(
                state,
                &record,
                mp3.path(),
                &transcript.language,
                &segments,
                r.spans,
            )
            .await?;
        }
        _ => match state
            .store
            .transcript_done(id, &transcript.language, &segments, state.now())
            .await
        {
            // The conversation was deleted meanwhile.
            Err(callvault_store::StoreError::NotFound) => Ok(()),
            other => other.map_err(JobError::new),
        }?,
    }
    tracing::info!(recording = %id, segments = segments.len(), seconds = transcript.duration, "transcribed");
    crate::webhooks::emit(
        state,
        callvault_core::webhook::WebhookEvent::TranscriptReady,
        serde_json::json!({
            "recording_id": id,
            "call_id": record.recording.call_id,
            "conversation_id": record.conversation_id,
            "contact_id": record.access.contact_id,
            "language": transcript.language,
            "segments": segments.len(),
            "links": crate::webhooks::links(state, record.conversation_id, Some(id)),
        }),
    )
    .await;
    Ok(())
}

struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}
