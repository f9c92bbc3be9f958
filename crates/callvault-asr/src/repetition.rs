//! Whisper's guard against the model looping on a sound it cannot read ("Nn, Nn, Nn, …"):
//! text that zlib compresses more than 2.4 times over is repetition, not speech. The threshold
//! is the one Whisper and faster-whisper use; such text is dropped rather than shown.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

/// Above this, text is taken for the model repeating itself.
pub const MAX_COMPRESSION_RATIO: f64 = 2.4;

/// The text's length in bytes over its zlib-compressed length.
#[must_use]
pub fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to memory cannot fail.
    let compressed = encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
        .map_or(text.len(), |c| c.len());
    #[allow(clippy::cast_precision_loss, reason = "lengths of a segment's text")]
    let ratio = text.len() as f64 / compressed.max(1) as f64;
    ratio
}

/// Whether the model was repeating itself rather than hearing speech.
#[must_use]
pub fn is_repetition(text: &str) -> bool {
    compression_ratio(text) > MAX_COMPRESSION_RATIO
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_looping_model_is_caught_and_speech_is_not() {
        assert!(is_repetition(&"Nn, ".repeat(30)));
        assert!(is_repetition(&"Thank you. ".repeat(12)));
        for said in [
            "Hi, this is Maria Lopez. I'm calling about the delivery of my order.",
            "Of course. Could you give me the order number? Thank you, it will be there on Friday.",
            "Yes",
            "",
        ] {
            assert!(
                !is_repetition(said),
                "{said:?}: {}",
                compression_ratio(said)
            );
        }
    }
}
