//! The tone that stands in for redacted speech: a 1 kHz sine, loud enough to hear as a beep
//! and to tell from speech by its energy, written over every channel for the span's length.

/// A stretch of a recording to cover, in seconds from its start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSpan {
    pub start: f64,
    pub end: f64,
}

/// The tone's pitch.
pub const TONE_HZ: f64 = 1000.0;
const AMPLITUDE: f64 = 0.25;

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "non-negative times of a recording"
)]
fn frame_at(seconds: f64, rate: u32) -> u64 {
    (seconds.max(0.0) * f64::from(rate)).round() as u64
}

/// Whether any span covers part of the `len` frames that start at frame `first`.
#[must_use]
pub fn touches(spans: &[ToneSpan], first: u64, len: usize, rate: u32) -> bool {
    let last = first + len as u64;
    spans
        .iter()
        .any(|s| frame_at(s.start, rate) < last && frame_at(s.end, rate) > first)
}

/// Writes the tone over the spans' frames in `planes`, which start at frame `first`. The
/// phase follows the frame's place in the recording, so the tone runs on across blocks.
pub fn cover(planes: &mut [Vec<f32>], spans: &[ToneSpan], first: u64, rate: u32) {
    let len = planes.first().map_or(0, Vec::len);
    for span in spans {
        let from = frame_at(span.start, rate).max(first);
        let to = frame_at(span.end, rate).min(first + len as u64);
        for frame in from..to {
            #[allow(clippy::cast_precision_loss, reason = "frame counts of a call")]
            let phase = std::f64::consts::TAU * TONE_HZ * frame as f64 / f64::from(rate);
            #[allow(clippy::cast_possible_truncation, reason = "a sample")]
            let sample = (AMPLITUDE * phase.sin()) as f32;
            #[allow(clippy::cast_possible_truncation, reason = "within the block")]
            let at = (frame - first) as usize;
            for plane in planes.iter_mut() {
                plane[at] = sample;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_span_is_covered_and_the_tone_runs_across_blocks() {
        let span = [ToneSpan {
            start: 0.5,
            end: 1.0,
        }];
        let rate = 8000;
        let mut whole = vec![vec![0.1_f32; 8000]; 2];
        cover(&mut whole, &span, 0, rate);
        assert!(whole[0][..4000].iter().all(|s| *s == 0.1));
        assert!(whole[1][4000..8000].iter().any(|s| *s > 0.2));
        assert_eq!(whole[0][4000..8000], whole[1][4000..8000]);
        // The same second in two blocks comes out the same.
        let mut first = vec![vec![0.1_f32; 6000]];
        let mut second = vec![vec![0.1_f32; 2000]];
        cover(&mut first, &span, 0, rate);
        cover(&mut second, &span, 6000, rate);
        assert_eq!(first[0][..], whole[0][..6000]);
        assert_eq!(second[0][..], whole[0][6000..]);
        assert!(touches(&span, 3000, 1001, rate));
        assert!(!touches(&span, 0, 4000, rate));
        assert!(!touches(&span, 8000, 100, rate));
    }
}
