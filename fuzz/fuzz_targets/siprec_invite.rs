//! Whole SIP messages, as the recording server receives them: parsed by the SIP stack, then
//! the headers and body the server reads. A malformed message must be an error, never a panic.
#![no_main]

use callvault_telephony::siprec::{parse_metadata, parse_offer, split_body};
use libfuzzer_sys::fuzz_target;
use rsipstack::sip::{HasHeaders, SipMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(SipMessage::Request(request)) = SipMessage::try_from(data) else {
        return;
    };
    let content_type = request
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Content-Type"))
        .map(|h| h.value().to_owned())
        .unwrap_or_default();
    for header in request.headers().iter() {
        let _ = (header.name(), header.value());
    }
    if let Ok(parts) = split_body(&content_type, &request.body) {
        if let Some(sdp) = parts.sdp {
            let _ = parse_offer(sdp);
        }
        if let Some(xml) = parts.metadata {
            let _ = parse_metadata(xml);
        }
    }
});
