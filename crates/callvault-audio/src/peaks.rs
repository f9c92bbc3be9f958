//! The waveform overview for the seek bar, built in the same pass as decoding, in constant
//! memory: buckets start at 10 ms and double (merging pairs) whenever there are too many.

use callvault_core::recording::{ChannelPeaks, Peaks};

/// Most buckets kept per channel: enough for a sharp seek bar on a wide screen.
const MAX_BUCKETS: usize = 2000;

pub struct PeaksBuilder {
    sample_rate: u32,
    bucket_frames: u64,
    frames_seen: u64,
    min: Vec<Vec<f32>>,
    max: Vec<Vec<f32>>,
}

impl PeaksBuilder {
    #[must_use]
    pub fn new(sample_rate: u32, channels: usize) -> Self {
        Self {
            sample_rate,
            bucket_frames: u64::from(sample_rate / 100).max(1),
            frames_seen: 0,
            min: vec![Vec::new(); channels],
            max: vec![Vec::new(); channels],
        }
    }

    /// Adds a block of planar samples (one slice per channel, all the same length).
    pub fn push(&mut self, planes: &[Vec<f32>]) {
        let frames = planes.first().map_or(0, Vec::len);
        let mut done = 0usize;
        while done < frames {
            let bucket =
                usize::try_from(self.frames_seen / self.bucket_frames).unwrap_or(usize::MAX);
            if bucket >= MAX_BUCKETS {
                self.halve();
                continue;
            }
            let left_in_bucket = self.bucket_frames - self.frames_seen % self.bucket_frames;
            let take = usize::try_from(left_in_bucket)
                .unwrap_or(usize::MAX)
                .min(frames - done);
            for (ch, plane) in planes.iter().enumerate().take(self.min.len()) {
                let (lo, hi) = plane[done..done + take]
                    .iter()
                    .fold((f32::MAX, f32::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
                if self.min[ch].len() <= bucket {
                    self.min[ch].push(lo);
                    self.max[ch].push(hi);
                } else {
                    self.min[ch][bucket] = self.min[ch][bucket].min(lo);
                    self.max[ch][bucket] = self.max[ch][bucket].max(hi);
                }
            }
            done += take;
            self.frames_seen += take as u64;
        }
    }

    /// Doubles the bucket length, merging neighbours.
    fn halve(&mut self) {
        for values in &mut self.min {
            *values = values
                .chunks(2)
                .map(|p| p.iter().copied().fold(f32::MAX, f32::min))
                .collect();
        }
        for values in &mut self.max {
            *values = values
                .chunks(2)
                .map(|p| p.iter().copied().fold(f32::MIN, f32::max))
                .collect();
        }
        self.bucket_frames *= 2;
    }

    #[must_use]
    pub fn finish(self) -> Peaks {
        let bucket_ms = (self.bucket_frames * 1000 / u64::from(self.sample_rate.max(1))).max(1);
        let channels = self
            .min
            .iter()
            .zip(&self.max)
            .map(|(min, max)| ChannelPeaks {
                min: min.iter().map(|&v| scale(v)).collect(),
                max: max.iter().map(|&v| scale(v)).collect(),
            })
            .collect();
        Peaks {
            bucket_ms: u32::try_from(bucket_ms).unwrap_or(u32::MAX),
            channels,
        }
    }
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "clamped to the i8 range first"
)]
fn scale(v: f32) -> i8 {
    (v.clamp(-1.0, 1.0) * 127.0).round() as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_block_gives_ten_millisecond_buckets() {
        let mut b = PeaksBuilder::new(8000, 2);
        let left: Vec<f32> = (0..800).map(|i| if i < 400 { 0.5 } else { -1.0 }).collect();
        let right = vec![0.0; 800];
        b.push(&[left, right]);
        let p = b.finish();
        assert_eq!(p.bucket_ms, 10);
        assert_eq!(p.channels.len(), 2);
        assert_eq!(p.channels[0].max.len(), 10);
        assert_eq!(p.channels[0].max[0], 64);
        assert_eq!(p.channels[0].min[9], -127);
        assert!(p.channels[1].max.iter().all(|&v| v == 0));
    }

    #[test]
    fn long_audio_stays_within_the_bucket_budget() {
        let mut b = PeaksBuilder::new(8000, 1);
        // One hour in one-second blocks, a loud click in the 30th minute.
        for second in 0..3600 {
            let mut block = vec![0.01f32; 8000];
            if second == 1800 {
                block[0] = 1.0;
            }
            b.push(&[block]);
        }
        let p = b.finish();
        let buckets = p.channels[0].max.len();
        assert!(
            buckets <= MAX_BUCKETS && buckets > MAX_BUCKETS / 2,
            "{buckets}"
        );
        let loud = p.channels[0]
            .max
            .iter()
            .position(|&v| v == 127)
            .expect("click kept");
        let at_ms = loud as u64 * u64::from(p.bucket_ms);
        assert!(
            (1_795_000..=1_805_000).contains(&at_ms),
            "click at {at_ms} ms"
        );
    }
}
