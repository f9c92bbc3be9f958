//! Inbox-style lists: the search text a user types, and opaque page cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callvault_core::phone::Region;
use callvault_store::SearchText;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::fields::MAX_FILTER_CHARS;
use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// What a search box's text matches (see [`SearchText`]); none when it is blank.
pub fn text_filter(q: Option<&str>, region: Region) -> Result<Option<SearchText>, ApiError> {
    let Some(raw) = q else {
        return Ok(None);
    };
    if raw.chars().count() > MAX_FILTER_CHARS || raw.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("the search text must be at most {MAX_FILTER_CHARS} printable characters"),
        ));
    }
    let q = raw.trim();
    if q.is_empty() {
        return Ok(None);
    }
    Ok(Some(SearchText::new(q, region)))
}

pub fn limit(requested: Option<u32>) -> Result<u32, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {MAX_LIMIT}"),
        )),
    }
}

/// Cursors are opaque to clients: base64 of a small JSON value.
pub fn encode_cursor<T: Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

pub fn decode_cursor<T: DeserializeOwned>(raw: Option<&str>) -> Result<Option<T>, ApiError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_cursor",
                "the cursor is not one this server gave out",
            )
        })
}

/// Where an audit page ends, as a cursor (the entry's time to the nanosecond, and its id).
pub fn encode_audit_cursor(c: callvault_store::AuditCursor) -> String {
    encode_cursor(&(c.at.unix_timestamp_nanos(), c.id))
}

pub fn decode_audit_cursor(
    raw: Option<&str>,
) -> Result<Option<callvault_store::AuditCursor>, ApiError> {
    decode_cursor::<(i128, callvault_core::AuditId)>(raw)?
        .map(|(at, id)| {
            time::OffsetDateTime::from_unix_timestamp_nanos(at)
                .map(|at| callvault_store::AuditCursor { at, id })
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_cursor",
                        "the cursor is not one this server gave out",
                    )
                })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = encode_cursor(&(12_i64, "x"));
        assert_eq!(
            decode_cursor::<(i64, String)>(Some(&c)).ok().flatten(),
            Some((12, "x".to_owned()))
        );
        assert!(decode_cursor::<(i64, String)>(Some("!!!")).is_err());
        assert!(
            decode_cursor::<(i64, String)>(None)
                .ok()
                .flatten()
                .is_none()
        );
    }

    #[test]
    fn search_text_is_folded_and_phone_like_text_gives_digits() {
        let f = text_filter(Some(" (415) 555-0100 "), Region::us())
            .expect("filter")
            .expect("text");
        assert_eq!(f.digits(), Some("14155550100"));
        let f = text_filter(Some("Ána"), Region::us())
            .expect("filter")
            .expect("text");
        assert_eq!((f.words(), f.digits()), (&["ana".to_owned()][..], None));
        assert!(
            text_filter(Some("   "), Region::us())
                .expect("filter")
                .is_none()
        );
    }
}
