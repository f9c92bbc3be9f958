//! An INVITE read into what a recording session needs, or the answer that refuses it: 420
//! for extensions we do not support, 400 for a body that cannot be read, 488 for an offer with
//! nothing we can record, 422 for a session timer that is too short.

use callvault_app::siprec::Party;
use callvault_telephony::siprec::{
    Metadata, OfferedStream, SiprecError, parse_metadata, parse_offer, split_body,
};
use rsipstack::sip::{HasHeaders, Header, Request, StatusCode};

/// The shortest session interval we accept (RFC 4028's Min-SE floor).
pub const MIN_SESSION_EXPIRES: u64 = 90;
/// The longest we let a session go without a refresh; a longer interval asked for is lowered
/// in the answer (RFC 4028 lets the UAS reduce it).
pub const MAX_SESSION_EXPIRES: u64 = 7200;

/// A refusal: the status, a reason for the log and the Warning, and headers it needs.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
    pub headers: Vec<Header>,
}

impl Refusal {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }
}

impl From<SiprecError> for Refusal {
    fn from(e: SiprecError) -> Self {
        let status = match e {
            SiprecError::Sdp(_) => StatusCode::NotAcceptableHere,
            _ => StatusCode::BadRequest,
        };
        Self::new(status, e.to_string())
    }
}

/// What a recording session starts from.
#[derive(Debug)]
pub struct Invite {
    pub streams: Vec<OfferedStream>,
    /// The call's parties, the caller first (from the metadata, else From and To).
    pub parties: Vec<Party>,
    /// For each offered stream, the party who speaks on it, when that can be told.
    pub speakers: Vec<Option<usize>>,
    /// RFC 4028: the interval the client refreshes the session in, when it asked for one
    /// that it refreshes itself (it supports `timer` and did not ask us to refresh; we never
    /// send refreshes). Capped at `MAX_SESSION_EXPIRES`.
    pub session_expires: Option<u64>,
    /// Whether the client listed `siprec` in Require (so the answer does too).
    pub requires_siprec: bool,
}

fn header<'a>(req: &'a Request, names: &[&str]) -> Option<&'a str> {
    req.headers().iter().find_map(|h| {
        names
            .iter()
            .any(|n| h.name().eq_ignore_ascii_case(n))
            .then(|| h.value().trim())
    })
}

