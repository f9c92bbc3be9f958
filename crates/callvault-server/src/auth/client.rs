//! The address a request comes from, for throttling and the audit log: the connection's peer,
//! or, when the peer is one of our proxies (`--trusted-proxies`), the address the proxies say
//! they forwarded for. `X-Forwarded-For` is read from the right, skipping our own proxies:
//! everything left of the first address they did not add is whatever the client wrote.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::state::AppState;

/// The client's address, when the request came over a connection (always, but in tests that
/// call the router directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(Self(client_address(
            &parts.headers,
            peer,
            &state.settings.trusted_proxies,
        )))
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// See the module's documentation.
#[must_use]
pub fn client_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = canonical(peer?.ip());
    let ours = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !ours(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .map(canonical)
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !ours(ip))
        .or(forwarded.first())
        .copied()
        .or(Some(peer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", value.parse().expect("header"));
        h
    }

    #[test]
    fn the_forwarded_address_counts_only_behind_our_own_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let via_proxy: SocketAddr = "10.0.0.2:5000".parse().expect("addr");
        let direct: SocketAddr = "198.51.100.9:5000".parse().expect("addr");
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        // Straight from the internet: the header is the client's word, ignored.
        assert_eq!(
            client_address(&forwarded("203.0.113.5"), Some(direct), &proxies),
            ip("198.51.100.9")
        );
        // Through our proxy: the address it added.
        assert_eq!(
            client_address(&forwarded("203.0.113.5"), Some(via_proxy), &proxies),
            ip("203.0.113.5")
        );
        // A client that writes its own header cannot hide behind it.
        assert_eq!(
            client_address(
                &forwarded("1.2.3.4, 203.0.113.5, 10.0.0.7"),
                Some(via_proxy),
                &proxies
            ),
            ip("203.0.113.5")
        );
        // Without proxies configured, the peer.
        assert_eq!(
            client_address(&forwarded("203.0.113.5"), Some(via_proxy), &[]),
            ip("10.0.0.2")
        );
        let mapped: SocketAddr = "[::ffff:198.51.100.9]:5000".parse().expect("addr");
        assert_eq!(
            client_address(&HeaderMap::new(), Some(mapped), &[]),
            ip("198.51.100.9")
        );
    }
}
