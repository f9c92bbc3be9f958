//! MP3 encoding with LAME, set up for recorded speech.
//!
//! The voice settings, chosen on purpose:
//! - **Sample rate**: telephone-band sources (8, 11.025, 12 and 16 kHz) keep their rate; anything
//!   else is resampled to 16 kHz (wideband voice: speech carries next to nothing above 8 kHz,
//!   and fewer samples are faster to encode and smaller to store).
//! - **Bitrate**: constant, 24 kbit/s per channel up to 12 kHz, 32 kbit/s per channel at
//!   16 kHz. Constant bitrate lets players map time to byte offset exactly, so seeking a long
//!   call lands where the user clicked without reading the file first.
//! - **Channels**: mono stays mono; two channels are coded as plain stereo, not joint stereo:
//!   each channel is a different person, and mid/side coding at low bitrates would bleed one
//!   speaker into the other's channel (which transcription relies on to tell them apart).
//! - **Quality**: LAME's algorithm quality 5; lower numbers cost much more time and buy
//!   nothing audible on narrowband speech.
//! - **LAME tag**: the first frame carries the exact length and the encoder's delay and
//!   padding, so players and ffprobe report the source's duration, not the padded one.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use mp3lame_encoder::{
    Bitrate, Builder, DualPcm, Encoder, FlushNoGap, Mode, MonoPcm, Quality, VbrMode,
};

use crate::AudioError;

/// The encoding chosen for a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceProfile {
    pub sample_rate: u32,
    /// 1 or 2.
    pub channels: u16,
    pub kbps_per_channel: u16,
}

impl VoiceProfile {
    /// The settings for a source of this rate and channel count (more than two channels are
    /// mixed down to one).
    #[must_use]
    pub fn for_source(sample_rate: u32, channels: u16) -> Self {
        let sample_rate = match sample_rate {
            8000 | 11025 | 12000 | 16000 => sample_rate,
            _ => 16000,
        };
        let kbps_per_channel = if sample_rate <= 12000 { 24 } else { 32 };
        let channels = if channels == 2 { 2 } else { 1 };
        Self {
            sample_rate,
            channels,
            kbps_per_channel,
        }
    }

    #[must_use]
    pub fn kbps(&self) -> u16 {
        self.kbps_per_channel * self.channels
    }

    fn bitrate(&self) -> Bitrate {
        match self.kbps() {
            24 => Bitrate::Kbps24,
            32 => Bitrate::Kbps32,
            48 => Bitrate::Kbps48,
            _ => Bitrate::Kbps64,
        }
    }
}

fn encode_error(what: &str, e: impl std::fmt::Debug) -> AudioError {
    AudioError::Encode(format!("{what}: {e:?}"))
}

/// Writes an MP3 file from planar samples, block by block.
pub struct Mp3Writer {
    encoder: Encoder,
    out: BufWriter<File>,
    buf: Vec<u8>,
    profile: VoiceProfile,
    bytes: u64,
}

impl Mp3Writer {
    pub fn create(path: &Path, profile: VoiceProfile) -> Result<Self, AudioError> {
        let mut builder =
            Builder::new().ok_or_else(|| AudioError::Encode("LAME did not start".into()))?;
        builder
            .set_num_channels(u8::try_from(profile.channels).unwrap_or(1))
            .map_err(|e| encode_error("channels", e))?;
        builder
            .set_sample_rate(profile.sample_rate)
            .map_err(|e| encode_error("sample rate", e))?;
        builder
            .set_output_sample_rate(std::num::NonZeroU32::new(profile.sample_rate))
            .map_err(|e| encode_error("output sample rate", e))?;
        builder
            .set_vbr_mode(VbrMode::Off)
            .map_err(|e| encode_error("vbr mode", e))?;
        builder
            .set_brate(profile.bitrate())
            .map_err(|e| encode_error("bitrate", e))?;
        builder
            .set_mode(if profile.channels == 2 {
                Mode::Stereo
            } else {
                Mode::Mono
            })
            .map_err(|e| encode_error("mode", e))?;
        builder
            .set_quality(Quality::Good)
            .map_err(|e| encode_error("quality", e))?;
        builder
            .set_to_write_vbr_tag(true)
            .map_err(|e| encode_error("LAME tag", e))?;
        let encoder = builder.build().map_err(|e| encode_error("settings", e))?;
        Ok(Self {
            encoder,
            out: BufWriter::new(File::create(path)?),
            buf: Vec::new(),
            profile,
            bytes: 0,
        })
    }

    #[must_use]
    pub fn profile(&self) -> VoiceProfile {
        self.profile
    }

    /// Encodes one block: a plane per channel (as many as the profile has), equal lengths.
    pub fn write(&mut self, planes: &[Vec<f32>]) -> Result<(), AudioError> {
        let frames = planes.first().map_or(0, Vec::len);
        if frames == 0 {
            return Ok(());
        }
        self.buf.clear();
        self.buf
            .reserve(mp3lame_encoder::max_required_buffer_size(frames));
        let written = match planes {
            [mono] => self
                .encoder
                .encode_to_vec(MonoPcm(mono.as_slice()), &mut self.buf),
            [left, right, ..] => self
                .encoder
                .encode_to_vec(DualPcm { left, right }, &mut self.buf),
            [] => return Ok(()),
        }
        .map_err(|e| encode_error("encoding", e))?;
        self.out.write_all(&self.buf[..written])?;
        self.bytes += written as u64;
        Ok(())
    }

    /// Flushes the encoder and puts the LAME tag in the first frame. Returns the file's size.
    pub fn finish(mut self) -> Result<u64, AudioError> {
        self.buf.clear();
        self.buf
            .reserve(mp3lame_encoder::max_required_buffer_size(0).max(7200));
        let written = self
            .encoder
            .flush_to_vec::<FlushNoGap>(&mut self.buf)
            .map_err(|e| encode_error("flushing", e))?;
        self.out.write_all(&self.buf[..written])?;
        self.bytes += written as u64;
        self.buf.clear();
        self.buf.reserve(self.encoder.lame_tag_size());
        if self.encoder.lame_tag_encode_to_vec(&mut self.buf).is_some() {
            // LAME left room for the tag at the very start (no ID3 tag is written before it).
            self.out.flush()?;
            let file = self.out.get_mut();
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&self.buf)?;
        }
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| AudioError::Io(e.into_error()))?;
        file.flush()?;
        file.sync_all()?;
        Ok(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telephone_rates_are_kept_and_the_rest_become_wideband() {
        assert_eq!(
            VoiceProfile::for_source(8000, 1),
            VoiceProfile {
                sample_rate: 8000,
                channels: 1,
                kbps_per_channel: 24
            }
        );
        assert_eq!(VoiceProfile::for_source(8000, 2).kbps(), 48);
        assert_eq!(VoiceProfile::for_source(16000, 2).kbps(), 64);
        assert_eq!(VoiceProfile::for_source(44100, 2).sample_rate, 16000);
        assert_eq!(VoiceProfile::for_source(48000, 1).kbps(), 32);
        assert_eq!(
            VoiceProfile::for_source(48000, 6).channels,
            1,
            "more than two channels mix down"
        );
    }
}
