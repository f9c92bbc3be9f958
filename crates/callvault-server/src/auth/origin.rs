//! Whether a request a browser sent comes from callvault's own pages. A session cookie goes
//! with every request to this site, whichever site made it; so a change made with the cookie
//! must come with an `Origin` that is callvault's public URL (or `Sec-Fetch-Site:
//! same-origin`). The public URL is what counts, not `Host`: a proxy may rewrite `Host`, and
//! whoever sends the request chooses it.

use axum::http::{HeaderMap, Uri, header};

/// An origin as compared: scheme, host and port, lower case, the port always spelled out.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn parse(text: &str) -> Option<Self> {
        let uri: Uri = text.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let port = uri.port_u16().or(match scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        })?;
        Some(Self {
            host: uri.host()?.to_ascii_lowercase(),
            scheme,
            port,
        })
    }

    fn is_loopback(&self) -> bool {
        matches!(
            self.host.as_str(),
            "localhost" | "[::1]" | "::1" | "127.0.0.1"
        )
    }

    /// A public URL on 0.0.0.0 or [::] names no address a browser can open.
    fn is_unspecified(&self) -> bool {
        matches!(self.host.as_str(), "0.0.0.0" | "[::]" | "::")
    }

    fn same_as(&self, other: &Self) -> bool {
        self.scheme == other.scheme
            && self.port == other.port
            // The same machine under another loopback name (the default public URL is
            // 127.0.0.1, people type localhost).
            && (self.host == other.host || self.is_loopback() && other.is_loopback())
    }
}

/// Whether the request comes from callvault's pages at `public_url`. Without `Origin` nor
/// `Sec-Fetch-Site` (not a browser, or a very old one) it is `required` that decides.
pub fn from_this_site(headers: &HeaderMap, public_url: &str, required: bool) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(origin) = text(header::ORIGIN) {
        let (Some(origin), Some(public)) = (Origin::parse(origin), Origin::parse(public_url))
        else {
            // `Origin: null` (a sandboxed frame, a redirect from elsewhere) or a bad one.
            return false;
        };
        if public.is_unspecified() {
            // No public URL was set and the server listens on every address: only `Host`
            // can say which one the browser used.
            let host =
                text(header::HOST).and_then(|h| Origin::parse(&format!("{}://{h}", origin.scheme)));
            return host.is_some_and(|host| origin.same_as(&host));
        }
        return origin.same_as(&public);
    }
    match text(header::HeaderName::from_static("sec-fetch-site")) {
        Some(site) => site.eq_ignore_ascii_case("same-origin"),
        None => !required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("a header value"));
        }
        map
    }

    #[test]
    fn only_the_public_url_is_this_site() {
        let public = "https://calls.example.com";
        for (pairs, expected) in [
            (vec![("origin", "https://calls.example.com")], true),
            (vec![("origin", "https://CALLS.example.com:443")], true),
            (vec![("origin", "http://calls.example.com")], false),
            (
                vec![("origin", "https://calls.example.com.evil.example")],
                false,
            ),
            (vec![("origin", "https://evil.example")], false),
            // A forged Host that matches the forged Origin changes nothing.
            (
                vec![("origin", "https://evil.example"), ("host", "evil.example")],
                false,
            ),
            // A proxy that rewrote Host changes nothing either.
            (
                vec![
                    ("origin", "https://calls.example.com"),
                    ("host", "10.0.0.5:8080"),
                ],
                true,
            ),
            (vec![("origin", "null")], false),
            (vec![("sec-fetch-site", "same-origin")], true),
            (vec![("sec-fetch-site", "cross-site")], false),
            (vec![("sec-fetch-site", "same-site")], false),
            (vec![], false),
        ] {
            assert_eq!(
                from_this_site(&headers(&pairs), public, true),
                expected,
                "{pairs:?}"
            );
        }
        assert!(from_this_site(&headers(&[]), public, false));
    }

    #[test]
    fn loopback_names_are_one_machine_and_any_address_asks_host() {
        let loopback = "http://127.0.0.1:8080";
        assert!(from_this_site(
            &headers(&[("origin", "http://localhost:8080")]),
            loopback,
            true
        ));
        assert!(!from_this_site(
            &headers(&[("origin", "http://localhost:9090")]),
            loopback,
            true
        ));
        let any = "http://0.0.0.0:8080";
        let lan = [
            ("origin", "http://192.168.1.20:8080"),
            ("host", "192.168.1.20:8080"),
        ];
        assert!(from_this_site(&headers(&lan), any, true));
        let other = [
            ("origin", "http://evil.example"),
            ("host", "192.168.1.20:8080"),
        ];
        assert!(!from_this_site(&headers(&other), any, true));
    }
}
