//! Transcription: Whisper on CTranslate2 (any faster-whisper model folder), over call audio,
//! one channel per party, with silence skipped.

mod engine;
mod mel;
mod packer;
mod repetition;
mod tokens;
mod transcribe;
mod vad;
pub mod words;

pub use engine::{Engine, EngineOptions, MODEL_FILES, check_compute_type, has_model, no_model};
pub use transcribe::{Options, Segment, Transcript, Word, speaker, transcribe};

#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    /// The model folder is missing, incomplete or unreadable.
    #[error("speech model: {0}")]
    Model(String),
    #[error(transparent)]
    Audio(#[from] callvault_audio::AudioError),
    /// The engine failed while running.
    #[error("speech recognition: {0}")]
    Engine(String),
    /// Whoever asked stopped waiting.
    #[error("transcription cancelled")]
    Cancelled,
}
