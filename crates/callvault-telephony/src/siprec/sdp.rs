//! The SDP of a recording session (RFC 4566 as RFC 7866 §8 uses it): the recording client
//! offers one `m=audio` per stream, each `sendonly` with an `a=label` the metadata refers to;
//! the recording server answers each with `recvonly`, the codec it chose and the port it
//! listens on (or port 0 for a stream it declines). Only what recording needs is read; lines
//! it does not know are skipped.

use super::SiprecError;

/// Codecs the recording server takes, by their RTP names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
    G722,
}

impl Codec {
    /// The static payload type (RFC 3551) and its `a=rtpmap` name and clock rate.
    #[must_use]
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
            Self::G722 => 9,
        }
    }

    fn rtpmap(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU/8000",
            Self::Pcma => "PCMA/8000",
            // G.722's RTP clock is 8000 though it samples at 16 kHz (RFC 3551 §4.5.2).
            Self::G722 => "G722/8000",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        let name = name.split('/').next().unwrap_or_default();
        match name.to_ascii_uppercase().as_str() {
            "PCMU" => Some(Self::Pcmu),
            "PCMA" => Some(Self::Pcma),
            "G722" => Some(Self::G722),
            _ => None,
        }
    }

    fn from_static(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(Self::Pcmu),
            8 => Some(Self::Pcma),
            9 => Some(Self::G722),
            _ => None,
        }
    }
}

/// One offered media line (every one is answered, RFC 3264: audio we can record is taken,
/// anything else declined with port 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedStream {
    /// `audio`, `video`, …
    pub media: String,
    /// The transport protocol, echoed in the answer.
    pub proto: String,
    /// The first format offered, for the answer of a declined line.
    pub first_format: String,
    pub label: Option<String>,
    /// Where the client sends from (its connection address and port), if it said.
    pub address: Option<String>,
    pub port: u16,
    /// The codec we will take, with the payload type the client uses for it; `None` when the
    /// line is not plain RTP audio in a codec we read (it is declined). Encrypted RTP
    /// (`RTP/SAVP`) is declined: its payload cannot be decoded without keys.
    pub codec: Option<(Codec, u8)>,
}

/// A media line as read, before its codec is chosen.
struct MediaLine {
    stream: OfferedStream,
    /// Payload types in the client's order of preference.
    formats: Vec<u8>,
    rtpmaps: Vec<(u8, Codec)>,
    audio: bool,
}

/// Media lines read at most.
const MAX_STREAMS: usize = 8;

