//! Audio as speech recognition wants it: 16 kHz, one mono signal per channel (each channel is
//! one party of the call), streamed block by block so a long call never sits in memory whole.

use std::fs::File;
use std::path::Path;

use crate::AudioError;
use crate::decode::AudioReader;
use crate::resample::{BlockSink, StreamResampler};

/// The rate Whisper and most speech models take.
pub const SPEECH_RATE: u32 = 16_000;

/// What the source was, learned on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeechSource {
    pub sample_rate: u32,
    pub channels: u16,
    /// Frames produced per channel, at the rate asked for.
    pub frames: u64,
}

/// Decodes `path` and hands 16 kHz planar blocks (one plane per source channel) to `sink`.
pub fn stream_16k(path: &Path, sink: &mut BlockSink<'_>) -> Result<SpeechSource, AudioError> {
    stream_at(path, SPEECH_RATE, sink)
}

/// Decodes `path` and hands planar blocks at `rate` (one plane per source channel) to `sink`.
/// `frames` in the answer counts frames at `rate`.
pub fn stream_at(
    path: &Path,
    rate: u32,
    sink: &mut BlockSink<'_>,
) -> Result<SpeechSource, AudioError> {
    let file = File::open(path)?;
    let mut reader = AudioReader::open(Box::new(file), path.extension().and_then(|e| e.to_str()))?;
    let mut resampler: Option<Option<StreamResampler>> = None;
    let mut frames = 0u64;
    let mut counted = |block: &[Vec<f32>]| {
        frames += block.first().map_or(0, Vec::len) as u64;
        sink(block)
    };
    while let Some(block) = reader.next_block()? {
        let stage = match &mut resampler {
            Some(stage) => stage,
            None => resampler.insert(
                (block.sample_rate != rate)
                    .then(|| StreamResampler::new(block.sample_rate, rate, block.planes.len()))
                    .transpose()?,
            ),
        };
        match stage {
            Some(r) => r.push(block.planes, &mut counted)?,
            None => counted(block.planes)?,
        }
    }
    if let Some(Some(r)) = resampler {
        r.finish(&mut counted)?;
    }
    let (sample_rate, channels) = reader
        .format()
        .ok_or_else(|| AudioError::Corrupt("no audio could be decoded".into()))?;
    Ok(SpeechSource {
        sample_rate,
        channels,
        frames,
    })
}

/// The length a file states in its header, for progress bars; `None` if it states none.
pub fn declared_seconds(path: &Path) -> Result<Option<f64>, AudioError> {
    let file = File::open(path)?;
    let reader = AudioReader::open(Box::new(file), path.extension().and_then(|e| e.to_str()))?;
    Ok(reader.declared_seconds())
}

/// The whole file at 16 kHz, one plane per channel. For short clips (a minute takes 3.8 MB
/// per channel); stream long calls with [`stream_16k`] instead.
pub fn load_16k(path: &Path) -> Result<(SpeechSource, Vec<Vec<f32>>), AudioError> {
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let source = stream_16k(path, &mut |block| {
        planes.resize(block.len(), Vec::new());
        for (all, part) in planes.iter_mut().zip(block) {
            all.extend_from_slice(part);
        }
        Ok(())
    })?;
    Ok((source, planes))
}
