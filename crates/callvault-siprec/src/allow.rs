//! Which recording clients may record: an address allow-list, checked against the address each
//! packet came from (never what a sender writes about itself).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_networks_may_record() {
        let list = AllowList::new(vec!["10.0.0.0/8".parse().expect("net")]);
        assert!(list.allows("10.1.2.3".parse().expect("ip")));
        assert!(list.allows("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(!list.allows("192.0.2.1".parse().expect("ip")));
        assert!(!AllowList::default().allows("127.0.0.1".parse().expect("ip")));
    }
}
