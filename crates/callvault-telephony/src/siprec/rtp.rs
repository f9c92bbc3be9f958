//! RTP packets (RFC 3550) as a recording server reads them: the header fields that place the
//! payload in time, and the payload. Every length is checked before it is used, so a short or
//! lying packet is an error, never a panic.

use super::SiprecError;

/// One RTP packet, borrowed from the datagram it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub payload_type: u8,
    pub marker: bool,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

const FIXED_HEADER: usize = 12;

/// Reads an RTP packet. RTCP sent to the same port (payload types 72 to 76 with the marker
/// bit, RFC 5761) is refused like any other packet that is not audio.
pub fn parse_rtp(datagram: &[u8]) -> Result<RtpPacket<'_>, SiprecError> {
    let bad = SiprecError::Rtp;
    if datagram.len() < FIXED_HEADER {
        return Err(bad("shorter than an RTP header"));
    }
    let first = datagram[0];
    if first >> 6 != 2 {
        return Err(bad("not RTP version 2"));
    }
    let padded = first & 0x20 != 0;
    let has_extension = first & 0x10 != 0;
    let csrc_count = usize::from(first & 0x0f);
    let marker = datagram[1] & 0x80 != 0;
    let payload_type = datagram[1] & 0x7f;
    // RTCP's packet types 200 to 204 read as payload types 72 to 76 with the marker set.
    if (200..=204).contains(&datagram[1]) {
        return Err(bad("an RTCP packet"));
    }
    let sequence = u16::from_be_bytes([datagram[2], datagram[3]]);
    let timestamp = u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]);
    let ssrc = u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]);

    let mut start = FIXED_HEADER + 4 * csrc_count;
    if has_extension {
        let words = datagram
            .get(start + 2..start + 4)
            .ok_or(bad("header extension cut short"))?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    let mut end = datagram.len();
    if padded {
        let pad = usize::from(*datagram.last().unwrap_or(&0));
        if pad == 0 {
            return Err(bad("padding of zero bytes"));
        }
        end = end
            .checked_sub(pad)
            .ok_or(bad("more padding than packet"))?;
    }
    if start > end {
        return Err(bad("header longer than the packet"));
    }
    Ok(RtpPacket {
        payload_type,
        marker,
        sequence,
        timestamp,
        ssrc,
        payload: &datagram[start..end],
    })
}

/// Writes an RTP packet with no CSRCs, extension or padding: what a test sender needs.
#[must_use]
pub fn write_rtp(packet: &RtpPacket<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED_HEADER + packet.payload.len());
    out.push(0x80);
    out.push(packet.payload_type & 0x7f | if packet.marker { 0x80 } else { 0 });
    out.extend_from_slice(&packet.sequence.to_be_bytes());
    out.extend_from_slice(&packet.timestamp.to_be_bytes());
    out.extend_from_slice(&packet.ssrc.to_be_bytes());
    out.extend_from_slice(packet.payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(payload: &[u8]) -> Vec<u8> {
        write_rtp(&RtpPacket {
            payload_type: 0,
            marker: false,
            sequence: 65535,
            timestamp: u32::MAX - 80,
            ssrc: 0xdead_beef,
            payload,
        })
    }

    #[test]
    fn a_written_packet_reads_back() {
        let bytes = packet(&[1, 2, 3]);
        let read = parse_rtp(&bytes).expect("reads");
        assert_eq!(
            (read.sequence, read.timestamp, read.ssrc),
            (65535, u32::MAX - 80, 0xdead_beef)
        );
        assert_eq!(read.payload, &[1, 2, 3]);
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let mut bytes = vec![0x80 | 0x20 | 0x10 | 1, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        bytes.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        bytes.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // one extension word
        bytes.extend_from_slice(&[0xd5, 0xd5]); // the payload
        bytes.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let read = parse_rtp(&bytes).expect("reads");
        assert_eq!(read.payload_type, 8);
        assert_eq!(read.payload, &[0xd5, 0xd5]);
    }

    #[test]
    fn lying_lengths_are_errors_not_panics() {
        // An extension that claims a word the packet does not have.
        let bad_extension = [
            0x90, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xa0, 1, 2, 3, 4, 0xbe, 0xde, 0, 1, 0x1f, 0, 0, 0,
        ];
        assert!(parse_rtp(&bad_extension[..20]).is_err());
        // Padding longer than the packet, CSRCs beyond its end, and every truncation.
        let mut padded = packet(&[1]);
        padded[0] |= 0x20;
        *padded.last_mut().expect("a payload byte") = 200;
        assert!(parse_rtp(&padded).is_err());
        let mut csrcs = packet(&[]);
        csrcs[0] |= 0x0f;
        assert!(parse_rtp(&csrcs).is_err());
        for cut in 0..bad_extension.len() {
            let _ = parse_rtp(&bad_extension[..cut]);
        }
        assert!(parse_rtp(&[0x40; 20]).is_err(), "version 1");
    }

    #[test]
    fn rtcp_on_the_rtp_port_is_not_audio() {
        let mut sender_report = vec![0x80, 200, 0, 6];
        sender_report.extend_from_slice(&[0; 24]);
        assert!(parse_rtp(&sender_report).is_err());
    }
}
