//! The model: a CTranslate2 Whisper model folder (as faster-whisper uses), run on the CPU.

use std::path::Path;

use ct2rs::sys::{ComputeType, Config, Device, StorageView, Whisper, WhisperOptions};

use crate::AsrError;
use crate::mel::{HOP, MelExtractor, WINDOW_FRAMES};
use crate::tokens::{Parsed, Vocabulary};
use crate::words::{WordTime, snap_to_speech, words_from_alignment};

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
    /// Each word and when it was said, in seconds from the window's start (empty unless
    /// asked for).
    pub words: Vec<WordTime>,
}

/// Seeds CTranslate2's sampling (each thread's generator starts from it).
const FALLBACK_SEED: u32 = 16_000;

/// Temperatures a looping window is read again at (Whisper's, after its greedy first try).
const FALLBACK_TEMPERATURES: [f32; 5] = [0.2, 0.4, 0.6, 0.8, 1.0];

/// Whether the model looped on a window: its whole text compresses like repetition.
fn looped(parsed: &Parsed) -> bool {
    let text: Vec<&str> = parsed
        .segments
        .iter()
        .chain(parsed.open.as_ref())
        .map(|s| s.text.as_str())
        .collect();
    crate::repetition::is_repetition(&text.join(" "))
}

/// The width of the median filter over the attention weights before aligning (Whisper's).
const MEDIAN_FILTER_WIDTH: i64 = 7;