fn tokens<'a>(req: &'a Request, names: &[&str]) -> Vec<&'a str> {
    req.headers()
        .iter()
        .filter(|h| names.iter().any(|n| h.name().eq_ignore_ascii_case(n)))
        .flat_map(|h| h.value().split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// `"Display" <uri>;params` or `uri;params`: the name and the URI.
fn name_addr(value: &str) -> Party {
    let value = value.trim();
    match value.split_once('<') {
        Some((name, rest)) => Party {
            aor: rest.split('>').next().map(str::to_owned),
            name: Some(name.trim().trim_matches('"').trim().to_owned()).filter(|n| !n.is_empty()),
        },
        None => Party {
            aor: value.split(';').next().map(str::to_owned),
            name: None,
        },
    }
}

/// The parties named by metadata in a re-INVITE or UPDATE, if it carries any that can be read.
pub fn updated_parties(req: &Request) -> Option<Vec<Party>> {
    let content_type = header(req, &["Content-Type", "c"])?;
    let body = split_body(content_type, &req.body).ok()?;
    let metadata = parse_metadata(body.metadata?).ok()?;
    Some(parties_of(&metadata))
}

fn parties_of(metadata: &Metadata) -> Vec<Party> {
    metadata
        .participants
        .iter()
        .map(|p| Party {
            aor: p.aor.clone(),
            name: p.name.clone(),
        })
        .collect()
}

/// Reads an INVITE (or a re-INVITE or UPDATE, which may carry new metadata).
pub fn read(req: &Request) -> Result<Invite, Refusal> {
    let unsupported: Vec<&str> = tokens(req, &["Require"])
        .into_iter()
        .filter(|t| !t.eq_ignore_ascii_case("siprec") && !t.eq_ignore_ascii_case("timer"))
        .collect();
    if !unsupported.is_empty() {
        let mut refusal = Refusal::new(
            StatusCode::BadExtension,
            format!("unsupported extensions: {}", unsupported.join(", ")),
        );
        refusal
            .headers
            .push(Header::Other("Unsupported".into(), unsupported.join(", ")));
        return Err(refusal);
    }
    // The stack reads a missing or short Content-Length leniently; a recording must not be
    // made of a body that was cut off on the way.
    if let Some(length) = header(req, &["Content-Length", "l"])
        && length.parse::<usize>().ok() != Some(req.body.len())
    {
        return Err(Refusal::new(
            StatusCode::BadRequest,
            "Content-Length does not match the body",
        ));
    }
    let content_type = header(req, &["Content-Type", "c"]).unwrap_or("");
    let body = split_body(content_type, &req.body)?;
    let sdp = body
        .sdp
        .ok_or_else(|| Refusal::new(StatusCode::NotAcceptableHere, "no SDP offer"))?;
    let streams = parse_offer(sdp)?;
    let metadata = body.metadata.map(parse_metadata).transpose()?;

    // Each audio line's place among the audio lines (video and the like have none).
    let ordinals: Vec<Option<usize>> = streams
        .iter()
        .scan(0, |next, stream| {
            let audio = stream.media.eq_ignore_ascii_case("audio");
            let ordinal = audio.then_some(*next);
            *next += usize::from(audio);
            Some(ordinal)
        })
        .collect();
    let (parties, speakers) = match &metadata {
        Some(m) if !m.participants.is_empty() => {
            let parties = parties_of(m);
            let speakers = streams
                .iter()
                .zip(&ordinals)
                .map(|(stream, ordinal)| {
                    let by_label = stream
                        .label
                        .as_deref()
                        .and_then(|label| m.speaker_of(label))
                        .and_then(|p| m.participants.iter().position(|q| q.id == p.id));
                    // Not associated: the audio lines go in the participants' order, to
                    // those whose own streams the metadata does not name.
                    by_label.or_else(|| {
                        let ordinal = (*ordinal)?;
                        m.participants
                            .get(ordinal)
                            .is_some_and(|p| p.sends.is_empty())
                            .then_some(ordinal)
                    })
                })
                .collect();
            (parties, speakers)
        }
        // No metadata: the caller and callee as the SIP headers name them.
        _ => {
            let parties: Vec<Party> = [header(req, &["From", "f"]), header(req, &["To", "t"])]
                .into_iter()
                .flatten()
                .map(name_addr)
                .collect();
            let speakers = ordinals
                .iter()
                .map(|ordinal| ordinal.filter(|i| *i < parties.len()))
                .collect();
            (parties, speakers)
        }
    };

    let supports_timer = tokens(req, &["Supported", "k"])
        .iter()
        .any(|t| t.eq_ignore_ascii_case("timer"));
    let session_expires = match header(req, &["Session-Expires", "x"]) {
        Some(value) => {
            let mut params = value.split(';');
            let seconds = params
                .next()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Refusal::new(StatusCode::BadRequest, "Session-Expires is not a number")
                })?;
            if seconds < MIN_SESSION_EXPIRES {
                let mut refusal = Refusal::new(
                    StatusCode::SessionIntervalTooSmall,
                    "the session interval is below 90 seconds",
                );
                refusal.headers.push(Header::Other(
                    "Min-SE".into(),
                    MIN_SESSION_EXPIRES.to_string(),
                ));
                return Err(refusal);
            }
            let asks_us_to_refresh = params.any(|p| {
                p.split_once('=').is_some_and(|(name, value)| {
                    name.trim().eq_ignore_ascii_case("refresher")
                        && value.trim().eq_ignore_ascii_case("uas")
                })
            });
            // Only a client that refreshes itself gets a session timer; otherwise (a proxy put
            // the header in, or it wants us to refresh, which we do not) the media timeout
            // ends a lost session.
            (supports_timer && !asks_us_to_refresh).then_some(seconds.min(MAX_SESSION_EXPIRES))
        }
        None => None,
    };
    let requires_siprec = tokens(req, &["Require"])
        .iter()
        .any(|t| t.eq_ignore_ascii_case("siprec"));
    Ok(Invite {
        streams,
        parties,
        speakers,
        session_expires,
        requires_siprec,
    })
}

