//! The INVITE's body: `multipart/mixed` (RFC 2046 §5.1) holding the SDP offer and the recording
//! metadata, in any order and maybe with other parts (some clients add their own), or SDP
//! alone when a client sends no metadata. Lines may end in CRLF or, from careless clients, LF.

use super::{MAX_BODY, SiprecError};

/// Parts read from one body at most; more is not a recording client.
const MAX_PARTS: usize = 16;

/// Content types recording clients give their metadata: RFC 9806's name, the older one, and
/// one seen in the field.
const METADATA_TYPES: [&str; 3] = [
    "application/rs-metadata+xml",
    "application/rs-metadata",
    "application/recording+xml",
];

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The media type, lower case, without parameters (`text/plain` when none is given).
    pub content_type: String,
    /// The disposition type, lower case (`recording-session` marks the metadata).
    pub disposition: Option<String>,
    pub body: &'a [u8],
}

/// What a recording session's INVITE carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordingBody<'a> {
    pub sdp: Option<&'a [u8]>,
    pub metadata: Option<&'a [u8]>,
}

/// A header value's first token, lower case: `Application/SDP; charset=x` is `application/sdp`.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A parameter of a header value (`boundary` of a content type), unquoted.
fn parameter<'v>(value: &'v str, name: &str) -> Option<&'v str> {
    value.split(';').skip(1).find_map(|p| {
        let (key, val) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| val.trim().trim_matches('"'))
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Splits a part into its headers and body at the first empty line.
fn part(raw: &[u8]) -> Part<'_> {
    let (head, body) = if raw.starts_with(b"\r\n") {
        (&raw[..0], &raw[2..])
    } else if raw.starts_with(b"\n") {
        (&raw[..0], &raw[1..])
    } else if let Some(at) = find(raw, b"\r\n\r\n", 0) {
        (&raw[..at], &raw[at + 4..])
    } else if let Some(at) = find(raw, b"\n\n", 0) {
        (&raw[..at], &raw[at + 2..])
    } else {
        (raw, &raw[raw.len()..])
    };
    let mut content_type = "text/plain".to_owned();
    let mut disposition = None;
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" | "c" => content_type = media_type(value),
            "content-disposition" => disposition = Some(media_type(value)),
            _ => {}
        }
    }
    Part {
        content_type,
        disposition,
        body,
    }
}

/// The parts of a multipart body with this boundary.
fn parts<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, SiprecError> {
    let delimiter = format!("--{boundary}").into_bytes();
    // Each delimiter starts a line; the line break before it belongs to it.
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(found) = find(body, &delimiter, at) {
        let at_line_start = found == 0 || body[found - 1] == b'\n';
        if at_line_start {
            starts.push(found);
        }
        at = found + delimiter.len();
    }
    if starts.is_empty() {
        return Err(SiprecError::Multipart("the boundary never appears"));
    }
    let mut out = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let after = start + delimiter.len();
        if body[after..].starts_with(b"--") {
            break;
        }
        let Some(line_end) = find(body, b"\n", after) else {
            break;
        };
        let end = starts.get(i + 1).copied().unwrap_or(body.len());
        let mut content_end = end;
        if starts.get(i + 1).is_some() {
            // The CRLF (or LF) before the next delimiter is the delimiter's.
            if content_end > 0 && body[content_end - 1] == b'\n' {
                content_end -= 1;
            }
            if content_end > 0 && body[content_end - 1] == b'\r' {
                content_end -= 1;
            }
        }
        let from = (line_end + 1).min(content_end);
        out.push(part(&body[from..content_end]));
        if out.len() > MAX_PARTS {
            return Err(SiprecError::Multipart("too many parts"));
        }
    }
    Ok(out)
}