pub struct Engine {
    whisper: Whisper,
    vocab: Vocabulary,
    mel: MelExtractor,
    prompt: Vec<String>,
    /// The prompt's token ids, which alignment starts from.
    prompt_ids: Vec<usize>,
    /// Whether the model knows which attention heads follow time (word timing needs them).
    can_align: bool,
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
        // Sampling (the fallback for a looping window) starts from a fixed seed in each thread.
        ct2rs::sys::set_random_seed(FALLBACK_SEED);
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
        let prompt_ids = prompt
            .iter()
            .map(|t| {
                vocab
                    .id(t)
                    .ok_or_else(|| AsrError::Model(format!("the vocabulary has no {t}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
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
            prompt_ids,
            can_align: has_alignment_heads(dir),
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

    /// Whether this model can time words (its folder names the attention heads to use).
    #[must_use]
    pub fn can_time_words(&self) -> bool {
        self.can_align
    }

    /// Reads a batch of windows (each at most 30 s of 16 kHz audio), shared out among the
    /// model's replicas; with `words`, times each word too.
    pub fn recognize(
        &self,
        windows: &[Vec<f32>],
        words: bool,
    ) -> Result<Vec<WindowResult>, AsrError> {
        if words && !self.can_align {
            return Err(AsrError::Model(
                "this model cannot time words: its config.json names no alignment_heads \
                 (convert it again with a current CTranslate2)"
                    .into(),
            ));
        }
        if self.replicas < 2 || windows.len() < 2 {
            return self.recognize_on_one(windows, words);
        }
        let share = windows.len().div_ceil(self.replicas);
        std::thread::scope(|scope| {
            let running: Vec<_> = windows
                .chunks(share)
                .map(|part| scope.spawn(move || self.recognize_on_one(part, words)))
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

    /// Reads windows on one replica; a window the model looped on is read again at rising
    /// temperatures, as Whisper does, until it reads as speech (or the last try stands).
    fn recognize_on_one(
        &self,
        windows: &[Vec<f32>],
        words: bool,
    ) -> Result<Vec<WindowResult>, AsrError> {
        let mut results = self.read_with(windows, words, &self.options)?;
        for (result, audio) in results.iter_mut().zip(windows) {
            for temperature in FALLBACK_TEMPERATURES {
                if !looped(&result.parsed) {
                    break;
                }
                let options = WhisperOptions {
                    beam_size: 1,
                    sampling_topk: 0,
                    sampling_temperature: temperature,
                    ..self.options.clone()
                };
                let again = self.read_with(std::slice::from_ref(audio), words, &options)?;
                if let Some(again) = again.into_iter().next() {
                    *result = again;
                }
            }
        }
        Ok(results)
    }

    fn read_with(
        &self,
        windows: &[Vec<f32>],
        words: bool,
        options: &WhisperOptions,
    ) -> Result<Vec<WindowResult>, AsrError> {
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
        // Encoded once: generating and aligning both read the encoder's output.
        let encoded = self
            .whisper
            .encode(&view, false)
            .map_err(|e| AsrError::Engine(e.to_string()))?;
        let prompts: Vec<Vec<String>> = vec![self.prompt.clone(); windows.len()];
        let results = self
            .whisper
            .generate(&encoded, &prompts, options)
            .map_err(|e| AsrError::Engine(e.to_string()))?;
        let sequences: Vec<Vec<usize>> = results
            .iter()
            .map(|r| r.sequences_ids.first().cloned().unwrap_or_default())
            .collect();
        let mut timed = if words {
            self.time_words(&encoded, windows, &sequences)?
        } else {
            Vec::new()
        };
        timed.resize_with(windows.len(), Vec::new);
        Ok(results
            .iter()
            .zip(sequences)
            .zip(timed)
            .map(|((r, ids), words)| {
                let score = r.scores.first().copied().unwrap_or(0.0);
                // As Whisper does: silence is what the model calls silence and reads with little
                // confidence.
                let no_speech = r.no_speech_prob > 0.6 && score < -1.0;
                WindowResult {
                    parsed: self.vocab.parse(&ids),
                    no_speech,
                    words,
                }
            })
            .collect())
    }

    /// Times the words of each window's text by the model's cross-attention (CTranslate2's
    /// `align`, as faster-whisper's word timestamps do).
    fn time_words(
        &self,
        encoded: &StorageView<'static>,
        windows: &[Vec<f32>],
        sequences: &[Vec<usize>],
    ) -> Result<Vec<Vec<WordTime>>, AsrError> {
        let texts: Vec<Vec<usize>> = sequences.iter().map(|s| self.vocab.text_ids(s)).collect();
        if texts.iter().all(Vec::is_empty) {
            return Ok(Vec::new());
        }
        // The batch must line up with the encoder's: a window without text is given one token,
        // and what comes back for it is dropped.
        let filler = self.vocab.id(".").unwrap_or(0);
        let tokens: Vec<Vec<usize>> = texts
            .iter()
            .map(|t| {
                if t.is_empty() {
                    vec![filler]
                } else {
                    t.clone()
                }
            })
            .collect();
        let frames: Vec<usize> = windows
            .iter()
            .map(|w| (w.len() / HOP).clamp(1, WINDOW_FRAMES))
            .collect();
        let aligned = self
            .whisper
            .align(
                encoded,
                &self.prompt_ids,
                &tokens,
                &frames,
                MEDIAN_FILTER_WIDTH,
            )
            .map_err(|e| AsrError::Engine(format!("timing words: {e}")))?;
        Ok(texts
            .iter()
            .zip(aligned)
            .zip(windows)
            .map(|((text, result), audio)| {
                if text.is_empty() {
                    return Vec::new();
                }
                let bytes: Vec<Vec<u8>> = text.iter().map(|&id| self.vocab.bytes(id)).collect();
                let path: Vec<(usize, usize)> = result
                    .alignments
                    .iter()
                    .filter_map(|a| {
                        Some((
                            usize::try_from(a.token_x).ok()?,
                            usize::try_from(a.frame_x).ok()?,
                        ))
                    })
                    .collect();
                let mut words = words_from_alignment(&bytes, &path);
                snap_to_speech(&mut words, audio);
                words
            })
            .collect())
    }
}

/// Whether a model folder's config.json names the attention heads that follow time.
fn has_alignment_heads(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("config.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|config| {
            config["alignment_heads"]
                .as_array()
                .is_some_and(|heads| !heads.is_empty())
        })
}
