//! Where people speak: an energy gate over 20 ms frames that follows the noise floor, so the
//! silent half of each channel of a call is never sent to the model. Streaming: samples go
//! in as they are decoded, finished stretches of speech come out.

use crate::mel::SAMPLE_RATE;

const FRAME: usize = SAMPLE_RATE / 50;
/// Speech must rise this far above the noise floor.
const MARGIN_DB: f32 = 12.0;
/// Nothing quieter than this is speech, whatever the floor.
const ABSOLUTE_DB: f32 = -55.0;
/// Audio kept before speech starts, so its first sound is not clipped.
const PRE_ROLL_FRAMES: usize = 15;
/// Silence that ends a stretch of speech (shorter pauses stay inside it).
const HANGOVER_FRAMES: usize = 30;
/// Stretches with less speech than this are noise.
const MIN_SPEECH_FRAMES: usize = 8;
/// How fast the floor may rise per frame: slowly, so speech does not drag it up.
const FLOOR_RISE_DB: f32 = 0.02;

/// A stretch of speech: where it starts in the channel, in samples, and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub start: usize,
    pub samples: Vec<f32>,
}

#[derive(Default)]
pub struct SpeechGate {
    /// The noise floor: falls at once to any quieter frame, rises slowly.
    floor_db: Option<f32>,
    /// Samples not yet making a whole frame.
    partial: Vec<f32>,
    /// Position of the next whole frame.
    position: usize,
    pre_roll: std::collections::VecDeque<Vec<f32>>,
    current: Option<Chunk>,
    speech_frames: usize,
    silent_run: usize,
}

#[allow(clippy::cast_precision_loss, reason = "frame energies")]
fn level_db(frame: &[f32]) -> f32 {
    let mean = frame.iter().map(|s| s * s).sum::<f32>() / frame.len().max(1) as f32;
    10.0 * (mean + 1e-12).log10()
}

impl SpeechGate {
    /// Adds samples; returns the stretches of speech they finished.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Chunk> {
        let mut pending = std::mem::take(&mut self.partial);
        pending.extend_from_slice(samples);
        let frames = pending.chunks_exact(FRAME);
        let rest = frames.remainder().to_vec();
        let done = frames.filter_map(|frame| self.frame(frame)).collect();
        self.partial = rest;
        done
    }

    /// Ends the stream: whatever speech is open is finished.
    pub fn finish(&mut self) -> Option<Chunk> {
        let rest = std::mem::take(&mut self.partial);
        let last = if rest.is_empty() {
            None
        } else {
            self.frame(&rest)
        };
        last.or_else(|| self.close())
    }

    fn frame(&mut self, frame: &[f32]) -> Option<Chunk> {
        let db = level_db(frame);
        let level = db.max(-90.0);
        // The first frame sets the floor, but never above what is surely speech level, so a
        // recording that starts talking is still heard from its first word.
        let floor = self
            .floor_db
            .map_or(level.min(-45.0), |f| (f + FLOOR_RISE_DB).min(level));
        self.floor_db = Some(floor);
        let speech = db > (floor + MARGIN_DB).max(ABSOLUTE_DB);
        let start = self.position;
        self.position += frame.len();
        let mut finished = None;
        match &mut self.current {
            Some(chunk) => {
                chunk.samples.extend_from_slice(frame);
                if speech {
                    self.speech_frames += 1;
                    self.silent_run = 0;
                } else {
                    self.silent_run += 1;
                    if self.silent_run >= HANGOVER_FRAMES {
                        finished = self.close();
                    }
                }
            }
            None if speech => {
                let pre_len: usize = self.pre_roll.iter().map(Vec::len).sum();
                let mut samples: Vec<f32> = self.pre_roll.drain(..).flatten().collect();
                samples.extend_from_slice(frame);
                self.current = Some(Chunk {
                    start: start - pre_len,
                    samples,
                });
                self.speech_frames = 1;
                self.silent_run = 0;
            }
            None => {
                self.pre_roll.push_back(frame.to_vec());
                if self.pre_roll.len() > PRE_ROLL_FRAMES {
                    self.pre_roll.pop_front();
                }
            }
        }
        finished
    }

    fn close(&mut self) -> Option<Chunk> {
        let chunk = self.current.take()?;
        let enough = self.speech_frames >= MIN_SPEECH_FRAMES;
        self.speech_frames = 0;
        self.silent_run = 0;
        enough.then_some(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f32, amplitude: f32) -> Vec<f32> {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let n = (seconds * SAMPLE_RATE as f32) as usize;
        #[allow(clippy::cast_precision_loss)]
        (0..n).map(|i| amplitude * (i as f32 * 0.2).sin()).collect()
    }

    fn run(audio: &[f32], block: usize) -> Vec<(f32, f32)> {
        let mut gate = SpeechGate::default();
        let mut chunks: Vec<Chunk> = audio.chunks(block).flat_map(|b| gate.push(b)).collect();
        chunks.extend(gate.finish());
        #[allow(clippy::cast_precision_loss)]
        chunks
            .iter()
            .map(|c| {
                (
                    c.start as f32 / SAMPLE_RATE as f32,
                    (c.start + c.samples.len()) as f32 / SAMPLE_RATE as f32,
                )
            })
            .collect()
    }

    #[test]
    fn speech_between_silences_is_found_with_a_little_margin() {
        let mut audio = vec![0.0; SAMPLE_RATE * 2];
        audio.extend(tone(1.5, 0.3));
        audio.extend(vec![0.0; SAMPLE_RATE * 3]);
        audio.extend(tone(1.0, 0.3));
        audio.extend(vec![0.0; SAMPLE_RATE]);
        for block in [160, 1000, 48_000] {
            let found = run(&audio, block);
            assert_eq!(found.len(), 2, "block {block}: {found:?}");
            assert!(
                (1.6..2.0).contains(&found[0].0) && (3.5..4.2).contains(&found[0].1),
                "{found:?}"
            );
            assert!((6.1..6.5).contains(&found[1].0), "{found:?}");
        }
    }

    #[test]
    fn short_pauses_stay_inside_and_clicks_are_dropped() {
        let mut audio = tone(1.0, 0.3);
        audio.extend(vec![0.0; SAMPLE_RATE / 4]);
        audio.extend(tone(1.0, 0.3));
        audio.extend(vec![0.0; SAMPLE_RATE]);
        audio.extend(tone(0.05, 0.9));
        audio.extend(vec![0.0; SAMPLE_RATE]);
        let found = run(&audio, 800);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn steady_noise_is_not_speech_but_speech_over_it_is() {
        let noise: Vec<f32> = (0..SAMPLE_RATE * 3)
            .map(|i| if i % 2 == 0 { 0.004 } else { -0.004 })
            .collect();
        let mut audio = noise.clone();
        audio.extend(
            tone(1.0, 0.2)
                .iter()
                .zip(noise.iter().cycle())
                .map(|(a, b)| a + b),
        );
        audio.extend(noise);
        let found = run(&audio, 1600);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!((2.5..3.1).contains(&found[0].0), "{found:?}");
    }
}
