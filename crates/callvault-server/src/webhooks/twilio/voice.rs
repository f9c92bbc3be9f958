//! A call reaches one of the business's Twilio numbers (or leaves through one): the call is
//! stored as ringing, its recording permission frozen from the number now, and Twilio is told
//! what to do: the consent announcement, then ring the team's phones, recording both sides
//! into two channels when recording is on.

use axum::extract::State;
use callvault_core::call::{CallStatus, CallTimes, Direction};
use callvault_core::contact::clean_name;
use callvault_core::number::{PhoneNumber, Provider};
use callvault_core::phone::E164;
use callvault_store::NewCall;
use callvault_telephony::twilio::callbacks::{CallDirection, Params, VoiceRequest};
use callvault_telephony::twilio::twiml::{Dial, DialNumber, Response, Verb};

use super::{DIAL, RECORDING, STATUS, Signed, Twiml, malformed};
use crate::error::ApiResult;
use crate::state::AppState;

/// Calls from Twilio are stored under this source, with the CallSid as their id.
pub const SOURCE: &str = "twilio";

/// Seconds the team's phones ring before the call counts as not answered.
const RING_SECONDS: u32 = 30;

pub async fn voice(State(state): State<AppState>, signed: Signed) -> ApiResult<Twiml> {
    let req = VoiceRequest::parse(&Params(&signed.params)).map_err(|e| malformed(&e))?;
    let (ours, theirs, direction) = match req.direction {
        CallDirection::Inbound => (&req.to, &req.from, Direction::Inbound),
        CallDirection::OutboundApi | CallDirection::OutboundDial => {
            (&req.from, &req.to, Direction::Outbound)
        }
    };
    let region = state.settings.default_region;
    let number = match E164::parse(ours, region) {
        Ok(e164) => state.store.number_by_e164(&e164).await?,
        Err(_) => None,
    };
    let Some(number) = number.filter(|n| n.provider == Provider::Twilio) else {
        tracing::warn!(number = %ours, call = %req.call_sid, "a call came through a number callvault has no Twilio configuration for");
        return Ok(Twiml(Response::new(vec![
            Verb::Say("Sorry, this number is not in service.".into()),
            Verb::Hangup,
        ])));
    };
    let Ok(contact_phone) = E164::parse(theirs, region) else {
        // A withheld or non-phone caller has no contact to file the call under: connect it,
        // but there is no call to keep a recording with.
        tracing::info!(caller = %theirs, call = %req.call_sid, "connecting a caller without a phone number; the call is not stored");
        return Ok(Twiml(answer(&state, &number, false)));
    };
    let now = state.now();
    let times = CallTimes::new(CallStatus::Ringing, now, None, None, now)
        .map_err(|e| crate::error::ApiError::internal(&e))?;
    let reported = state
        .store
        .report_call(
            NewCall {
                number: number.e164.clone(),
                contact_phone,
                contact_phone_raw: theirs.clone(),
                contact_name: req.caller_name.as_deref().and_then(clean_name),
                direction,
                status: CallStatus::Ringing,
                times,
                handled_by: None,
                source: SOURCE.into(),
                external_id: Some(req.call_sid.clone()),
            },
            now,
        )
        .await?;
    Ok(Twiml(answer(
        &state,
        &number,
        reported.record.call.recording_allowed,
    )))
}

/// What Twilio does with a call to `number`: the announcement (when recording), then the
/// team's phones.
fn answer(state: &AppState, number: &PhoneNumber, record: bool) -> Response {
    let mut verbs = Vec::new();
    if record && let Some(text) = &number.consent_announcement {
        verbs.push(Verb::Say(text.clone()));
    }
    if number.forward_to.is_empty() {
        verbs.push(Verb::Say(
            "Sorry, nobody can take your call right now. Please try again later.".into(),
        ));
        verbs.push(Verb::Hangup);
        return Response::new(verbs);
    }
    verbs.push(Verb::Dial(Dial {
        numbers: number
            .forward_to
            .iter()
            .map(|target| DialNumber {
                number: target.phone.to_string(),
                status_callback: Some(state.settings.public(STATUS)),
            })
            .collect(),
        record,
        recording_status_callback: record.then(|| state.settings.public(RECORDING)),
        action: Some(state.settings.public(DIAL)),
        timeout: Some(RING_SECONDS),
    }));
    Response::new(verbs)
}
