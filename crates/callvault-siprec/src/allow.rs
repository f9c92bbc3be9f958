//! Which recording clients may record: an address allow-list. A request's source is read from
//! its top Via, where the transport has already written the address the packet came from
//! (`received`) whenever it differs from what the sender claimed.

use std::net::IpAddr;

use ipnet::IpNet;

/// The networks recording clients may send from. Empty: no one may record.
#[derive(Debug, Clone, Default)]
pub struct AllowList(Vec<IpNet>);

impl AllowList {
    #[must_use]
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    #[must_use]
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The address a request came from, from its top Via's value (`SIP/2.0/UDP host:port;…`):
/// `received` when present, else the host, when it is an address.
#[must_use]
pub fn via_source(via: &str) -> Option<IpAddr> {
    let via = via.split(',').next()?;
    let mut parts = via.split(';');
    let sent_by = parts.next()?.split_whitespace().nth(1)?;
    for param in parts {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("received")
        {
            return value.trim().trim_matches(['[', ']']).parse().ok();
        }
    }
    let host = match sent_by.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => sent_by.rsplit_once(':').map_or(sent_by, |(host, _)| host),
    };
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_where_the_packet_came_from() {
        assert_eq!(
            via_source("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1"),
            "10.0.0.5".parse().ok()
        );
        assert_eq!(
            via_source("SIP/2.0/TCP pbx.example:5060;branch=z9hG4bK1;received=192.0.2.7"),
            "192.0.2.7".parse().ok()
        );
        assert_eq!(
            via_source("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1"),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(via_source("SIP/2.0/UDP pbx.example;branch=x"), None);
        assert_eq!(via_source("garbage"), None);
    }

    #[test]
    fn only_listed_networks_may_record() {
        let list = AllowList::new(vec!["10.0.0.0/8".parse().expect("net")]);
        assert!(list.allows("10.1.2.3".parse().expect("ip")));
        assert!(list.allows("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(!list.allows("192.0.2.1".parse().expect("ip")));
        assert!(!AllowList::default().allows("127.0.0.1".parse().expect("ip")));
    }
}
