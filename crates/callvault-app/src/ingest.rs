//! A call's recording, from wherever it came (an upload, an import, a provider's media file),
//! through the audio pipeline into the audio store and the database. Whatever fails along the
//! way leaves nothing behind: no row, no object, no temporary file.

use std::path::Path;

use callvault_audio::Transcoded;
use callvault_core::recording::Recording;
use callvault_core::{CallId, JobId, RecordingId};
use callvault_store::{CallRecord, Conflict, JobSpec, NewRecording};

use crate::{App, AppError, AppResult};

/// The installation's phone numbers, for telling which party of a call is the business.
pub async fn configured_numbers(state: &App) -> AppResult<Vec<callvault_core::phone::E164>> {
    Ok(state
        .store
        .numbers()
        .await?
        .into_iter()
        .map(|n| n.e164)
        .collect())
}

/// A recording stored for a call.
pub struct StoredRecording {
    pub recording: Recording,
    pub transcoded: Transcoded,
    /// Jobs queued to remove what the new recording replaced: the caller runs them now
    /// (`JobRunner::run_now`) or leaves them to the workers.
    pub cleanup: Vec<JobId>,
}

/// The call, if a recording may be stored for it: it exists, recording was on when it
/// started, and it has no recording yet (or `replace` says to replace it). Checked before any
/// audio is read; the store checks the same again when the row is written.
pub async fn recordable_call(state: &App, call_id: CallId, replace: bool) -> AppResult<CallRecord> {
    let call = state
        .store
        .call(call_id)
        .await?
        .ok_or(AppError::NotFound("call"))?;
    if !call.call.recording_allowed {
        return Err(Conflict::RecordingDisabled.into());
    }
    if call.recording.is_some() && !replace {
        return Err(Conflict::RecordingExists.into());
    }
    Ok(call)
}

/// Transcodes `source` to the stored MP3 and records it as the call's recording.
/// `source_ref` is the provider's id for the recording, if it has one.
pub async fn store_recording(
    state: &App,
    call_id: CallId,
    source: &Path,
    replace: bool,
    source_ref: Option<String>,
) -> AppResult<StoredRecording> {
    let mp3 = state
        .settings
        .spool_file(".mp3")
        .await
        .map_err(AppError::internal)?;
    let (input, output) = (source.to_owned(), mp3.path().to_owned());
    let _slot = state
        .transcode_slots
        .acquire()
        .await
        .map_err(AppError::internal)?;
    let transcoded =
        tokio::task::spawn_blocking(move || callvault_audio::transcode_file(&input, &output))
            .await
            .map_err(AppError::internal)??;

    let id = RecordingId::new();
    let key = Recording::blob_key_for(id);
    let now = state.now();
    // If anything below dies halfway, this job removes the object nobody owns.
    let guard = state
        .store
        .enqueue(
            JobSpec::CollectBlob { key: key.clone() }.at(now + state.settings.orphan_audio_grace),
            now,
        )
        .await?;
    let stored = async {
        state.blobs.put_file(&key, mp3.path()).await?;
        let new = NewRecording {
            id,
            call_id,
            blob_key: key.clone(),
            duration_ms: transcoded.duration_ms(),
            channels: transcoded.profile.channels,
            sample_rate: transcoded.profile.sample_rate,
            bytes: transcoded.bytes,
            sha256: transcoded.sha256.clone(),
            peaks: transcoded.peaks.clone(),
            source_ref: source_ref.clone(),
        };
        Ok::<_, AppError>(
            state
                .store
                .add_recording(new, replace, Some(guard), state.now())
                .await?,
        )
    }
    .await;
    match stored {
        Ok((recording, replaced)) => {
            // Its transcript may have been queued with it.
            state.jobs.wake();
            announce(state, &recording, &replaced.recordings).await;
            Ok(StoredRecording {
                recording,
                transcoded,
                cleanup: replaced.cleanup_jobs,
            })
        }
        Err(e) => {
            // Undo now rather than in an hour; the guard stays queued in case this fails too.
            if state.blobs.delete(&key).await.is_ok() {
                let _ = state.store.cancel(guard).await;
            }
            Err(e)
        }
    }
}

/// Tells webhooks a recording is ready (and that the one it replaced is gone).
async fn announce(
    state: &App,
    recording: &callvault_core::recording::Recording,
    replaced: &[callvault_core::RecordingId],
) {
    let Ok(Some(call)) = state.store.call(recording.call_id).await else {
        return;
    };
    let (conversation, contact) = (call.call.conversation_id, call.call.contact_id);
    crate::webhooks::emit(
        state,
        callvault_core::webhook::WebhookEvent::RecordingReady,
        serde_json::json!({
            "recording_id": recording.id,
            "call_id": recording.call_id,
            "conversation_id": conversation,
            "contact_id": contact,
            "duration_s": recording.duration_ms as f64 / 1000.0,
            // Its audio answers 409 until redaction has checked it.
            "redaction_pending": recording.redaction_pending,
            "links": crate::webhooks::links(state, conversation, Some(recording.id)),
        }),
    )
    .await;
    crate::webhooks::recordings_deleted(state, replaced, conversation, contact, "replaced").await;
}
