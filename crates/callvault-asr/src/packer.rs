//! Stretches of speech from one channel, packed into 30-second windows with short silences
//! between them, so one pass of the model reads many turns of a conversation instead of one.
//! A turn goes whole into one window: one that does not fit in what is left of a window starts
//! the next, so windows end where speech pauses rather than mid-sentence (which Whisper reads
//! worse, and which makes it read the cut sentence again in another pass). Only a turn longer
//! than a window is split. Each window remembers where its pieces came from, to put the model's
//! timestamps back on the channel's own clock.

use crate::mel::{SAMPLE_RATE, WINDOW_SAMPLES};

/// Silence between pieces that were not next to each other, so the model hears a pause.
const GAP: usize = SAMPLE_RATE;

/// How far into the next piece an end may run before it counts as reaching it.
const OVERSHOOT: usize = SAMPLE_RATE;

/// Audio from one channel, starting `origin` samples into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub origin: usize,
    pub samples: Vec<f32>,
}

impl Piece {
    fn end(&self) -> usize {
        self.origin + self.samples.len()
    }
}

/// Up to 30 seconds of one channel's speech for one pass of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub channel: usize,
    /// The pieces, each with where it starts in the window.
    pub pieces: Vec<(usize, Piece)>,
}

/// Seconds of 16 kHz audio in `samples`.
#[allow(clippy::cast_precision_loss, reason = "sample counts of a call")]
pub(crate) fn seconds(samples: usize) -> f64 {
    samples as f64 / SAMPLE_RATE as f64
}

#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "non-negative window times"
)]
fn samples(seconds: f64) -> usize {
    (seconds.max(0.0) * SAMPLE_RATE as f64).round() as usize
}

impl Window {
    /// The window's audio as the model reads it.
    #[must_use]
    pub fn audio(&self) -> Vec<f32> {
        let mut audio = vec![0.0; self.len()];
        for (at, piece) in &self.pieces {
            audio[*at..*at + piece.samples.len()].copy_from_slice(&piece.samples);
        }
        audio
    }

    /// Samples from the window's start to the end of its last piece.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pieces.last().map_or(0, |(at, p)| at + p.samples.len())
    }

    #[must_use]
    pub fn content_seconds(&self) -> f64 {
        seconds(self.len())
    }

    /// A time in the window, in seconds on the channel's clock. Times in a gap belong to the
    /// piece before it; times past the end to the last piece's end.
    #[must_use]
    pub fn to_channel(&self, t: f64) -> f64 {
        let at = samples(t);
        self.pieces
            .iter()
            .rev()
            .find(|(start, _)| *start <= at)
            .or_else(|| self.pieces.first())
            .map_or(0.0, |(start, piece)| {
                seconds(piece.origin + (at.saturating_sub(*start)).min(piece.samples.len()))
            })
    }

    /// Where a segment that starts at `t` in the window starts on the channel's clock. The
    /// model often puts a start a little before the speech, in the gap: that is the start of
    /// the piece after the gap.
    #[must_use]
    pub fn start_to_channel(&self, t: f64) -> f64 {
        let at = samples(t);
        let in_gap_before = self
            .pieces
            .iter()
            .find(|(start, piece)| at < start + piece.samples.len());
        match in_gap_before {
            Some((start, piece)) if at < *start => seconds(piece.origin),
            _ => self.to_channel(t),
        }
    }

    /// A segment's start and end on the channel's clock. An end the model put just inside a
    /// later piece (less than [`OVERSHOOT`] into it) is its guess running on: the segment ends
    /// where its own piece does.
    #[must_use]
    pub fn segment_to_channel(&self, start: f64, end: f64) -> (f64, f64) {
        let piece_of = |t: f64| {
            let at = samples(t);
            self.pieces.iter().rposition(|(s, _)| *s <= at).unwrap_or(0)
        };
        // The piece a start belongs to: the one it falls in, or the one after its gap.
        let first = self
            .pieces
            .iter()
            .position(|(s, p)| samples(start) < s + p.samples.len())
            .unwrap_or(self.pieces.len().saturating_sub(1));
        let last = piece_of(end);
        let channel_start = self.start_to_channel(start);
        let into_last = samples(end).saturating_sub(self.pieces.get(last).map_or(0, |(s, _)| *s));
        let channel_end = if last > first && into_last < OVERSHOOT {
            self.pieces
                .get(last - 1)
                .map_or(channel_start, |(_, p)| seconds(p.end()))
        } else {
            self.to_channel(end)
        };
        (channel_start, channel_end.max(channel_start))
    }

    /// What is left of the window from time `t` on, for another pass.
    #[must_use]
    pub fn rest_after(&self, t: f64) -> Vec<Piece> {
        let cut = samples(t);
        self.pieces
            .iter()
            .filter_map(|(start, piece)| {
                let end = start + piece.samples.len();
                if end <= cut {
                    None
                } else if *start >= cut {
                    Some(piece.clone())
                } else {
                    let skip = cut - start;
                    Some(Piece {
                        origin: piece.origin + skip,
                        samples: piece.samples[skip..].to_vec(),
                    })
                }
            })
            .collect()
    }
}

/// Collects one channel's speech into windows.
pub struct Packer {
    channel: usize,
    open: Vec<(usize, Piece)>,
}

impl Packer {
    #[must_use]
    pub fn new(channel: usize) -> Self {
        Self {
            channel,
            open: Vec::new(),
        }
    }

