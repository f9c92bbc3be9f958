//! `callvault bench asr`: our transcription against faster-whisper, on the same model folder,
//! threads, compute type and beam, on two-channel 8 kHz calls spoken by espeak-ng voices with
//! known text. Both transcribe each channel (one party each) and are scored by word error rate
//! against what was said; the last line is `ratio <our_throughput/anchor_throughput>`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use callvault_asr::{Engine, EngineOptions};

use super::signal::{Rng, write_stereo_wav};

/// The anchor, pinned, installed by the bench in its own virtual environment.
const ANCHOR: &str = "faster-whisper==1.2.1";

const RATE: u32 = 8000;

/// What the parties say: support-call lines without digits (so the score does not depend on
/// how numbers are written).
const CONTACT_LINES: &[&str] = &[
    "Hello, I am calling about the invoice I received last week.",
    "The amount looks higher than what we agreed on.",
    "I would like to change the delivery address on my order.",
    "Can you tell me when the technician will arrive?",
    "My internet connection drops every evening.",
    "I already restarted the router twice this morning.",
    "We moved to a new office and the phones stopped working.",
    "Could you send me a copy of the contract by email?",
    "I was charged twice for the same subscription.",
    "The package arrived damaged and the box was open.",
    "Is it possible to cancel the appointment on Friday?",
    "I spoke with one of your colleagues yesterday.",
    "Nobody called me back after my last complaint.",
    "I need the receipt for my accounting department.",
    "Please keep the account open until the end of the month.",
];

const AGENT_LINES: &[&str] = &[
    "Thank you for calling, how can I help you today?",
    "Let me look up your account, one moment please.",
    "I can see the order here in our system.",
    "I am sorry about the trouble, let me fix that for you.",
    "I have updated the address and sent you a confirmation.",
    "The technician will visit you tomorrow morning.",
    "I will refund the second payment to your card.",
    "Could you confirm your full name and email address?",
    "I have added a note to your file for my colleagues.",
    "You will receive the documents within the hour.",
    "Is there anything else I can help you with?",
    "Thank you for your patience, have a great day.",
    "I have moved the appointment to next week as you asked.",
    "Let me transfer this to our billing team right away.",
    "The replacement will be shipped at no extra cost.",
];

const CONTACT_VOICES: &[&str] = &["en-us", "en-us+f3", "en-gb-scotland"];
const AGENT_VOICES: &[&str] = &["en-gb", "en-gb-x-rp+f2", "en-us+m3"];

pub struct Options {
    pub model: PathBuf,
    pub minutes: u32,
    pub engine: EngineOptions,
}

struct Call {
    path: PathBuf,
    seconds: f64,
    /// What was said, turn by turn.
    reference: String,
}

/// One line spoken by an espeak-ng voice, at 8 kHz.
fn speak(voice: &str, text: &str, dir: &Path) -> anyhow::Result<Vec<f32>> {
    let wav = dir.join("line.wav");
    let status = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "160", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .context("running espeak-ng (install it: apt-get install espeak-ng)")?;
    if !status.success() {
        bail!("espeak-ng failed for voice {voice}");
    }
    let mut samples = Vec::new();
    callvault_audio::stream_at(&wav, RATE, &mut |planes| {
        samples.extend_from_slice(&planes[0]);
        Ok(())
    })?;
    Ok(samples)
}

/// Calls of about a minute each, adding up to `minutes`: the parties take turns with pauses,
/// and now and then the contact is put on hold.
fn make_calls(dir: &Path, minutes: u32) -> anyhow::Result<Vec<Call>> {
    let mut rng = Rng(0x5EED);
    let mut calls = Vec::new();
    let mut total = 0.0;
    let target = f64::from(minutes.max(1)) * 60.0;
    while total < target {
        let n = calls.len();
        let voices = [
            CONTACT_VOICES[n % CONTACT_VOICES.len()],
            AGENT_VOICES[n % AGENT_VOICES.len()],
        ];
        let mut channels = [Vec::<f32>::new(), Vec::<f32>::new()];
        let mut cursor = RATE as usize / 2;
        let mut reference = Vec::new();
        let mut party = 1; // the team member answers
        while cursor < 60 * RATE as usize {
            let lines = if party == 0 {
                CONTACT_LINES
            } else {
                AGENT_LINES
            };
            let line = lines[rng.below(lines.len())];
            let audio = speak(voices[party], line, dir)?;
            let end = cursor + audio.len();
            for channel in &mut channels {
                channel.resize(end.max(channel.len()), 0.0);
            }
            channels[party][cursor..end].copy_from_slice(&audio);
            reference.push(line);
            let pause = if rng.below(8) == 0 {
                6.0
            } else {
                0.4 + 0.2 * rng.below(6) as f64
            };
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a few seconds"
            )]
            let gap = (pause * f64::from(RATE)) as usize;
            cursor = end + gap;
            party = 1 - party;
        }
        for channel in &mut channels {
            channel.resize(cursor, 0.0);
        }
        let path = dir.join(format!("call-{n}.wav"));
        write_stereo_wav(&path, RATE, &channels[0], &channels[1])?;
        #[allow(clippy::cast_precision_loss, reason = "samples of a call")]
        let seconds = cursor as f64 / f64::from(RATE);
        total += seconds;
        calls.push(Call {
            path,
            seconds,
            reference: reference.join(" "),
        });
    }
    Ok(calls)
}

