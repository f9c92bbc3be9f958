//! Synthetic calls for benchmarks: two parties taking turns, voice-like (a pitched buzz
//! through moving formants, syllable envelopes) with pauses, deterministic, written as
//! 16-bit PCM WAV without holding the whole call in memory.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

/// A small deterministic generator (xorshift), so every run benchmarks the same audio.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    /// In [0, 1).
    pub(super) fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        #[allow(clippy::cast_precision_loss, reason = "53 bits are plenty for noise")]
        let unit = (self.0 >> 11) as f64 / (1u64 << 53) as f64;
        unit
    }

    /// In [0, n).
    pub(super) fn below(&mut self, n: usize) -> usize {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "small counts"
        )]
        let i = (self.next() * n as f64) as usize;
        i.min(n.saturating_sub(1))
    }
}

/// Writes `seconds` of a two-party call: with `channels` 2 each party has its own channel,
/// with 1 they share it.
pub fn write_call(path: &Path, rate: u32, channels: u16, seconds: u32) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    write_header(&mut out, rate, channels, 0)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let total = u64::from(rate) * u64::from(seconds);
    let mut written = 0u64;
    let mut speaker = 0usize;
    let mut phase = 0.0f64;
    while written < total {
        // A turn: one to six seconds of syllables, then a pause.
        let turn = (u64::from(rate) as f64 * (1.0 + 5.0 * rng.next())) as u64;
        let pause = (u64::from(rate) as f64 * (0.2 + 0.8 * rng.next())) as u64;
        let pitch = if speaker == 0 { 120.0 } else { 210.0 } * (0.9 + 0.2 * rng.next());
        let syllable = (f64::from(rate) * 0.18) as u64;
        let mut formant = 500.0 + 1500.0 * rng.next();
        for i in 0..turn.min(total - written) {
            if i % syllable == 0 {
                formant = 300.0 + 2200.0 * rng.next();
            }
            let t = (i % syllable) as f64 / syllable as f64;
            let envelope = (std::f64::consts::PI * t).sin().powi(2);
            phase += pitch / f64::from(rate);
            let buzz: f64 = (1..=12)
                .map(|h| {
                    let f = pitch * f64::from(h);
                    let weight = 1.0 / (1.0 + ((f - formant) / 300.0).powi(2));
                    weight * (std::f64::consts::TAU * phase * f64::from(h)).sin()
                })
                .sum();
            let sample = 0.25 * envelope * buzz + 0.003 * (rng.next() - 0.5);
            write_frame(&mut out, channels, speaker, sample)?;
        }
        written += turn.min(total - written);
        for _ in 0..pause.min(total - written) {
            write_frame(&mut out, channels, speaker, 0.003 * (rng.next() - 0.5))?;
        }
        written += pause.min(total - written);
        speaker = 1 - speaker;
    }
    let mut file = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    file.seek(SeekFrom::Start(0))?;
    let data = total * u64::from(channels) * 2;
    write_header(
        &mut file,
        rate,
        channels,
        u32::try_from(data).unwrap_or(u32::MAX),
    )?;
    Ok(())
}

/// Writes two channels of samples as a 16-bit PCM WAV.
pub fn write_stereo_wav(
    path: &Path,
    rate: u32,
    left: &[f32],
    right: &[f32],
) -> std::io::Result<()> {
    let frames = left.len().max(right.len());
    let data = u32::try_from(frames * 4).unwrap_or(u32::MAX);
    let mut out = BufWriter::new(File::create(path)?);
    write_header(&mut out, rate, 2, data)?;
    for i in 0..frames {
        for plane in [left, right] {
            let sample = plane.get(i).copied().unwrap_or(0.0);
            #[allow(clippy::cast_possible_truncation, reason = "clamped to the i16 range")]
            let value = (sample.clamp(-1.0, 1.0) * 32767.0) as i16;
            out.write_all(&value.to_le_bytes())?;
        }
    }
    out.flush()
}

fn write_frame(
    out: &mut impl Write,
    channels: u16,
    speaker: usize,
    sample: f64,
) -> std::io::Result<()> {
    #[allow(clippy::cast_possible_truncation, reason = "clamped to the i16 range")]
    let value = (sample.clamp(-1.0, 1.0) * 32767.0) as i16;
    if channels == 1 {
        return out.write_all(&value.to_le_bytes());
    }
    let (left, right) = if speaker == 0 { (value, 0) } else { (0, value) };
    out.write_all(&left.to_le_bytes())?;
    out.write_all(&right.to_le_bytes())
}

fn write_header(out: &mut impl Write, rate: u32, channels: u16, data: u32) -> std::io::Result<()> {
    let block = channels * 2;
    out.write_all(b"RIFF")?;
    out.write_all(&data.saturating_add(36).to_le_bytes())?;
    out.write_all(b"WAVEfmt ")?;
    out.write_all(&16u32.to_le_bytes())?;
    out.write_all(&1u16.to_le_bytes())?;
    out.write_all(&channels.to_le_bytes())?;
    out.write_all(&rate.to_le_bytes())?;
    out.write_all(&(rate * u32::from(block)).to_le_bytes())?;
    out.write_all(&block.to_le_bytes())?;
    out.write_all(&16u16.to_le_bytes())?;
    out.write_all(b"data")?;
    out.write_all(&data.to_le_bytes())
}
