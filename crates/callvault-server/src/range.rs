//! HTTP byte ranges and entity tags (RFC 9110 §13–14), so players can seek without downloading
//! the whole file. A recording's bytes never change under its id, so `If-Range` needs no
//! handling: any validator the client holds is still current.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send everything (a server may ignore a range it does not support).
    Full,
    /// Send these bytes with 206.
    Partial(Range<u64>),
    /// The range starts past the end: 416.
    Unsatisfiable,
}

/// Reads a `Range` header against an object of `size` bytes. One range is served; a header
/// asking for several, in another unit, or that does not parse gets the whole object.
#[must_use]
pub fn parse(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(header) = header.map(str::trim) else {
        return RangeRequest::Full;
    };
    let unit_ok = header
        .get(..6)
        .is_some_and(|unit| unit.eq_ignore_ascii_case("bytes="));
    if !unit_ok || size == 0 {
        return RangeRequest::Full;
    }
    let spec = &header[6..];
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        // "bytes=-N": the last N bytes.
        (true, false) => match number(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Partial(size.saturating_sub(n)..size),
            None => RangeRequest::Full,
        },
        // "bytes=A-": from A to the end.
        (false, true) => match number(first) {
            Some(a) if a >= size => RangeRequest::Unsatisfiable,
            Some(a) => RangeRequest::Partial(a..size),
            None => RangeRequest::Full,
        },
        // "bytes=A-B", B inclusive; B before A makes the header invalid, so it is ignored.
        (false, false) => match (number(first), number(last)) {
            (Some(a), Some(b)) if b < a => RangeRequest::Full,
            (Some(a), Some(_)) if a >= size => RangeRequest::Unsatisfiable,
            (Some(a), Some(b)) => RangeRequest::Partial(a..b.saturating_add(1).min(size)),
            _ => RangeRequest::Full,
        },
        (true, true) => RangeRequest::Full,
    }
}

/// Whether an `If-None-Match` header matches `etag`, by weak comparison (§13.1.2).
#[must_use]
pub fn none_match(header: &str, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = opaque(etag);
    header
        .split(',')
        .any(|tag| tag.trim() == "*" || opaque(tag) == ours)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_a_single_range() {
        assert_eq!(
            parse(Some("bytes=0-99"), 1000),
            RangeRequest::Partial(0..100)
        );
        assert_eq!(
            parse(Some("bytes=900-"), 1000),
            RangeRequest::Partial(900..1000)
        );
        assert_eq!(
            parse(Some("bytes=-100"), 1000),
            RangeRequest::Partial(900..1000)
        );
        assert_eq!(
            parse(Some("bytes=-5000"), 1000),
            RangeRequest::Partial(0..1000)
        );
        assert_eq!(
            parse(Some("bytes=990-2000"), 1000),
            RangeRequest::Partial(990..1000)
        );
        assert_eq!(parse(Some("Bytes=0-0"), 1000), RangeRequest::Partial(0..1));
        assert_eq!(
            parse(Some("bytes=0-18446744073709551615"), 1000),
            RangeRequest::Partial(0..1000)
        );
    }

    #[test]
    fn past_the_end_is_unsatisfiable() {
        assert_eq!(
            parse(Some("bytes=1000-"), 1000),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(
            parse(Some("bytes=1000-1001"), 1000),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(parse(Some("bytes=-0"), 1000), RangeRequest::Unsatisfiable);
    }

    #[test]
    fn what_is_not_understood_gets_everything() {
        for h in [
            "items=0-1",
            "bytes=0-1,5-6",
            "bytes=a-b",
            "bytes=5-1",
            "bytes=2000-1000",
            "bytes=-",
            "bytes=+1-2",
            "byte",
        ] {
            assert_eq!(parse(Some(h), 1000), RangeRequest::Full, "{h}");
        }
        assert_eq!(parse(None, 1000), RangeRequest::Full);
    }

    #[test]
    fn entity_tags_compare_weakly_and_in_lists() {
        let tag = "\"abc\"";
        assert!(none_match("\"abc\"", tag));
        assert!(none_match("W/\"abc\"", tag));
        assert!(none_match("\"x\", \"abc\"", tag));
        assert!(none_match("*", tag));
        assert!(!none_match("\"abd\"", tag));
    }
}
