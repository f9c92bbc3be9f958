//! The model: a CTranslate2 Whisper model folder (as faster-whisper uses), run on the CPU.

use std::path::Path;

use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};

use crate::AsrError;
use crate::mel::{MelExtractor, WINDOW_FRAMES};
use crate::tokens::{Parsed, Vocabulary};

/// How the model runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// CPU threads for one pass (0: as many as there are cores).
    pub threads: usize,
    /// `int8` (the default on CPU), `int8_float32`, `float32`, or `default` (as converted).
    pub compute_type: String,
    pub beam_size: usize,
    /// Windows read together in one pass (0: one per thread).
    pub batch: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            threads: 0,
            compute_type: "int8".into(),
            beam_size: 5,
            batch: 0,
        }
    }
}

fn compute_type(name: &str) -> Result<ComputeType, AsrError> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "int8" => ComputeType::INT8,
        "int8_float32" => ComputeType::INT8_FLOAT32,
        "float32" => ComputeType::FLOAT32,
        "int16" => ComputeType::INT16,
        "default" => ComputeType::DEFAULT,
        "auto" => ComputeType::AUTO,
        other => {
            return Err(AsrError::Model(format!(
                "unknown compute type {other:?} (int8, int8_float32, float32, int16, default)"
            )));
        }
    })
}

/// Whether a compute type is one the engine knows.
pub fn check_compute_type(name: &str) -> Result<(), AsrError> {
    compute_type(name).map(|_| ())
}

/// What a pass read from one window.
pub struct WindowResult {
    pub parsed: Parsed,
    pub no_speech: bool,
}

pub struct Engine {
    whisper: Whisper,
    vocab: Vocabulary,
    mel: MelExtractor,
    prompt: Vec<String>,
    options: WhisperOptions,
    batch: usize,
    replicas: usize,
}

/// The language transcripts are made in (multilingual models are told it, for now).
const LANGUAGE: &str = "en";

/// Files a model folder cannot do without.
pub const MODEL_FILES: &[&str] = &["model.bin", "config.json"];

/// Whether a folder holds a model (its files are all there).
#[must_use]
pub fn has_model(dir: &Path) -> bool {
    MODEL_FILES.iter().all(|f| dir.join(f).is_file())
}

/// What someone without a model in `dir` is told.
#[must_use]
pub fn no_model(dir: &Path) -> AsrError {
    AsrError::Model(format!(
        "no speech model in {}: install the default one with `callvault model fetch`, or point \
         --asr-model at a CTranslate2 Whisper model folder",
        dir.display()
    ))
}

impl Engine {
    pub fn load(dir: &Path, options: &EngineOptions) -> Result<Self, AsrError> {
        if !has_model(dir) {
            return Err(no_model(dir));
        }
        // The windows of a batch are shared out among replicas of one thread each rather than
        // read by one replica on many threads: the decoder's matrices are small (384 wide for
        // tiny), and threads spent more time handing work over than working.
        let cores = match options.threads {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            n => n,
        };
        // One window per thread by default: with oneDNN a replica reading two windows at once
        // took about as long per window as reading them one after the other, and the batch waited
        // for its longest window (callvault bench asr: batch 2 about 15% faster than 4 on 2 cores).
        let batch = match options.batch {
            0 => cores,
            n => n,
        };
        let replicas = cores.min(batch).max(1);
        let config = Config {
            device: Device::CPU,
            compute_type: compute_type(&options.compute_type)?,
            num_threads_per_replica: (cores / replicas).max(1),
            device_indices: vec![0; replicas],
            ..Config::default()
        };
        let whisper = Whisper::new(dir, config)
            .map_err(|e| AsrError::Model(format!("loading {}: {e}", dir.display())))?;
        let vocab = Vocabulary::load(dir)?;
        // English-only models take the start token alone; multilingual ones are told the
        // language and the task.
        let prompt = if whisper.is_multilingual() {
            vec![
                "<|startoftranscript|>".to_owned(),
                format!("<|{LANGUAGE}|>"),
                "<|transcribe|>".to_owned(),
            ]
        } else {
            vec!["<|startoftranscript|>".to_owned()]
        };
        let whisper_options = WhisperOptions {
            beam_size: options.beam_size.max(1),
            return_scores: true,
            return_no_speech_prob: true,
            ..WhisperOptions::default()
        };
        Ok(Self {
            mel: MelExtractor::new(whisper.n_mels()),
            whisper,
            vocab,
            prompt,
            options: whisper_options,
            batch,
            replicas,
        })
    }

    #[must_use]
    pub fn batch(&self) -> usize {
        self.batch
    }

    #[must_use]
    pub fn language(&self) -> &str {
        LANGUAGE
    }

    /// Reads a batch of windows (each at most 30 s of 16 kHz audio), shared out among the
    /// model's replicas.
    pub fn recognize(&self, windows: &[Vec<f32>]) -> Result<Vec<WindowResult>, AsrError> {
        if self.replicas < 2 || windows.len() < 2 {
            return self.recognize_on_one(windows);
        }
        let share = windows.len().div_ceil(self.replicas);
        std::thread::scope(|scope| {
            let running: Vec<_> = windows
                .chunks(share)
                .map(|part| scope.spawn(move || self.recognize_on_one(part)))
                .collect();
            let mut results = Vec::with_capacity(windows.len());
            for handle in running {
                let part = handle
                    .join()
                    .map_err(|_| AsrError::Engine("a recognition thread panicked".into()))??;
                results.extend(part);
            }
            Ok(results)
        })
    }

    fn recognize_on_one(&self, windows: &[Vec<f32>]) -> Result<Vec<WindowResult>, AsrError> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let n_mels = self.mel.n_mels();
        let mut features: Vec<f32> = Vec::with_capacity(windows.len() * n_mels * WINDOW_FRAMES);
        for audio in windows {
            features.extend(self.mel.window(audio));
        }
        let view = StorageView::new(
            &[windows.len(), n_mels, WINDOW_FRAMES],
            &mut features,
            Device::CPU,
        )
        .map_err(|e| AsrError::Engine(e.to_string()))?;
        let prompts: Vec<Vec<String>> = vec![self.prompt.clone(); windows.len()];
        let results = self
            .whisper
            .generate(&view, &prompts, &self.options)
            .map_err(|e| AsrError::Engine(e.to_string()))?;
        Ok(results
            .into_iter()
            .map(|r| {
                let ids = r.sequences_ids.first().cloned().unwrap_or_default();
                let score = r.scores.first().copied().unwrap_or(0.0);
                // As Whisper does: silence is what the model calls silence and reads with little
                // confidence.
                let no_speech = r.no_speech_prob > 0.6 && score < -1.0;
                WindowResult {
                    parsed: self.vocab.parse(&ids),
                    no_speech,
                }
            })
            .collect())
    }
}