/// Reads the offer's media lines, in order.
pub fn parse_offer(sdp: &[u8]) -> Result<Vec<OfferedStream>, SiprecError> {
    let text = std::str::from_utf8(sdp).map_err(|_| SiprecError::Sdp("not UTF-8"))?;
    let mut session_address: Option<String> = None;
    let mut streams: Vec<MediaLine> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "c" => {
                let address = value
                    .split_whitespace()
                    .nth(2)
                    .map(|a| a.split('/').next().unwrap_or(a).to_owned());
                match streams.last_mut() {
                    Some(line) => line.stream.address = address,
                    None => session_address = address,
                }
            }
            "m" => {
                if streams.len() >= MAX_STREAMS {
                    return Err(SiprecError::Sdp("too many media lines"));
                }
                let mut fields = value.split_whitespace();
                let media = fields.next().unwrap_or_default();
                let port = fields
                    .next()
                    .and_then(|p| p.split('/').next()?.parse::<u16>().ok())
                    .ok_or(SiprecError::Sdp("a media line without a port"))?;
                let proto = fields.next().unwrap_or("RTP/AVP").to_owned();
                let tokens: Vec<&str> = fields.collect();
                let formats: Vec<u8> = tokens.iter().filter_map(|f| f.parse().ok()).collect();
                let plain_rtp =
                    proto.eq_ignore_ascii_case("RTP/AVP") || proto.eq_ignore_ascii_case("RTP/AVPF");
                streams.push(MediaLine {
                    stream: OfferedStream {
                        media: media.to_owned(),
                        first_format: tokens.first().map_or("0", |f| *f).to_owned(),
                        proto,
                        label: None,
                        address: session_address.clone(),
                        port,
                        codec: None,
                    },
                    formats,
                    rtpmaps: Vec::new(),
                    audio: media.eq_ignore_ascii_case("audio") && plain_rtp,
                });
            }
            "a" => {
                let Some(line) = streams.last_mut() else {
                    continue;
                };
                if let Some(label) = value.strip_prefix("label:") {
                    line.stream.label = Some(label.trim().to_owned());
                } else if let Some(map) = value.strip_prefix("rtpmap:") {
                    let mut parts = map.split_whitespace();
                    if let (Some(pt), Some(name)) = (parts.next(), parts.next())
                        && let (Ok(pt), Some(codec)) = (pt.parse::<u8>(), Codec::from_name(name))
                    {
                        line.rtpmaps.push((pt, codec));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(streams
        .into_iter()
        .map(|line| {
            let MediaLine {
                stream: mut s,
                formats,
                rtpmaps,
                audio,
            } = line;
            if !audio {
                return s;
            }
            // The client's order is its preference: the first format we read wins.
            s.codec = formats.iter().find_map(|&pt| {
                rtpmaps
                    .iter()
                    .find(|(p, _)| *p == pt)
                    .map(|(_, c)| (*c, pt))
                    .or_else(|| {
                        (pt < 96)
                            .then(|| Codec::from_static(pt))
                            .flatten()
                            .map(|c| (c, pt))
                    })
            });
            s
        })
        .collect())
}

/// The answer: each offered stream `recvonly` on its port from `ports` (0 where declined),
/// with the codec chosen, from `address`.
#[must_use]
pub fn answer(offer: &[OfferedStream], address: &str, ports: &[u16], session_id: u64) -> String {
    let family = if address.contains(':') { "IP6" } else { "IP4" };
    let mut sdp = format!(
        "v=0\r\no=callvault {session_id} {session_id} IN {family} {address}\r\ns=callvault recording\r\nc=IN {family} {address}\r\nt=0 0\r\n"
    );
    for (i, stream) in offer.iter().enumerate() {
        let port = ports.get(i).copied().unwrap_or(0);
        let proto = &stream.proto;
        match stream.codec.filter(|_| port != 0) {
            Some((codec, pt)) => {
                sdp.push_str(&format!(
                    "m=audio {port} {proto} {pt}\r\na=rtpmap:{pt} {}\r\n",
                    codec.rtpmap()
                ));
            }
            None => sdp.push_str(&format!(
                "m={} 0 {proto} {}\r\n",
                stream.media, stream.first_format
            )),
        }
        if let Some(label) = &stream.label {
            sdp.push_str(&format!("a=label:{label}\r\n"));
        }
        sdp.push_str("a=recvonly\r\n");
    }
    sdp
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=SBC 1 1 IN IP4 192.0.2.10\r\ns=SIPREC\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 9 0 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=label:caller\r\na=sendonly\r\n\
m=audio 40002 RTP/AVP 8\r\nc=IN IP4 192.0.2.11\r\na=label:callee\r\na=sendonly\r\n\
m=video 40004 RTP/AVP 96\r\na=label:cam\r\n\
m=audio 40006 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=label:mixed\r\na=sendonly\r\n";

    #[test]
    fn each_audio_stream_is_read_with_its_label_address_and_codec() {
        let offer = parse_offer(OFFER.as_bytes()).expect("reads");
        assert_eq!(offer.len(), 4);
        assert_eq!(offer[2].codec, None, "video is not recorded");
        assert_eq!(offer[0].label.as_deref(), Some("caller"));
        assert_eq!(offer[0].codec, Some((Codec::G722, 9)));
        assert_eq!(offer[0].address.as_deref(), Some("192.0.2.10"));
        assert_eq!(
            offer[1].codec,
            Some((Codec::Pcma, 8)),
            "a static type needs no rtpmap"
        );
        assert_eq!(offer[1].address.as_deref(), Some("192.0.2.11"));
        assert_eq!(offer[3].codec, None, "G.729 is not taken");
        let sdp = answer(&offer, "198.51.100.5", &[30000, 30002, 0, 30004], 7);
        assert!(sdp.contains("m=audio 30000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\na=label:caller\r\na=recvonly\r\n"), "{sdp}");
        assert!(sdp.contains("m=audio 30002 RTP/AVP 8\r\n"), "{sdp}");
        assert!(
            sdp.contains("m=audio 0 RTP/AVP 18\r\na=label:mixed\r\na=recvonly\r\n"),
            "declined: {sdp}"
        );
        assert!(sdp.contains("m=video 0 RTP/AVP 96\r\n"), "{sdp}");
        assert_eq!(
            sdp.matches("m=").count(),
            4,
            "one answer line per offered line, in order (RFC 3264)"
        );
    }

    #[test]
    fn encrypted_rtp_is_declined_with_its_own_protocol() {
        let offer = parse_offer(
            b"v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n",
        )
        .expect("reads");
        assert_eq!(offer[0].codec, None);
        let sdp = answer(&offer, "198.51.100.5", &[0], 1);
        assert!(sdp.contains("m=audio 0 RTP/SAVP 0\r\n"), "{sdp}");
    }

    #[test]
    fn offers_that_cannot_be_read_are_refused_without_panicking() {
        assert!(parse_offer(b"m=audio x RTP/AVP 0").is_err());
        assert!(parse_offer(b"\xff\xfe").is_err());
        let many = "m=audio 1 RTP/AVP 0\r\n".repeat(MAX_STREAMS + 1);
        assert!(parse_offer(many.as_bytes()).is_err());
        for cut in 0..OFFER.len() {
            let _ = parse_offer(&OFFER.as_bytes()[..cut]);
        }
    }
}
