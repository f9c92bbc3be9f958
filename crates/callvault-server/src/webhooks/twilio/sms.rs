//! An incoming text message becomes an `sms` event in the contact's conversation.

use axum::extract::State;
use callvault_core::call::Direction;
use callvault_core::phone::E164;
use callvault_store::{NewSms, StoreError};
use callvault_telephony::twilio::callbacks::{Params, SmsRequest};

use super::{Signed, Twiml, malformed, nothing};
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn sms(State(state): State<AppState>, signed: Signed) -> ApiResult<Twiml> {
    let msg = SmsRequest::parse(&Params(&signed.params)).map_err(|e| malformed(&e))?;
    let region = state.settings.default_region;
    let (Ok(number), Ok(contact_phone)) =
        (E164::parse(&msg.to, region), E164::parse(&msg.from, region))
    else {
        tracing::info!(from = %msg.from, to = %msg.to, "a message between numbers callvault cannot file is ignored");
        return Ok(nothing());
    };
    let now = state.now();
    let sms = NewSms {
        number,
        contact_phone,
        contact_phone_raw: msg.from.clone(),
        direction: Direction::Inbound,
        // NUL is no text anyone sent, and PostgreSQL cannot store it.
        body: msg.body.replace('\0', ""),
        external_id: msg.message_sid,
        at: now,
    };
    match state.store.record_sms(sms, now).await {
        Ok(_) => Ok(nothing()),
        Err(StoreError::Missing(_)) => {
            tracing::warn!(to = %msg.to, "a message to a number callvault is not configured for is ignored");
            Ok(nothing())
        }
        Err(e) => Err(e.into()),
    }
}