/// Reads an INVITE's body given its Content-Type: the SDP offer and the metadata, whichever
/// are there. A body of another type, or a multipart body without a boundary, is refused.
pub fn split_body<'a>(
    content_type: &str,
    body: &'a [u8],
) -> Result<RecordingBody<'a>, SiprecError> {
    if body.len() > MAX_BODY {
        return Err(SiprecError::TooLarge(MAX_BODY));
    }
    match media_type(content_type).as_str() {
        "application/sdp" => Ok(RecordingBody {
            sdp: Some(body),
            metadata: None,
        }),
        "multipart/mixed" | "multipart/related" | "multipart/alternative" => {
            let boundary = parameter(content_type, "boundary")
                .filter(|b| !b.is_empty() && b.len() <= 70)
                .ok_or(SiprecError::Multipart("no boundary"))?;
            let parts = parts(body, boundary)?;
            Ok(RecordingBody {
                sdp: parts
                    .iter()
                    .find(|p| p.content_type == "application/sdp")
                    .map(|p| p.body),
                metadata: parts
                    .iter()
                    .find(|p| {
                        METADATA_TYPES.contains(&p.content_type.as_str())
                            || p.disposition.as_deref() == Some("recording-session")
                                && p.content_type != "application/sdp"
                    })
                    .map(|p| p.body),
            })
        }
        "" => Ok(RecordingBody::default()),
        _ => Err(SiprecError::Multipart("not SDP or a multipart body")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=SRC 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n";

    fn body(boundary: &str, parts: &[(&str, &str, &str)], eol: &str) -> Vec<u8> {
        let mut out = String::new();
        for (ctype, extra, content) in parts {
            out.push_str(&format!(
                "--{boundary}{eol}Content-Type: {ctype}{eol}{extra}{eol}{content}{eol}"
            ));
        }
        out.push_str(&format!("--{boundary}--{eol}"));
        out.into_bytes()
    }

    #[test]
    fn the_offer_and_the_metadata_come_out_in_either_order() {
        let xml = "<recording xmlns='urn:ietf:params:xml:ns:recording:1'/>";
        for eol in ["\r\n", "\n"] {
            let raw = body(
                "OSS-unique-boundary-42",
                &[
                    (
                        "application/rs-metadata+xml",
                        &format!("Content-Disposition: recording-session{eol}"),
                        xml,
                    ),
                    ("application/gtd", "", "IAM,"),
                    ("application/sdp", "", SDP.trim_end()),
                ],
                eol,
            );
            let got = split_body("multipart/mixed;boundary=\"OSS-unique-boundary-42\"", &raw)
                .expect("reads");
            assert_eq!(got.metadata, Some(xml.as_bytes()));
            assert_eq!(got.sdp, Some(SDP.trim_end().as_bytes()));
        }
    }

    #[test]
    fn the_legacy_type_and_a_disposition_alone_both_mark_the_metadata() {
        let raw = body(
            "b1",
            &[("application/rs-metadata", "", "<recording/>")],
            "\r\n",
        );
        let got = split_body("Multipart/Mixed; boundary=b1", &raw).expect("reads");
        assert_eq!(got.metadata, Some(&b"<recording/>"[..]));
        assert_eq!(got.sdp, None);
        let raw = body(
            "b2",
            &[(
                "text/xml",
                "Content-Disposition: recording-session\r\n",
                "<recording/>",
            )],
            "\r\n",
        );
        let got = split_body("multipart/mixed; boundary=b2", &raw).expect("reads");
        assert_eq!(got.metadata, Some(&b"<recording/>"[..]));
    }

    #[test]
    fn sdp_alone_is_a_recording_without_metadata() {
        let got = split_body("application/sdp", SDP.as_bytes()).expect("reads");
        assert_eq!((got.sdp.is_some(), got.metadata), (true, None));
    }

    #[test]
    fn bodies_that_cannot_be_read_are_refused_without_panicking() {
        assert!(
            split_body("multipart/mixed", b"--x\r\n\r\n").is_err(),
            "no boundary"
        );
        assert!(split_body("multipart/mixed; boundary=x", b"nothing here").is_err());
        assert!(split_body("text/html", b"<p>").is_err());
        assert!(split_body("application/sdp", &vec![b'a'; MAX_BODY + 1]).is_err());
        let many = "--x\r\n\r\na\r\n".repeat(MAX_PARTS + 2);
        assert!(split_body("multipart/mixed; boundary=x", many.as_bytes()).is_err());
        // Every prefix of a real body reads or is refused; none panics.
        let raw = body("b", &[("application/sdp", "", SDP)], "\r\n");
        for cut in 0..raw.len() {
            let _ = split_body("multipart/mixed; boundary=b", &raw[..cut]);
        }
    }
}
