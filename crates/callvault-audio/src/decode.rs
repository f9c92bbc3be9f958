//! Decoding with symphonia into planar `f32` blocks, one block per packet, so memory stays
//! bounded whatever the length of the call.

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use crate::AudioError;

/// Share of packets that may fail to decode before the file counts as corrupt: phone systems
/// do write the odd damaged frame, but a file that is mostly damage is not a recording.
const MAX_BAD_PACKET_SHARE: f64 = 0.2;

/// Share of the length a container states that may be missing before it is looked into:
/// missing because the file was cut short (kept, and said), or because bytes that are there
/// did not decode (damage).
const MAX_MISSING_SHARE: f64 = 0.2;

pub struct AudioReader {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    codec_name: &'static str,
    /// Sample rate and channel count, fixed by the first decoded block.
    spec: Option<(u32, u16)>,
    planes: Vec<Vec<f32>>,
    packets: u64,
    bad_packets: u64,
    /// The length the container states, if it states one.
    declared_seconds: Option<f64>,
    /// The size of the file, when the source knows it.
    source_bytes: Option<u64>,
    /// Bytes of the packets that decoded, and the frames they gave.
    good_bytes: u64,
    frames: u64,
    /// Whether less came out than the container states, because the file ends early.
    truncated: bool,
}

/// One decoded stretch of audio: a plane of samples per channel.
pub struct Block<'a> {
    pub sample_rate: u32,
    pub planes: &'a [Vec<f32>],
}

impl Block<'_> {
    #[must_use]
    pub fn frames(&self) -> usize {
        self.planes.first().map_or(0, Vec::len)
    }
}

fn demux_error(e: SymphoniaError) -> AudioError {
    match e {
        SymphoniaError::Unsupported(what) => AudioError::Unsupported(what.into()),
        SymphoniaError::IoError(e) => AudioError::Io(e),
        other => AudioError::Corrupt(other.to_string()),
    }
}

/// Runs decoder code so that a bug in it (a panic on input nobody anticipated; the fuzzer found
/// one in the WAV reader) becomes an answer about the file rather than a crash.
fn contained<T>(f: impl FnOnce() -> Result<T, AudioError>) -> Result<T, AudioError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(AudioError::Corrupt(
            "the decoder could not make sense of this file".into(),
        ))
    })
}

impl AudioReader {
    /// Recognises the container and codec. `extension` is a hint only; content decides.
    pub fn open(source: Box<dyn MediaSource>, extension: Option<&str>) -> Result<Self, AudioError> {
        contained(|| Self::open_unguarded(source, extension))
    }

