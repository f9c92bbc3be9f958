//! How a call goes: the status callbacks of the call and of each phone it rang, and the end of
//! the `<Dial>`. Together they give the status, the answer and end times, and who answered.
//! Twilio's `canceled` (the caller hung up before anyone answered) counts as no-answer.

use axum::extract::State;
use callvault_core::call::CallStatus;
use callvault_core::phone::E164;
use callvault_store::{CallRecord, CallUpdate};
use callvault_telephony::twilio::callbacks::{DialAction, LegStatus, Params, StatusCallback};
use callvault_telephony::twilio::twiml::{Response, Verb};
use time::Duration;

use super::voice::SOURCE;
use super::{Signed, Twiml, malformed, nothing};
use crate::error::ApiResult;
use crate::state::AppState;

async fn call(state: &AppState, call_sid: &str) -> ApiResult<Option<CallRecord>> {
    let call = state.store.call_by_external_id(SOURCE, call_sid).await?;
    if call.is_none() {
        tracing::info!(
            call = call_sid,
            "a Twilio callback for a call callvault does not have"
        );
    }
    Ok(call)
}

pub async fn status(State(state): State<AppState>, signed: Signed) -> ApiResult<Twiml> {
    let cb = StatusCallback::parse(&Params(&signed.params)).map_err(|e| malformed(&e))?;
    let now = state.now();
    if let Some(parent) = &cb.parent_call_sid {
        // One of the team's phones: when it answers, its owner handled the call.
        let Some(record) = call(&state, parent).await? else {
            return Ok(nothing());
        };
        if matches!(cb.status, LegStatus::InProgress | LegStatus::Answered) {
            let handler = match (
                state.store.number(record.call.number_id).await?,
                E164::parse(&cb.to, state.settings.default_region),
            ) {
                (Some(number), Ok(to)) => number
                    .forward_to
                    .iter()
                    .find(|t| t.phone == to)
                    .and_then(|t| t.user_id),
                _ => None,
            };
            let update = CallUpdate {
                status: Some(CallStatus::Answered),
                answered_at: Some(now),
                handled_by: handler,
                ..CallUpdate::default()
            };
            state.store.update_call(record.call.id, update).await?;
        }
        return Ok(nothing());
    }
    let Some(record) = call(&state, &cb.call_sid).await? else {
        return Ok(nothing());
    };
    if cb.status.is_final() {
        let first_end = record.call.times.ended_at.is_none();
        // A call still ringing when it ends was never answered by the team.
        let status = (record.call.status == CallStatus::Ringing).then_some(match cb.status {
            LegStatus::Busy => CallStatus::Busy,
            LegStatus::Failed => CallStatus::Failed,
            _ => CallStatus::NoAnswer,
        });
        let ended = state
            .store
            .update_call(
                record.call.id,
                CallUpdate {
                    status,
                    ended_at: Some(now),
                    ..CallUpdate::default()
                },
            )
            .await?;
        // Twilio may send the same callback again: the call ends once.
        if first_end {
            callvault_app::webhooks::call_completed(&state, &ended.call).await;
        }
    }
    Ok(nothing())
}

pub async fn dial_ended(State(state): State<AppState>, signed: Signed) -> ApiResult<Twiml> {
    let action = DialAction::parse(&Params(&signed.params)).map_err(|e| malformed(&e))?;
    if let Some(record) = call(&state, &action.call_sid).await? {
        let now = state.now();
        let status = action.dial_status.dial_outcome();
        let talked =
            Duration::seconds(i64::try_from(action.dial_duration.unwrap_or(0)).unwrap_or(0));
        let update = CallUpdate {
            status,
            answered_at: (status == Some(CallStatus::Answered)).then(|| now - talked),
            ended_at: Some(now),
            ..CallUpdate::default()
        };
        state.store.update_call(record.call.id, update).await?;
    }
    Ok(Twiml(Response::new(vec![Verb::Hangup])))
}
