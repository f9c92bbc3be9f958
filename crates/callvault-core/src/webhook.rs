//! Outgoing webhooks: the events a business can subscribe a URL to, how each delivery is
//! signed (so the receiver knows it came from this installation and was not replayed), and
//! which addresses a delivery may reach.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum WebhookEvent {
    /// A call's recording was stored (the audio itself is never sent, only links to it).
    #[serde(rename = "recording.ready")]
    RecordingReady,
    /// A recording's transcript is done.
    #[serde(rename = "transcript.ready")]
    TranscriptReady,
    /// A call ended (answered or not).
    #[serde(rename = "call.completed")]
    CallCompleted,
    /// A recording was deleted (with its conversation, by the retention policy, or replaced).
    #[serde(rename = "recording.deleted")]
    RecordingDeleted,
}

impl WebhookEvent {
    pub const ALL: [Self; 4] = [
        Self::RecordingReady,
        Self::TranscriptReady,
        Self::CallCompleted,
        Self::RecordingDeleted,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecordingReady => "recording.ready",
            Self::TranscriptReady => "transcript.ready",
            Self::CallCompleted => "call.completed",
            Self::RecordingDeleted => "recording.deleted",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// The header a delivery carries.
pub const SIGNATURE_HEADER: &str = "Callvault-Signature";

/// `Callvault-Signature`'s value for `body` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed by the secret>`.
#[must_use]
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body))
    )
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// What a receiver does: the header is well formed, names a time within `tolerance` seconds
/// of `now`, and one of its `v1` signatures is this body's (compared in constant time).
#[must_use]
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if now.abs_diff(t) > tolerance.unsigned_abs() {
        return false;
    }
    signatures.iter().any(|s| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(s).is_ok()
    })
}

/// Whether a delivery may connect to `ip` without `--webhook-allow-private`: not loopback,
/// link-local, private, shared (carrier-grade NAT), unspecified, multicast or broadcast, nor
/// an IPv4 address written as IPv6.
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                is_public(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)))
            };
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return embedded(s[6], s[7]);
            }
            if s[0] == 0x2002 {
                return embedded(s[1], s[2]);
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || s[..6] == [0; 6] // IPv4-compatible ::a.b.c.d
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0) // site-local
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let body = br#"{"event":"recording.ready"}"#;
        let header = signature("whsec_test", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify("whsec_test", &header, body, 1_700_000_100, 300));
        assert!(!verify("whsec_other", &header, body, 1_700_000_100, 300));
        assert!(!verify("whsec_test", &header, b"{}", 1_700_000_100, 300));
        assert!(
            !verify("whsec_test", &header, body, 1_700_001_000, 300),
            "too old"
        );
        assert!(!verify("whsec_test", "v1=00", body, 1_700_000_000, 300));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // Computed independently: printf '%s' '1.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature("key", 1, b"{}"),
            "t=1,v1=1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }

    #[test]
    fn private_and_local_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::127.0.0.1",
            "fec0::1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(ip.parse().expect("an address")), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().expect("an address")), "{ip}");
        }
    }

    #[test]
    fn events_read_back_from_their_names() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.as_str()), Some(e));
            assert_eq!(
                serde_json::to_string(&e).ok(),
                Some(format!("\"{}\"", e.as_str()))
            );
        }
    }
}
