//! Audio in callvault: decoding whatever a phone system sends, measuring it, and drawing its
//! waveform overview. Pure and synchronous: bytes or files in, values out.

mod decode;
mod peaks;

use std::path::Path;

pub use decode::{AudioReader, Block};
pub use peaks::PeaksBuilder;

use callvault_core::recording::Peaks;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// Not audio this build can read (unknown container or codec).
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    /// Audio of a known kind that is damaged or makes no sense.
    #[error("corrupt audio: {0}")]
    Corrupt(String),
    #[error("reading audio: {0}")]
    Io(#[from] std::io::Error),
}

/// What a pass over an audio file learned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// Short name of the codec ("mp3", …).
    pub codec: &'static str,
    pub sample_rate: u32,
    pub channels: u16,
    /// Frames (samples per channel) actually decoded.
    pub frames: u64,
    pub peaks: Peaks,
}

impl Analysis {
    #[must_use]
    pub fn duration_ms(&self) -> u64 {
        if self.sample_rate == 0 {
            return 0;
        }
        (self.frames * 1000 + u64::from(self.sample_rate) / 2) / u64::from(self.sample_rate)
    }
}

/// Decodes a whole file once, in bounded memory, and measures it.
pub fn analyze_file(path: &Path) -> Result<Analysis, AudioError> {
    let file = std::fs::File::open(path)?;
    let hint = path.extension().and_then(|e| e.to_str());
    let mut reader = AudioReader::open(Box::new(file), hint)?;
    let mut peaks: Option<PeaksBuilder> = None;
    let mut frames = 0u64;
    while let Some(block) = reader.next_block()? {
        let builder =
            peaks.get_or_insert_with(|| PeaksBuilder::new(block.sample_rate, block.planes.len()));
        builder.push(block.planes);
        frames += block.frames() as u64;
    }
    let (Some(peaks), Some((sample_rate, channels))) = (peaks, reader.format()) else {
        return Err(AudioError::Corrupt("no audio could be decoded".into()));
    };
    Ok(Analysis {
        codec: reader.codec_name(),
        sample_rate,
        channels,
        frames,
        peaks: peaks.finish(),
    })
}
