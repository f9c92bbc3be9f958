//! RTP sockets, one per recorded stream, on even ports from the configured range (RTCP, which
//! we do not need, would take the odd one above).

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use tokio::net::UdpSocket;

#[derive(Debug)]
pub struct RtpPorts {
    ip: IpAddr,
    range: RangeInclusive<u16>,
    next: Mutex<u16>,
}

impl RtpPorts {
    #[must_use]
    pub fn new(ip: IpAddr, range: RangeInclusive<u16>) -> Self {
        let first = *range.start() + *range.start() % 2;
        Self {
            ip,
            range,
            next: Mutex::new(first),
        }
    }

    /// A socket on the next free even port, going round the range once.
    pub async fn bind(&self) -> std::io::Result<UdpSocket> {
        let (start, end) = (*self.range.start(), *self.range.end());
        let even_ports = usize::from((end.saturating_sub(start)) / 2 + 1);
        for _ in 0..even_ports {
            let port = {
                let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
                let port = *next;
                *next = if port.saturating_add(2) > end {
                    start + start % 2
                } else {
                    port + 2
                };
                port
            };
            if let Ok(socket) = UdpSocket::bind(SocketAddr::new(self.ip, port)).await {
                return Ok(socket);
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("no free RTP port in {start}-{end}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ports_are_even_from_the_range_and_a_taken_one_is_skipped() {
        let ports = RtpPorts::new("127.0.0.1".parse().expect("ip"), 41001..=41009);
        let first = ports.bind().await.expect("binds");
        let second = ports.bind().await.expect("binds");
        let (a, b) = (
            first.local_addr().expect("addr").port(),
            second.local_addr().expect("addr").port(),
        );
        assert!(a % 2 == 0 && b % 2 == 0 && a != b, "{a} {b}");
        assert!((41002..=41008).contains(&a) && (41002..=41008).contains(&b));
    }
}
