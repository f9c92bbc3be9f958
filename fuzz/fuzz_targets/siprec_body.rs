//! An INVITE body as a recording client might send it: the first line is taken as the
//! Content-Type, the rest as the body. Splitting it, and reading the offer and the metadata
//! in it, must never panic.
#![no_main]

use callvault_telephony::siprec::{parse_metadata, parse_offer, split_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => (String::from("multipart/mixed;boundary=b"), data),
    };
    if let Ok(parts) = split_body(&content_type, body) {
        if let Some(sdp) = parts.sdp {
            let _ = parse_offer(sdp);
        }
        if let Some(xml) = parts.metadata {
            let _ = parse_metadata(xml);
        }
    }
    let _ = parse_offer(data);
    let _ = parse_metadata(data);
});