    fn used(&self) -> usize {
        self.open.last().map_or(0, |(at, p)| at + p.samples.len())
    }

    fn take(&mut self) -> Option<Window> {
        (!self.open.is_empty()).then(|| Window {
            channel: self.channel,
            pieces: std::mem::take(&mut self.open),
        })
    }

    /// Adds a stretch of speech; returns the windows it filled.
    pub fn push(&mut self, mut piece: Piece) -> Vec<Window> {
        let mut full = Vec::new();
        loop {
            let adjacent = self
                .open
                .last()
                .is_some_and(|(_, last)| last.end() == piece.origin);
            let gap = if self.open.is_empty() || adjacent {
                0
            } else {
                GAP
            };
            let at = self.used() + gap;
            let room = WINDOW_SAMPLES.saturating_sub(at);
            if piece.samples.len() <= room {
                self.open.push((at, piece));
                return full;
            }
            if self.open.is_empty() {
                // Longer than a window: fill one with what fits; the rest starts the next.
                let rest = piece.samples.split_off(room);
                let rest = Piece {
                    origin: piece.origin + room,
                    samples: rest,
                };
                self.open.push((at, piece));
                full.extend(self.take());
                piece = rest;
            } else {
                full.extend(self.take());
            }
        }
    }

    /// Puts back audio a pass did not finish, ahead of what is waiting.
    pub fn push_front(&mut self, pieces: Vec<Piece>) -> Vec<Window> {
        let waiting: Vec<Piece> = std::mem::take(&mut self.open)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let mut full = Vec::new();
        for piece in pieces.into_iter().chain(waiting) {
            full.extend(self.push(piece));
        }
        full
    }

    /// The last, partly filled window.
    pub fn flush(&mut self) -> Option<Window> {
        self.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(origin_s: f64, len_s: f64) -> Piece {
        Piece {
            origin: samples(origin_s),
            samples: vec![0.1; samples(len_s)],
        }
    }

    #[test]
    fn turns_share_a_window_and_keep_their_clock() {
        let gap = seconds(GAP);
        let mut p = Packer::new(1);
        assert!(p.push(piece(2.0, 3.0)).is_empty());
        assert!(p.push(piece(10.0, 4.0)).is_empty());
        let w = p.flush().expect("a window");
        assert_eq!(w.channel, 1);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(
            close(w.content_seconds(), 7.0 + gap),
            "two turns and one gap"
        );
        assert!(close(w.to_channel(1.0), 3.0));
        assert!(
            close(w.to_channel(3.0 + gap + 2.0), 12.0),
            "the second turn, on its own clock"
        );
        assert!(
            close(w.to_channel(3.0 + gap / 2.0), 5.0),
            "an end in a gap belongs to the turn before"
        );
        assert!(
            close(w.start_to_channel(3.0 + gap / 2.0), 10.0),
            "a start in a gap, to the turn after"
        );
        assert!(close(w.start_to_channel(1.0), 3.0));
        let (start, end) = w.segment_to_channel(0.5, 3.0 + gap + 0.5);
        assert!(
            close(start, 2.5) && close(end, 5.0),
            "ends with its own turn: {end}"
        );
        let (_, end) = w.segment_to_channel(0.5, 3.0 + gap + 1.7);
        assert!(close(end, 11.7), "a segment may span turns: {end}");
        assert_eq!(w.audio().len(), samples(7.0 + gap));
    }

    #[test]
    fn turns_stay_whole_windows_never_pass_thirty_seconds_and_long_speech_is_split() {
        let mut p = Packer::new(0);
        let mut windows = p.push(piece(0.0, 20.0));
        windows.extend(p.push(piece(25.0, 20.0)));
        windows.extend(p.flush());
        assert!(windows.iter().all(|w| w.len() <= WINDOW_SAMPLES));
        assert_eq!(
            windows.len(),
            2,
            "the second turn does not fit: it starts a window"
        );
        assert!(
            windows
                .iter()
                .all(|w| w.pieces.len() == 1 && w.pieces[0].1.samples.len() == samples(20.0)),
            "neither turn is cut"
        );
        let total: usize = windows
            .iter()
            .flat_map(|w| &w.pieces)
            .map(|(_, p)| p.samples.len())
            .sum();
        assert_eq!(total, samples(40.0), "nothing lost");
        let mut long = Packer::new(0);
        let split = long.push(piece(0.0, 75.0));
        assert_eq!(split.len(), 2);
        assert_eq!(long.flush().map(|w| w.len()), Some(samples(15.0)));
        assert_eq!(
            split[1].pieces[0].1.origin,
            samples(30.0),
            "contiguous pieces keep their clock"
        );
    }

    #[test]
    fn what_a_pass_did_not_finish_goes_round_again() {
        let mut p = Packer::new(0);
        p.push(piece(0.0, 10.0));
        p.push(piece(20.0, 10.0));
        let w = p.flush().expect("window");
        let gap = seconds(GAP);
        let rest = w.rest_after(12.0);
        assert_eq!(rest.len(), 1);
        assert_eq!(
            rest[0].origin,
            samples(22.0 - gap),
            "cut inside the second turn"
        );
        let mut again = Packer::new(0);
        assert!(again.push_front(rest).is_empty());
        let left = again.flush().map(|w| w.content_seconds()).unwrap_or(0.0);
        assert!((left - (8.0 + gap)).abs() < 1e-6, "{left}");
    }
}