#[cfg(test)]
mod tests {
    //! The INVITE shapes real recording clients send, written here from their documented
    //! forms: each must give the parties and who speaks on which stream.

    use super::*;

    const SDP_TWO: &str = "v=0\r\no=src 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
        m=audio 40000 RTP/AVP 0\r\na=label:10\r\na=sendonly\r\n\
        m=audio 40002 RTP/AVP 8\r\na=label:11\r\na=sendonly\r\n";

    fn invite(headers: &str, content_type: &str, body: &str) -> Request {
        let text = format!(
            "INVITE sip:srs@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
             From: \"Front Desk\" <sip:+14155550000@sbc.example>;tag=1\r\nTo: <sip:+14155550100@carrier.example>\r\n\
             Call-ID: abc\r\nCSeq: 1 INVITE\r\nContact: <sip:src@192.0.2.1>\r\n{headers}\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Request::try_from(text.as_str()).expect("a SIP request")
    }

    fn multipart(metadata_type: &str, xml: &str, sdp: &str) -> String {
        format!(
            "--b\r\nContent-Type: application/sdp\r\n\r\n{sdp}\r\n--b\r\nContent-Type: {metadata_type}\r\n\
             Content-Disposition: recording-session\r\n\r\n{xml}\r\n--b--\r\n"
        )
    }

    fn aors(invite: &Invite) -> Vec<&str> {
        invite
            .parties
            .iter()
            .map(|p| p.aor.as_deref().unwrap_or("-"))
            .collect()
    }

    const STANDARD: &str = r#"<?xml version="1.0"?><recording xmlns="urn:ietf:params:xml:ns:recording:1">
        <participant participant_id="p1"><nameID aor="sip:+14155550100@carrier.example"><name>Maria</name></nameID></participant>
        <participant participant_id="p2"><nameID aor="sip:201@pbx.example"/></participant>
        <stream stream_id="s1" session_id="x"><label>10</label></stream>
        <stream stream_id="s2" session_id="x"><label>11</label></stream>
        <participantstreamassoc participant_id="p1"><send>s2</send></participantstreamassoc>
        <participantstreamassoc participant_id="p2"><send>s1</send></participantstreamassoc>
        </recording>"#;

    #[test]
    fn the_standard_shape_says_who_speaks_on_each_labelled_stream() {
        let req = invite(
            "Require: siprec\r\n",
            "multipart/mixed;boundary=b",
            &multipart("application/rs-metadata+xml", STANDARD, SDP_TWO),
        );
        let read = read(&req).expect("read");
        assert_eq!(
            aors(&read),
            ["sip:+14155550100@carrier.example", "sip:201@pbx.example"]
        );
        assert_eq!(read.parties[0].name.as_deref(), Some("Maria"));
        // The first stream is sent by the second participant.
        assert_eq!(read.speakers, [Some(1), Some(0)]);
    }

    #[test]
    fn prefixes_legacy_type_and_participant_ids_in_other_attributes_read_the_same() {
        let prefixed = STANDARD
            .replace("<recording xmlns=", "<rs:recording xmlns:rs=")
            .replace("</recording>", "</rs:recording>")
            .replace("<participant ", "<rs:participant ")
            .replace("</participant>", "</rs:participant>")
            .replace("participant_id=", "id=");
        let req = invite(
            "",
            "multipart/mixed; boundary=\"b\"",
            &multipart("application/rs-metadata", &prefixed, SDP_TWO),
        );
        let read = read(&req).expect("read");
        assert_eq!(read.parties.len(), 2);
        assert_eq!(read.speakers, [Some(1), Some(0)]);
    }

    #[test]
    fn without_stream_association_the_streams_follow_the_participants() {
        let bare = r#"<recording xmlns="urn:ietf:params:xml:ns:recording:1">
            <participant participant_id="a"><nameID aor="sip:+14155550100@x"/></participant>
            <participant participant_id="b"><nameID aor="sip:201@y"/></participant></recording>"#;
        let req = invite(
            "",
            "multipart/mixed;boundary=b",
            &multipart("application/rs-metadata+xml", bare, SDP_TWO),
        );
        assert_eq!(read(&req).expect("read").speakers, [Some(0), Some(1)]);
    }

    #[test]
    fn without_metadata_the_caller_and_callee_come_from_from_and_to() {
        let req = invite("", "application/sdp", SDP_TWO);
        let read = read(&req).expect("read");
        assert_eq!(
            aors(&read),
            [
                "sip:+14155550000@sbc.example",
                "sip:+14155550100@carrier.example"
            ]
        );
        assert_eq!(read.parties[0].name.as_deref(), Some("Front Desk"));
        assert_eq!(read.speakers, [Some(0), Some(1)]);
    }

    #[test]
    fn a_third_mixed_stream_belongs_to_no_one() {
        let sdp = format!("{SDP_TWO}m=audio 40004 RTP/AVP 0\r\na=label:12\r\na=sendonly\r\n");
        let xml = STANDARD.replace(
            "</recording>",
            r#"<stream stream_id="s3" session_id="x"><label>12</label></stream></recording>"#,
        );
        let req = invite(
            "",
            "multipart/mixed;boundary=b",
            &multipart("application/rs-metadata+xml", &xml, &sdp),
        );
        assert_eq!(read(&req).expect("read").speakers, [Some(1), Some(0), None]);
    }

    #[test]
    fn what_cannot_be_recorded_is_refused_with_the_right_answer() {
        let status = |req: Request| read(&req).err().map(|r| r.status);
        assert_eq!(
            status(invite(
                "Require: siprec, 100rel-xyz\r\n",
                "application/sdp",
                SDP_TWO
            )),
            Some(StatusCode::BadExtension)
        );
        assert_eq!(
            status(invite(
                "Session-Expires: 30\r\n",
                "application/sdp",
                SDP_TWO
            )),
            Some(StatusCode::SessionIntervalTooSmall)
        );
        assert_eq!(
            status(invite(
                "",
                "multipart/mixed;boundary=b",
                "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
            )),
            Some(StatusCode::NotAcceptableHere)
        );
        assert_eq!(
            status(invite(
                "",
                "multipart/mixed;boundary=b",
                &multipart("application/rs-metadata+xml", "<recording", SDP_TWO)
            )),
            Some(StatusCode::BadRequest)
        );
        // A Content-Length longer than what came: the body was cut off.
        let mut cut = invite("", "application/sdp", SDP_TWO);
        cut.body.truncate(20);
        assert_eq!(status(cut), Some(StatusCode::BadRequest));
    }

    #[test]
    fn a_session_timer_is_kept_only_when_the_client_refreshes_it() {
        let timer = |headers: &str| {
            read(&invite(headers, "application/sdp", SDP_TWO))
                .expect("read")
                .session_expires
        };
        assert_eq!(
            timer("Session-Expires: 1800;refresher=uac\r\nSupported: timer, 100rel\r\n"),
            Some(1800)
        );
        assert_eq!(
            timer("Session-Expires: 1800\r\nSupported: timer\r\n"),
            Some(1800)
        );
        // Lowered to what we allow.
        assert_eq!(
            timer("Session-Expires: 4000000000\r\nSupported: timer\r\n"),
            Some(MAX_SESSION_EXPIRES)
        );
        // Put in by a proxy for a client without timers, or asking us to refresh: none.
        assert_eq!(timer("Session-Expires: 1800\r\n"), None);
        assert_eq!(
            timer("Session-Expires: 1800;refresher=uas\r\nSupported: timer\r\n"),
            None
        );
    }
}
