//! Whisper's input: the log-mel spectrogram of 30 seconds of 16 kHz audio, computed exactly as
//! Whisper's own preprocessing does (Hann window of 400 samples, hop of 160, centred with
//! reflection, power spectrum, Slaney mel filters up to 8 kHz, log10 clamped to 8 below the
//! peak, scaled to about [-1, 1]).

use std::f32::consts::PI;
use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

pub const SAMPLE_RATE: usize = 16_000;
pub const N_FFT: usize = 400;
pub const HOP: usize = 160;
/// Samples in one 30-second window.
pub const WINDOW_SAMPLES: usize = 30 * SAMPLE_RATE;
/// Mel frames in one window.
pub const WINDOW_FRAMES: usize = WINDOW_SAMPLES / HOP;
const BINS: usize = N_FFT / 2 + 1;

pub struct MelExtractor {
    n_mels: usize,
    /// `n_mels` rows of `BINS` weights.
    filters: Vec<f32>,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
}

// The Slaney mel scale Whisper's features use: linear below 1 kHz, logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;

fn hz_to_mel(f: f64) -> f64 {
    let (min_log_mel, logstep) = (MIN_LOG_HZ / F_SP, 6.4f64.ln() / 27.0);
    if f < MIN_LOG_HZ {
        f / F_SP
    } else {
        min_log_mel + (f / MIN_LOG_HZ).ln() / logstep
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let (min_log_mel, logstep) = (MIN_LOG_HZ / F_SP, 6.4f64.ln() / 27.0);
    if m < min_log_mel {
        m * F_SP
    } else {
        MIN_LOG_HZ * (logstep * (m - min_log_mel)).exp()
    }
}

/// Slaney-style mel filters (as librosa makes them, and Whisper ships them).
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    reason = "small filter tables"
)]
fn mel_filters(n_mels: usize) -> Vec<f32> {
    let fmax = SAMPLE_RATE as f64 / 2.0;
    let fft_freqs: Vec<f64> = (0..BINS)
        .map(|i| i as f64 * fmax / (BINS - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(fmax));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut filters = vec![0.0f32; n_mels * BINS];
    for m in 0..n_mels {
        let enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
        for (b, f) in fft_freqs.iter().enumerate() {
            let lower = (f - mel_f[m]) / (mel_f[m + 1] - mel_f[m]);
            let upper = (mel_f[m + 2] - f) / (mel_f[m + 2] - mel_f[m + 1]);
            filters[m * BINS + b] = (lower.min(upper).max(0.0) * enorm) as f32;
        }
    }
    filters
}

impl MelExtractor {
    #[must_use]
    pub fn new(n_mels: usize) -> Self {
        #[allow(clippy::cast_precision_loss, reason = "window positions")]
        let window = (0..N_FFT)
            .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f32 / N_FFT as f32).cos())
            .collect();
        Self {
            n_mels,
            filters: mel_filters(n_mels),
            window,
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
        }
    }

    #[must_use]
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Features for one window: `samples` (at most 30 s; shorter is padded with silence) become
    /// `n_mels × 3000` values, mel-major, as the model takes them.
    #[must_use]
    pub fn window(&self, samples: &[f32]) -> Vec<f32> {
        let mut padded = vec![0.0f32; WINDOW_SAMPLES];
        let n = samples.len().min(WINDOW_SAMPLES);
        padded[..n].copy_from_slice(&samples[..n]);
        // Centre the frames: reflect N_FFT/2 samples at each end.
        let half = N_FFT / 2;
        let mut signal = Vec::with_capacity(WINDOW_SAMPLES + N_FFT);
        signal.extend((1..=half).rev().map(|i| padded[i]));
        signal.extend_from_slice(&padded);
        signal.extend((1..=half).map(|i| padded[WINDOW_SAMPLES - 1 - i]));

        let mut power = vec![0.0f32; BINS];
        let mut buf = vec![Complex::new(0.0f32, 0.0); N_FFT];
        let mut out = vec![0.0f32; self.n_mels * WINDOW_FRAMES];
        for frame in 0..WINDOW_FRAMES {
            let start = frame * HOP;
            for (i, c) in buf.iter_mut().enumerate() {
                *c = Complex::new(signal[start + i] * self.window[i], 0.0);
            }
            self.fft.process(&mut buf);
            for (p, c) in power.iter_mut().zip(&buf) {
                *p = c.norm_sqr();
            }
            for m in 0..self.n_mels {
                let row = &self.filters[m * BINS..(m + 1) * BINS];
                let energy: f32 = row.iter().zip(&power).map(|(w, p)| w * p).sum();
                out[m * WINDOW_FRAMES + frame] = energy.max(1e-10).log10();
            }
        }
        let peak = out.iter().copied().fold(f32::MIN, f32::max);
        for v in &mut out {
            *v = (v.max(peak - 8.0) + 4.0) / 4.0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_cover_the_band_like_librosa() {
        let f = mel_filters(80);
        // Every filter has weight somewhere, none below zero, and the first starts at 0 Hz.
        for m in 0..80 {
            let row = &f[m * BINS..(m + 1) * BINS];
            assert!(row.iter().any(|&w| w > 0.0), "filter {m} is empty");
            assert!(row.iter().all(|&w| w >= 0.0));
        }
        assert_eq!(f[0], 0.0);
        assert!(f[1] > 0.0);
        // Slaney normalisation: the first filter's peak is about 2 / (width in Hz).
        let peak = f[..BINS].iter().copied().fold(0.0, f32::max);
        assert!((0.02..0.04).contains(&peak), "{peak}");
    }

    #[test]
    fn a_tone_lights_up_the_right_band_and_silence_sits_at_the_floor() {
        let mel = MelExtractor::new(80);
        #[allow(clippy::cast_precision_loss)]
        let tone: Vec<f32> = (0..SAMPLE_RATE * 2)
            .map(|i| 0.5 * (2.0 * PI * 1000.0 * i as f32 / SAMPLE_RATE as f32).sin())
            .collect();
        let features = mel.window(&tone);
        assert_eq!(features.len(), 80 * WINDOW_FRAMES);
        let frame = 100;
        let loudest = (0..80)
            .max_by(|a, b| {
                features[a * WINDOW_FRAMES + frame].total_cmp(&features[b * WINDOW_FRAMES + frame])
            })
            .unwrap_or(0);
        let centre = mel_to_hz(
            hz_to_mel(0.0) + (hz_to_mel(8000.0) - hz_to_mel(0.0)) * (loudest + 1) as f64 / 81.0,
        );
        assert!(
            (900.0..1100.0).contains(&centre),
            "1 kHz lands in the band around {centre} Hz"
        );
        // After the tone, the padded silence is at the clamp floor (peak - 8, scaled).
        let silent = features[loudest * WINDOW_FRAMES + 2500];
        let peak = features.iter().copied().fold(f32::MIN, f32::max);
        assert!((peak - silent - 2.0).abs() < 1e-3, "{peak} {silent}");
    }
}
