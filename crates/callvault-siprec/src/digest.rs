//! SIP digest authentication (RFC 3261 §22, with SHA-256 as RFC 8760 adds too) for recording
//! clients that cannot be told by their address. A new session's INVITE without credentials
//! gets a 401 challenge; its nonce carries its own time and an HMAC of it, so it is checked
//! without keeping state and goes stale after five minutes. The answer is checked with
//! rsipstack's digest. Wrong credentials get 403.

use hmac::{Hmac, Mac};
use rsipstack::dialog::authenticate::verify_digest;
use rsipstack::sip::headers::typed::Authorization;
use rsipstack::sip::{HasHeaders, Header, Request};
use sha2::Sha256;

/// The realm challenges name.
pub const REALM: &str = "callvault";
/// How long a nonce may be answered.
const NONCE_LIFETIME_SECS: u64 = 300;

/// The one user and password recording clients authenticate with.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: String,
    /// Signs nonces; new at every start, so a restart only makes clients authenticate again.
    key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// What a request's credentials come to.
#[derive(Debug)]
pub enum Verdict {
    Allowed,
    /// Ask for credentials (none sent, or a stale nonce): 401 with these headers.
    Challenge(Vec<Header>),
    /// Wrong user, realm or password: 403.
    Refused,
}

impl Credentials {
    #[must_use]
    pub fn new(username: String, password: String) -> Self {
        Self {
            username,
            password,
            key: callvault_app::secrets::new_secret(),
        }
    }

    fn signature(&self, issued: u64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(&issued.to_be_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    fn nonce(&self, now: u64) -> String {
        format!("{now:x}.{}", self.signature(now))
    }

    fn is_fresh(&self, nonce: &str, now: u64) -> bool {
        let Some((issued, signature)) = nonce.split_once('.') else {
            return false;
        };
        let Ok(issued) = u64::from_str_radix(issued, 16) else {
            return false;
        };
        let expected = self.signature(issued);
        let same = expected.len() == signature.len()
            && expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0;
        same && issued <= now && now - issued <= NONCE_LIFETIME_SECS
    }

    fn challenge(&self, now: u64, stale: bool) -> Vec<Header> {
        let nonce = self.nonce(now);
        let stale = if stale { ", stale=true" } else { "" };
        // MD5 first: many SIP clients (sipp among them) answer only the first challenge and
        // know only MD5. SHA-256 (RFC 8760) is offered too, for clients that look further.
        ["MD5", "SHA-256"]
            .into_iter()
            .map(|algorithm| {
                Header::Other(
                    "WWW-Authenticate".into(),
                    format!(
                        "Digest realm=\"{REALM}\", nonce=\"{nonce}\", algorithm={algorithm}, qop=\"auth\"{stale}"
                    ),
                )
            })
            .collect()
    }

    /// Checks a request's Authorization at `now` (Unix seconds).
    #[must_use]
    pub fn check(&self, request: &Request, now: u64) -> Verdict {
        let Some(header) = request
            .headers()
            .iter()
            .find(|h| h.name().eq_ignore_ascii_case("Authorization"))
        else {
            return Verdict::Challenge(self.challenge(now, false));
        };
        let raw = header.value();
        let Ok(answer) = Authorization::parse(raw) else {
            return Verdict::Refused;
        };
        if answer.username != self.username || answer.realm != REALM {
            return Verdict::Refused;
        }
        if !self.is_fresh(&answer.nonce, now) {
            return Verdict::Challenge(self.challenge(now, true));
        }
        if verify_digest(&answer, &self.password, &request.method, raw) {
            Verdict::Allowed
        } else {
            Verdict::Refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsipstack::dialog::authenticate::compute_digest;
    use rsipstack::sip::Method;
    use rsipstack::sip::headers::auth::Algorithm;

    fn invite(authorization: Option<String>) -> Request {
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let text = format!(
            "INVITE sip:srs@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             From: <sip:src@x>;tag=1\r\nTo: <sip:srs@y>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n{auth}\
             Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_str()).expect("a request")
    }

    /// What a client computes for a challenge, as RFC 2617 has it (qop=auth, MD5).
    fn answer(user: &str, password: &str, nonce: &str) -> String {
        let uri = "sip:srs@192.0.2.9";
        let response = compute_digest(
            user,
            password,
            REALM,
            nonce,
            &Method::Invite,
            uri,
            Algorithm::Md5,
            Some(&rsipstack::sip::headers::auth::AuthQop::Auth {
                cnonce: "abc".into(),
                nc: 1,
            }),
        );
        format!(
            "Digest username=\"{user}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm=MD5, qop=auth, cnonce=\"abc\", nc=00000001"
        )
    }

    fn nonce_of(verdict: Verdict) -> String {
        let Verdict::Challenge(headers) = verdict else {
            panic!("a challenge, not {verdict:?}");
        };
        let value = headers[0].value().to_owned();
        value
            .split("nonce=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a nonce")
            .to_owned()
    }

    #[test]
    fn a_client_answers_the_challenge_and_only_the_right_password_passes() {
        let credentials = Credentials::new("sbc".into(), "s3cret".into());
        let now = 1_800_000_000;
        let nonce = nonce_of(credentials.check(&invite(None), now));
        let right = invite(Some(answer("sbc", "s3cret", &nonce)));
        assert!(matches!(
            credentials.check(&right, now + 10),
            Verdict::Allowed
        ));
        let wrong = invite(Some(answer("sbc", "guess", &nonce)));
        assert!(matches!(
            credentials.check(&wrong, now + 10),
            Verdict::Refused
        ));
        let stranger = invite(Some(answer("other", "s3cret", &nonce)));
        assert!(matches!(
            credentials.check(&stranger, now),
            Verdict::Refused
        ));
        // An old nonce is asked again, a forged one too.
        assert!(matches!(
            credentials.check(&right, now + NONCE_LIFETIME_SECS + 1),
            Verdict::Challenge(_)
        ));
        let forged = invite(Some(answer("sbc", "s3cret", &format!("{now:x}.00ff"))));
        assert!(matches!(
            credentials.check(&forged, now),
            Verdict::Challenge(_)
        ));
        let garbage = invite(Some("Digest nonsense".into()));
        assert!(matches!(credentials.check(&garbage, now), Verdict::Refused));
    }
}
