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
        // A range of our own, starting at an even port someone else has taken.
        let taken = (0..100)
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").expect("binds"))
            .find(|s| {
                s.local_addr()
                    .is_ok_and(|a| a.port() % 2 == 0 && a.port() < 65000)
            })
            .expect("an even ephemeral port");
        let start = taken.local_addr().expect("addr").port();
        let ports = RtpPorts::new("127.0.0.1".parse().expect("ip"), start..=start + 4);
        let port = |s: &UdpSocket| s.local_addr().expect("addr").port();
        let first = ports.bind().await.expect("binds");
        assert_eq!(port(&first), start + 2, "the taken port is skipped");
        let second = ports.bind().await.expect("binds");
        assert_eq!(port(&second), start + 4);
        drop(taken);
        let third = ports.bind().await.expect("binds");
        assert_eq!(
            port(&third),
            start,
            "round the range again, to the port now free"
        );
    }
}