    fn open_unguarded(
        source: Box<dyn MediaSource>,
        extension: Option<&str>,
    ) -> Result<Self, AudioError> {
        let source_bytes = source.byte_len();
        let stream = MediaSourceStream::new(source, Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = extension {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                stream,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match e {
                SymphoniaError::IoError(_) | SymphoniaError::Unsupported(_) => {
                    AudioError::Unsupported("not a recognised audio format".into())
                }
                other => AudioError::Corrupt(other.to_string()),
            })?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| AudioError::Unsupported("the file has no audio track".into()))?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| AudioError::Unsupported("the audio track has no codec".into()))?;
        let decoder = crate::codecs::registry()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|_| AudioError::Unsupported("no decoder for this codec".into()))?;
        #[allow(clippy::cast_precision_loss, reason = "frames of audio")]
        let declared_seconds = track
            .num_frames
            .zip(params.sample_rate)
            .filter(|(_, rate)| *rate > 0)
            .map(|(frames, rate)| frames as f64 / f64::from(rate));
        let (track_id, codec_name) = (track.id, crate::codecs::name(params.codec));
        Ok(Self {
            track_id,
            codec_name,
            format,
            decoder,
            spec: None,
            planes: Vec::new(),
            packets: 0,
            bad_packets: 0,
            declared_seconds,
            source_bytes,
            good_bytes: 0,
            frames: 0,
            truncated: false,
        })
    }

    #[must_use]
    pub fn codec_name(&self) -> &'static str {
        self.codec_name
    }

    /// The length in seconds the file states in its header, if it does (not checked).
    #[must_use]
    pub fn declared_seconds(&self) -> Option<f64> {
        self.declared_seconds
    }

    /// Whether less audio came out than the container states because the file ends early (a
    /// recording cut short keeps what is there). Known at the end.
    #[must_use]
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Sample rate and channel count, once the first block is decoded.
    #[must_use]
    pub fn format(&self) -> Option<(u32, u16)> {
        self.spec
    }

    /// The next block of audio, or `None` at the end.
    pub fn next_block(&mut self) -> Result<Option<Block<'_>>, AudioError> {
        contained(|| self.next_block_unguarded())
    }

    fn next_block_unguarded(&mut self) -> Result<Option<Block<'_>>, AudioError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return self.finish(),
                // A file cut short ends where the data ends.
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return self.finish();
                }
                Err(e) => return Err(demux_error(e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            self.packets += 1;
            let decoded = match self.decoder.decode(&packet) {
                Ok(decoded) => {
                    self.good_bytes += packet.data.len() as u64;
                    decoded
                }
                Err(SymphoniaError::DecodeError(_) | SymphoniaError::IoError(_)) => {
                    self.bad_packets += 1;
                    continue;
                }
                Err(e) => return Err(demux_error(e)),
            };
            let rate = decoded.spec().rate();
            let channels = u16::try_from(decoded.spec().channels().count())
                .map_err(|_| AudioError::Unsupported("too many channels".into()))?;
            match self.spec {
                None if rate == 0 || channels == 0 => {
                    return Err(AudioError::Corrupt("no sample rate or channels".into()));
                }
                None => self.spec = Some((rate, channels)),
                Some(spec) if spec != (rate, channels) => {
                    return Err(AudioError::Corrupt("the format changes midway".into()));
                }
                Some(_) => {}
            }
            if decoded.frames() == 0 {
                continue;
            }
            self.frames += decoded.frames() as u64;
            decoded.copy_to_vecs_planar::<f32>(&mut self.planes);
            return Ok(Some(Block {
                sample_rate: rate,
                planes: &self.planes,
            }));
        }
    }

    fn finish(&mut self) -> Result<Option<Block<'_>>, AudioError> {
        #[allow(clippy::cast_precision_loss, reason = "a ratio of packet counts")]
        let bad_share = self.bad_packets as f64 / self.packets.max(1) as f64;
        if self.packets > 0 && bad_share > MAX_BAD_PACKET_SHARE {
            return Err(AudioError::Corrupt(format!(
                "{} of {} packets could not be decoded",
                self.bad_packets, self.packets
            )));
        }
        self.check_length()?;
        Ok(None)
    }

    /// Compares what decoded with the length the container states. Less than it by more than
    /// [`MAX_MISSING_SHARE`] is either a file cut short or damage a demuxer skipped without a
    /// word (an MP3 reader resyncs past garbage, so a file half random bytes decoded to half
    /// its length with no bad packet). The bytes tell them apart: at the rate the good packets
    /// went, would the file's size hold the stated length? If so the bytes are there and did
    /// not decode.
    fn check_length(&mut self) -> Result<(), AudioError> {
        let (Some(declared), Some((rate, _))) = (self.declared_seconds, self.spec) else {
            return Ok(());
        };
        #[allow(clippy::cast_precision_loss, reason = "frames and bytes of audio")]
        let decoded = self.frames as f64 / f64::from(rate);
        if decoded <= 0.0 || declared <= 0.0 {
            return Ok(());
        }
        if decoded < declared * (1.0 - MAX_MISSING_SHARE) {
            #[allow(clippy::cast_precision_loss, reason = "bytes of audio")]
            let holds = self.source_bytes.is_some_and(|size| {
                size as f64
                    >= self.good_bytes as f64 * (declared / decoded) * (1.0 - MAX_MISSING_SHARE)
            });
            if holds {
                let lost = declared - decoded;
                return Err(AudioError::Corrupt(format!(
                    "{lost:.1} s of its {declared:.1} s ({:.0} %) could not be decoded",
                    lost / declared * 100.0
                )));
            }
        }
        // A few percent short is how encoders round; more is a file that ends early.
        self.truncated = decoded < declared * 0.97;
        Ok(())
    }
}
