//! Request validation as Twilio documents it (and its official libraries do it): the full URL
//! Twilio requested, then every POST parameter's name and value, sorted by name (and by value
//! when a name repeats; repeats of the same pair count once), concatenated without separators,
//! signed with HMAC-SHA1 keyed by the auth token, Base64, in `X-Twilio-Signature`. A request
//! may ask for HMAC-SHA256 instead in `X-Twilio-Webhooks-Signature-Settings`. JSON bodies are
//! signed through the URL, which then carries the body's hex SHA-256 as `bodySHA256`. Because
//! Twilio is not consistent about default ports, the URL is tried with and without one.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";
pub const SIGNATURE_SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
}

impl Algorithm {
    /// The algorithm a request asks for in `X-Twilio-Webhooks-Signature-Settings`
    /// (`key=…,algorithm=HMAC_SHA256`); without it, HMAC-SHA1. `None` for one we do not know,
    /// which fails validation.
    #[must_use]
    pub fn from_settings_header(header: Option<&str>) -> Option<Self> {
        let named = header.unwrap_or_default().split(',').find_map(|part| {
            let (name, value) = part.split_once('=')?;
            (name.trim() == "algorithm" && !value.trim().is_empty())
                .then(|| value.trim().to_ascii_uppercase())
        });
        match named.as_deref() {
            None | Some("HMAC_SHA1") => Some(Self::HmacSha1),
            Some("HMAC_SHA256") => Some(Self::HmacSha256),
            Some(_) => None,
        }
    }
}

/// The string that is signed: the URL, then each parameter name and value.
fn signed_text(url: &str, params: &[(String, String)]) -> String {
    let mut by_name: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        by_name.entry(name).or_default().insert(value);
    }
    let mut text = url.to_owned();
    for (name, values) in by_name {
        for value in values {
            text.push_str(name);
            text.push_str(value);
        }
    }
    text
}

