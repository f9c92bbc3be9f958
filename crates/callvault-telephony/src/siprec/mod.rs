//! SIPREC, the protocol by which a phone system forks a call to a recording server (RFC 7866),
//! in its pure parts: the INVITE's `multipart/mixed` body split into the SDP offer and the
//! recording metadata, and the metadata (RFC 7865) read into who took part and which stream
//! is whose. Lenient where real recording clients differ from the RFCs (namespace prefixes,
//! `id` for `participant_id`, `<send>` inside `<participant>`, no metadata at all); strict
//! about size. No I/O: bytes in, values out.

mod decode;
mod metadata;
mod multipart;
mod rtp;
mod sdp;
mod timeline;

pub use decode::{PayloadDecoder, PayloadEncoder, audio_rate};
pub use metadata::{Metadata, Participant, Stream, parse_metadata, uri_user};
pub use multipart::{Part, RecordingBody, split_body};
pub use rtp::{RtpPacket, parse_rtp, write_rtp};
pub use sdp::{Codec, OfferedStream, answer, parse_offer};
pub use timeline::Timeline;

/// What a body that cannot be read gets as an answer (a 4xx, never a crash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiprecError {
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("multipart body: {0}")]
    Multipart(&'static str),
    #[error("recording metadata: {0}")]
    Metadata(String),
    #[error("SDP: {0}")]
    Sdp(&'static str),
    #[error("RTP: {0}")]
    Rtp(&'static str),
}

/// The largest body read (a SIP message over UDP is far smaller; TCP allows more).
pub const MAX_BODY: usize = 256 * 1024;
