//! HTTP byte ranges (RFC 9110 §14), so players can seek without downloading the whole file.

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
/// asking for several, or in another unit, gets the whole object.
#[must_use]
pub fn parse(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    if spec.contains(',') || size == 0 {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let parse_num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.is_empty(), last.is_empty()) {
        // "bytes=-N": the last N bytes.
        (true, false) => match parse_num(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Partial(size.saturating_sub(n)..size),
            None => RangeRequest::Full,
        },
        // "bytes=A-": from A to the end.
        (false, true) => match parse_num(first) {
            Some(a) if a >= size => RangeRequest::Unsatisfiable,
            Some(a) => RangeRequest::Partial(a..size),
            None => RangeRequest::Full,
        },
        // "bytes=A-B", B inclusive.
        (false, false) => match (parse_num(first), parse_num(last)) {
            (Some(a), Some(_)) if a >= size => RangeRequest::Unsatisfiable,
            (Some(a), Some(b)) if b >= a => RangeRequest::Partial(a..(b + 1).min(size)),
            _ => RangeRequest::Full,
        },
        (true, true) => RangeRequest::Full,
    }
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
            "bytes=-",
            "bytes=+1-2",
        ] {
            assert_eq!(parse(Some(h), 1000), RangeRequest::Full, "{h}");
        }
        assert_eq!(parse(None, 1000), RangeRequest::Full);
    }
}
