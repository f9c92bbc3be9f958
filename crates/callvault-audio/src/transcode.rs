//! The pipeline a recording goes through once: decode whatever came in, draw the waveform
//! peaks, resample if the voice profile asks for it, and encode the MP3 that is stored, all in
//! one streaming pass with bounded memory.

use std::fs::File;
use std::path::Path;

use callvault_core::recording::Peaks;
use sha2::{Digest, Sha256};
use symphonia::core::io::MediaSource;

use crate::AudioError;
use crate::decode::AudioReader;
use crate::encode::{Mp3Writer, VoiceProfile};
use crate::peaks::PeaksBuilder;
use crate::resample::StreamResampler;

/// What a recording became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcoded {
    /// The codec that came in ("pcm_mulaw", "mp3", …).
    pub source_codec: &'static str,
    pub source_sample_rate: u32,
    pub source_channels: u16,
    /// Frames (samples per channel) decoded from the source.
    pub frames: u64,
    /// How the MP3 was encoded.
    pub profile: VoiceProfile,
    /// Size of the MP3.
    pub bytes: u64,
    /// Hex SHA-256 of the MP3.
    pub sha256: String,
    /// One set of peaks per channel of the MP3.
    pub peaks: Peaks,
    /// The source is shorter than its header states: it was cut short, and what is there was
    /// kept.
    pub truncated: bool,
}

impl Transcoded {
    /// The recording's length, from the samples decoded.
    #[must_use]
    pub fn duration_ms(&self) -> u64 {
        if self.source_sample_rate == 0 {
            return 0;
        }
        let rate = u64::from(self.source_sample_rate);
        (self.frames * 1000 + rate / 2) / rate
    }
}

/// Transcodes a file into the MP3 at `dst`. On failure `dst` is removed.
pub fn transcode_file(src: &Path, dst: &Path) -> Result<Transcoded, AudioError> {
    let file = File::open(src)?;
    transcode(
        Box::new(file),
        src.extension().and_then(|e| e.to_str()),
        dst,
    )
}

/// Transcodes any readable source into the MP3 at `dst`. On failure `dst` is removed.
pub fn transcode(
    source: Box<dyn MediaSource>,
    hint: Option<&str>,
    dst: &Path,
) -> Result<Transcoded, AudioError> {
    transcode_covering(source, hint, dst, &[])
}

/// Transcodes like [`transcode`], with every channel of each span (seconds from the start)
/// replaced by a tone: what redaction hides.
pub fn transcode_covering(
    source: Box<dyn MediaSource>,
    hint: Option<&str>,
    dst: &Path,
    spans: &[crate::ToneSpan],
) -> Result<Transcoded, AudioError> {
    let result = run(source, hint, dst, spans);
    if result.is_err() {
        let _ = std::fs::remove_file(dst);
    }
    result
}

fn run(
    source: Box<dyn MediaSource>,
    hint: Option<&str>,
    dst: &Path,
    spans: &[crate::ToneSpan],
) -> Result<Transcoded, AudioError> {
    let mut reader = AudioReader::open(source, hint)?;
    let mut pipeline: Option<Pipeline> = None;
    let mut mixed: Vec<Vec<f32>> = Vec::new();
    let mut covered: Vec<Vec<f32>> = Vec::new();
    let mut frames = 0u64;
    while let Some(block) = reader.next_block()? {
        let rate = block.sample_rate;
        let mut planes = if block.planes.len() > 2 {
            mix_down(block.planes, &mut mixed);
            &mixed[..]
        } else {
            block.planes
        };
        if crate::tone::touches(spans, frames, planes.first().map_or(0, Vec::len), rate) {
            covered.clear();
            covered.extend_from_slice(planes);
            crate::tone::cover(&mut covered, spans, frames, rate);
            planes = &covered[..];
        }
        let stage = match &mut pipeline {
            Some(stage) => stage,
            None => pipeline.insert(Pipeline::start(rate, planes.len(), dst)?),
        };
        frames += planes.first().map_or(0, Vec::len) as u64;
        stage.push(planes)?;
    }
    let codec = reader.codec_name();
    let (Some(stage), Some((rate, channels))) = (pipeline, reader.format()) else {
        return Err(AudioError::Corrupt("no audio could be decoded".into()));
    };
    let (peaks, profile, bytes) = stage.finish()?;
    Ok(Transcoded {
        source_codec: codec,
        source_sample_rate: rate,
        source_channels: channels,
        frames,
        profile,
        bytes,
        sha256: sha256_of(dst)?,
        peaks,
        truncated: reader.truncated(),
    })
}

/// Sample rates a recording may have: telephony's lowest to studio's highest.
const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 4000..=384_000;

struct Pipeline {
    peaks: PeaksBuilder,
    resampler: Option<StreamResampler>,
    writer: Mp3Writer,
}

impl Pipeline {
    fn start(sample_rate: u32, channels: usize, dst: &Path) -> Result<Self, AudioError> {
        // A header may claim anything; resampling from an absurd rate would plan an absurd FFT.
        if !SAMPLE_RATES.contains(&sample_rate) {
            return Err(AudioError::Unsupported(format!(
                "a sample rate of {sample_rate} Hz"
            )));
        }
        let channels16 = u16::try_from(channels).unwrap_or(1);
        let profile = VoiceProfile::for_source(sample_rate, channels16);
        let resampler = (profile.sample_rate != sample_rate)
            .then(|| StreamResampler::new(sample_rate, profile.sample_rate, channels))
            .transpose()?;
        Ok(Self {
            peaks: PeaksBuilder::new(sample_rate, channels),
            resampler,
            writer: Mp3Writer::create(dst, profile)?,
        })
    }

    fn push(&mut self, planes: &[Vec<f32>]) -> Result<(), AudioError> {
        self.peaks.push(planes);
        let writer = &mut self.writer;
        match &mut self.resampler {
            Some(resampler) => resampler.push(planes, &mut |block| writer.write(block)),
            None => writer.write(planes),
        }
    }

    fn finish(self) -> Result<(Peaks, VoiceProfile, u64), AudioError> {
        let Self {
            peaks,
            resampler,
            mut writer,
        } = self;
        if let Some(resampler) = resampler {
            resampler.finish(&mut |block| writer.write(block))?;
        }
        let profile = writer.profile();
        let bytes = writer.finish()?;
        Ok((peaks.finish(), profile, bytes))
    }
}

/// Averages any number of channels into one.
fn mix_down(planes: &[Vec<f32>], out: &mut Vec<Vec<f32>>) {
    let frames = planes.first().map_or(0, Vec::len);
    out.resize(1, Vec::new());
    let mono = &mut out[0];
    mono.clear();
    mono.resize(frames, 0.0);
    #[allow(clippy::cast_precision_loss, reason = "a handful of channels")]
    let scale = 1.0 / planes.len() as f32;
    for plane in planes {
        for (m, s) in mono.iter_mut().zip(plane) {
            *m += s * scale;
        }
    }
}

/// The sha256 of a file, as a stored recording's row keeps it (hex).
pub fn sha256_of(path: &Path) -> Result<String, AudioError> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}
