//! Audio in callvault: whatever a phone system sends in, a right MP3 out. Decoding (symphonia,
//! plus libopus), waveform peaks, resampling (rubato) and MP3 encoding (LAME), streamed in one
//! pass. Pure and synchronous: files in, files and values out; no async runtime.

mod codecs;
mod decode;
mod encode;
mod peaks;
mod resample;
mod speech;
mod tone;
mod transcode;

pub use decode::{AudioReader, Block};
pub use encode::{Mp3Writer, VoiceProfile};
pub use peaks::PeaksBuilder;
pub use resample::{BlockSink, StreamResampler};
pub use speech::{SPEECH_RATE, SpeechSource, declared_seconds, load_16k, stream_16k, stream_at};
pub use tone::{TONE_HZ, ToneSpan};
pub use transcode::{Transcoded, sha256_of, transcode, transcode_covering, transcode_file};

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// Not audio this build can read (unknown container or codec).
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    /// Audio of a known kind that is damaged or makes no sense.
    #[error("corrupt audio: {0}")]
    Corrupt(String),
    /// The MP3 encoder refused (a bug or an exotic format, never the user's fault).
    #[error("encoding: {0}")]
    Encode(String),
    #[error("reading or writing audio: {0}")]
    Io(#[from] std::io::Error),
    /// Whoever was reading the stream asked it to stop (their reason is theirs to keep).
    #[error("stopped by the reader")]
    Stopped,
}
