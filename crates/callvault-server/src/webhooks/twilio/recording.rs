//! Twilio announces a call's recording. A finished one is fetched by a queued job (so Twilio
//! gets its answer at once), once per RecordingSid, and only from under the configured API
//! base; one that was absent or failed leaves the call with a note saying so.

use axum::extract::State;
use callvault_app::jobs::fetch_twilio_recording::{self, under_base};
use callvault_store::{CallUpdate, Conflict, StoreError};
use callvault_telephony::twilio::callbacks::{Params, RecordingCallback, RecordingStatus};

use super::voice::SOURCE;
use super::{Signed, Twiml, malformed, nothing};
use crate::error::ApiResult;
use crate::state::AppState;

async fn note(state: &AppState, call: callvault_core::CallId, text: String) -> ApiResult<()> {
    state
        .store
        .update_call(
            call,
            CallUpdate {
                recording_note: Some(text),
                ..CallUpdate::default()
            },
        )
        .await?;
    Ok(())
}

pub async fn recording(State(state): State<AppState>, signed: Signed) -> ApiResult<Twiml> {
    let cb = RecordingCallback::parse(&Params(&signed.params)).map_err(|e| malformed(&e))?;
    let Some(record) = state
        .store
        .call_by_external_id(SOURCE, &cb.call_sid)
        .await?
    else {
        tracing::info!(call = %cb.call_sid, recording = %cb.recording_sid, "a recording for a call callvault does not have");
        return Ok(nothing());
    };
    let call = record.call.id;
    match cb.status {
        RecordingStatus::InProgress => {}
        RecordingStatus::Absent => {
            note(
                &state,
                call,
                "Twilio recorded no audio for this call.".into(),
            )
            .await?
        }
        RecordingStatus::Failed => {
            let code = cb
                .error_code
                .map(|c| format!(" (error {c})"))
                .unwrap_or_default();
            note(
                &state,
                call,
                format!("Twilio could not record this call{code}."),
            )
            .await?;
        }
        RecordingStatus::Completed => {
            if state
                .store
                .recording_by_source_ref(&cb.recording_sid)
                .await?
                .is_some()
            {
                return Ok(nothing());
            }
            if !record.call.recording_allowed {
                tracing::warn!(call = %call, recording = %cb.recording_sid, "Twilio sent a recording for a call that may not be recorded; it is not kept");
                return Ok(nothing());
            }
            let base = state
                .settings
                .twilio
                .as_ref()
                .map(|t| t.api_base.clone())
                .unwrap_or_default();
            if !under_base(&cb.recording_url, &base) {
                tracing::warn!(call = %call, url = %cb.recording_url, "a recording offered from outside the Twilio API is not fetched");
                note(
                    &state,
                    call,
                    "The recording was offered from outside the Twilio API and was not fetched."
                        .into(),
                )
                .await?;
                return Ok(nothing());
            }
            let job = fetch_twilio_recording::job(
                call,
                &cb.recording_sid,
                &cb.recording_url,
                state.now(),
            );
            match state.store.enqueue(job, state.now()).await {
                Ok(_) | Err(StoreError::Conflict(Conflict::DuplicateJob)) => state.jobs.wake(),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(nothing())
}