fn normalise(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('\'', "")
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Word errors (substitutions, deletions, insertions) and reference words.
fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let (r, h) = (normalise(reference), normalise(hypothesis));
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (previous + usize::from(rw != hw))
                .min(row[j] + 1)
                .min(here + 1);
            previous = here;
        }
    }
    (row[h.len()], r.len())
}

fn percent(errors: usize, words: usize) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "word counts")]
    let p = 100.0 * errors as f64 / words.max(1) as f64;
    p
}

/// The anchor's side, in Python: both channels of each call, one after the other, timed
/// per call after the model is loaded.
const ANCHOR_SCRIPT: &str = r#"
import json, sys, time
from faster_whisper import WhisperModel, decode_audio
model_dir, threads, compute, beam = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
model = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=threads, num_workers=1)
calls = []
for path in sys.argv[5:]:
    started = time.perf_counter()
    parts = []
    for channel, audio in enumerate(decode_audio(path, sampling_rate=16000, split_stereo=True)):
        segments, _ = model.transcribe(audio, beam_size=beam, language="en")
        parts.extend((s.start, channel, s.text) for s in segments)
    parts.sort()
    calls.append({"seconds": time.perf_counter() - started, "text": " ".join(p[2] for p in parts)})
print(json.dumps(calls))
"#;

fn anchor_python() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    let venv = std::env::var_os("CALLVAULT_BENCH_VENV")
        .map_or_else(|| home.join(".cache/callvault-bench-venv"), PathBuf::from);
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import faster_whisper"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        eprintln!("installing {ANCHOR} into {} …", venv.display());
        let made = Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg(&venv)
            .status()?;
        if !made.success() {
            bail!("python3 -m venv failed (install python3-venv)");
        }
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", ANCHOR])
            .status()?;
        if !installed.success() {
            bail!("pip could not install {ANCHOR}");
        }
    }
    Ok(python)
}

struct Side {
    wall: f64,
    errors: usize,
    words: usize,
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    eprintln!("speaking the calls with espeak-ng …");
    let calls = make_calls(dir.path(), options.minutes)?;
    let audio: f64 = calls.iter().map(|c| c.seconds).sum();
    // Both sides get the same explicit thread count ("every core" means different things
    // to each).
    let mut engine = options.engine.clone();
    if engine.threads == 0 {
        engine.threads =
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    }
    let engine = &engine;
    println!(
        "callvault bench asr: {} two-channel 8 kHz calls, {:.1} min of audio; model {}; {} threads, {}, beam {}",
        calls.len(),
        audio / 60.0,
        options.model.display(),
        engine.threads,
        engine.compute_type,
        engine.beam_size
    );

    let ours = {
        let model = Engine::load(&options.model, engine)?;
        let mut side = Side {
            wall: 0.0,
            errors: 0,
            words: 0,
        };
        for call in &calls {
            let started = Instant::now();
            let t = callvault_asr::transcribe(
                &model,
                &call.path,
                callvault_asr::Options::default(),
                &mut |_| true,
            )?;
            side.wall += started.elapsed().as_secs_f64();
            let text: Vec<&str> = t.segments.iter().map(|s| s.text.as_str()).collect();
            let (e, w) = word_errors(&call.reference, &text.join(" "));
            side.errors += e;
            side.words += w;
        }
        side
    };

    let python = anchor_python()?;
    let script = dir.path().join("anchor.py");
    std::fs::write(&script, ANCHOR_SCRIPT)?;
    let output = Command::new(python)
        .arg(&script)
        .arg(&options.model)
        .arg(engine.threads.to_string())
        .arg(&engine.compute_type)
        .arg(engine.beam_size.to_string())
        .args(calls.iter().map(|c| &c.path))
        .output()
        .context("running faster-whisper")?;
    if !output.status.success() {
        bail!(
            "faster-whisper failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).context("reading faster-whisper's results")?;
    let mut anchor = Side {
        wall: 0.0,
        errors: 0,
        words: 0,
    };
    for (call, result) in calls.iter().zip(&results) {
        anchor.wall += result["seconds"].as_f64().unwrap_or(0.0);
        let (e, w) = word_errors(&call.reference, result["text"].as_str().unwrap_or_default());
        anchor.errors += e;
        anchor.words += w;
    }

    println!(
        "{:<16} {:>10} {:>16} {:>8}",
        "", "wall s", "audio s / wall s", "WER %"
    );
    for (name, side) in [("callvault", &ours), ("faster-whisper", &anchor)] {
        println!(
            "{name:<16} {:>10.2} {:>16.1} {:>8.2}",
            side.wall,
            audio / side.wall,
            percent(side.errors, side.words)
        );
    }
    println!("ratio {:.2}", anchor.wall / ours.wall);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::word_errors;

    #[test]
    fn word_errors_count_substitutions_deletions_and_insertions() {
        assert_eq!(word_errors("Hello, world!", "hello world"), (0, 2));
        assert_eq!(word_errors("the cat sat", "the bat sat down"), (2, 3));
        assert_eq!(word_errors("I don't know", "I dont"), (1, 3));
        assert_eq!(word_errors("one two", ""), (2, 2));
    }
}