fn mac_bytes(secret: &str, text: &str, algorithm: Algorithm) -> Vec<u8> {
    // HMAC takes keys of any length, so creating it cannot fail.
    match algorithm {
        Algorithm::HmacSha1 => {
            let mut mac =
                Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
            mac.update(text.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::HmacSha256 => {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key");
            mac.update(text.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// The signature Twilio would send for this request.
#[must_use]
pub fn sign(secret: &str, url: &str, params: &[(String, String)], algorithm: Algorithm) -> String {
    STANDARD.encode(mac_bytes(secret, &signed_text(url, params), algorithm))
}

/// Compares in time that does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The URL with its scheme's default port written out, and without any port.
fn port_variants(url: &str) -> (String, String) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), url.to_owned());
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rsplit_once(':') {
        // A colon inside brackets belongs to an IPv6 address, not a port.
        Some((host, port)) if !port.contains(']') && port.bytes().all(|b| b.is_ascii_digit()) => {
            return (url.to_owned(), format!("{scheme}://{host}{tail}"));
        }
        _ => authority,
    };
    let port = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    (format!("{scheme}://{host}:{port}{tail}"), url.to_owned())
}

/// The value of `bodySHA256` in a URL's query, if any.
fn body_hash_param(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next().unwrap_or_default();
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "bodySHA256")
        .map(|(_, v)| v.into_owned())
}

/// What a request to validate carries.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// `application/x-www-form-urlencoded`, decoded into name/value pairs.
    Form(&'a [(String, String)]),
    /// Any other body (JSON), signed through `bodySHA256` in the URL.
    Raw(&'a [u8]),
}

/// Whether `signature` is what Twilio would send for a request to `url` with `body`.
#[must_use]
pub fn validate(
    secret: &str,
    url: &str,
    body: Body<'_>,
    signature: &str,
    algorithm: Algorithm,
) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    let params: &[(String, String)] = match body {
        Body::Form(params) => params,
        Body::Raw(bytes) => {
            let Some(expected) = body_hash_param(url) else {
                return false;
            };
            if !same(
                hex::encode(Sha256::digest(bytes)).as_bytes(),
                expected.as_bytes(),
            ) {
                return false;
            }
            &[]
        }
    };
    let (with_port, without_port) = port_variants(url);
    // Both are checked whatever the first gives, so timing does not tell which matched.
    let a = same(
        &mac_bytes(secret, &signed_text(&without_port, params), algorithm),
        &given,
    );
    let b = same(
        &mac_bytes(secret, &signed_text(&with_port, params), algorithm),
        &given,
    );
    a | b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    // The example in Twilio's documentation of request validation.
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    fn doc_params() -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn the_documented_example() {
        let sig = sign(TOKEN, URL, &doc_params(), Algorithm::HmacSha1);
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(validate(
            TOKEN,
            URL,
            Body::Form(&doc_params()),
            &sig,
            Algorithm::HmacSha1
        ));
    }

    #[test]
    fn anything_changed_fails() {
        let sig = sign(TOKEN, URL, &doc_params(), Algorithm::HmacSha1);
        let mut tampered = doc_params();
        tampered[2].1 = "1235".into();
        assert!(!validate(
            TOKEN,
            URL,
            Body::Form(&tampered),
            &sig,
            Algorithm::HmacSha1
        ));
        assert!(!validate(
            "54321",
            URL,
            Body::Form(&doc_params()),
            &sig,
            Algorithm::HmacSha1
        ));
        assert!(!validate(
            TOKEN,
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            Body::Form(&doc_params()),
            &sig,
            Algorithm::HmacSha1
        ));
        assert!(!validate(
            TOKEN,
            URL,
            Body::Form(&doc_params()),
            &sig,
            Algorithm::HmacSha256
        ));
        assert!(!validate(
            TOKEN,
            URL,
            Body::Form(&doc_params()),
            "not base64!",
            Algorithm::HmacSha1
        ));
        assert!(!validate(
            TOKEN,
            URL,
            Body::Form(&doc_params()),
            "",
            Algorithm::HmacSha1
        ));
    }

    #[test]
    fn default_ports_may_be_written_or_not() {
        let with = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let sig = sign(TOKEN, with, &doc_params(), Algorithm::HmacSha1);
        assert!(validate(
            TOKEN,
            URL,
            Body::Form(&doc_params()),
            &sig,
            Algorithm::HmacSha1
        ));
        let sig = sign(TOKEN, URL, &doc_params(), Algorithm::HmacSha1);
        assert!(validate(
            TOKEN,
            with,
            Body::Form(&doc_params()),
            &sig,
            Algorithm::HmacSha1
        ));
        assert_eq!(port_variants("http://[::1]:8080/x").1, "http://[::1]/x");
        assert_eq!(port_variants("http://[::1]/x").0, "http://[::1]:80/x");
    }

    #[test]
    fn repeated_names_sort_by_value_and_repeated_pairs_count_once() {
        let a = p(&[("b", "2"), ("a", "y"), ("a", "x"), ("a", "x")]);
        assert_eq!(signed_text("u", &a), "uaxayb2");
    }

    #[test]
    fn json_bodies_are_signed_through_their_hash() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = hex::encode(Sha256::digest(body));
        let url = format!("https://mycompany.com/myapp.php?bodySHA256={hash}");
        let sig = sign(TOKEN, &url, &[], Algorithm::HmacSha1);
        assert!(validate(
            TOKEN,
            &url,
            Body::Raw(body),
            &sig,
            Algorithm::HmacSha1
        ));
        assert!(
            !validate(TOKEN, &url, Body::Raw(b"{}"), &sig, Algorithm::HmacSha1),
            "body changed"
        );
        assert!(
            !validate(
                TOKEN,
                "https://mycompany.com/myapp.php",
                Body::Raw(body),
                &sig,
                Algorithm::HmacSha1
            ),
            "no hash"
        );
    }

    #[test]
    fn the_settings_header_chooses_the_algorithm() {
        assert_eq!(
            Algorithm::from_settings_header(None),
            Some(Algorithm::HmacSha1)
        );
        assert_eq!(
            Algorithm::from_settings_header(Some("key=k1,algorithm=HMAC_SHA256")),
            Some(Algorithm::HmacSha256)
        );
        assert_eq!(
            Algorithm::from_settings_header(Some("key=k1")),
            Some(Algorithm::HmacSha1)
        );
        assert_eq!(Algorithm::from_settings_header(Some("algorithm=MD5")), None);
    }
}
