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
    /// RFC 4028: the interval the client refreshes the session in, when it asked for one.
    pub session_expires: Option<u64>,
    /// Whether the client supports `timer` (so the answer may require it).
    pub supports_timer: bool,
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

    let (parties, speakers) = match &metadata {
        Some(m) if !m.participants.is_empty() => {
            let parties = parties_of(m);
            let speakers = streams
                .iter()
                .enumerate()
                .map(|(i, stream)| {
                    let by_label = stream
                        .label
                        .as_deref()
                        .and_then(|label| m.speaker_of(label))
                        .and_then(|p| m.participants.iter().position(|q| q.id == p.id));
                    // No association: the streams go in the participants' order.
                    let associated = m.participants.iter().any(|p| !p.sends.is_empty());
                    by_label.or((!associated && i < parties.len()).then_some(i))
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
            let speakers = (0..streams.len())
                .map(|i| (i < parties.len()).then_some(i))
                .collect();
            (parties, speakers)
        }
    };

    let session_expires = match header(req, &["Session-Expires", "x"]) {
        Some(value) => {
            let seconds = value
                .split(';')
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
            Some(seconds)
        }
        None => None,
    };
    let supports_timer = tokens(req, &["Supported", "k"])
        .iter()
        .any(|t| t.eq_ignore_ascii_case("timer"));
    Ok(Invite {
        streams,
        parties,
        speakers,
        session_expires,
        supports_timer,
    })
}
