//! `callvault transcribe FILE`: a transcript of one recording, as text or JSON, with the
//! server's model and settings.

use std::path::PathBuf;

use anyhow::Context;
use callvault_asr::{Engine, speaker};
use callvault_store::TranscriptSegment;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::config::Config;

#[derive(clap::Args)]
pub struct TranscribeArgs {
    /// A recording in any format callvault reads.
    pub file: PathBuf,
    /// Print JSON: {language, duration, segments: [{start, end, speaker, text}]}.
    #[arg(long)]
    pub json: bool,
    /// Time each word too (JSON: each segment's `words: [{start, end, text}]`).
    #[arg(long)]
    pub words: bool,
    /// Show what a number that redacts would hide: card and ID details become [redacted],
    /// and the spans its audio would have covered by a tone are listed (JSON: `redactions`).
    /// The file is not changed.
    #[arg(long)]
    pub redact: bool,
    #[command(flatten)]
    pub asr: crate::config::AsrArgs,
}

#[derive(Serialize)]
struct JsonTranscript {
    language: String,
    duration: f64,
    segments: Vec<JsonSegment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redactions: Option<Vec<callvault_core::redaction::RedactedSpan>>,
}

#[derive(Serialize)]
struct JsonSegment {
    /// As the API gives it.
    #[serde(flatten)]
    segment: TranscriptSegment,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    words: Vec<JsonWord>,
}

#[derive(Serialize)]
struct JsonWord {
    start: f64,
    end: f64,
    text: String,
}

/// Milliseconds are as fine as any word time is right.
fn to_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

fn clock(seconds: f64) -> String {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "seconds of a call"
    )]
    let tenths = (seconds * 10.0).round().max(0.0) as u64;
    format!(
        "{:02}:{:02}.{}",
        tenths / 600,
        tenths / 10 % 60,
        tenths % 10
    )
}

pub fn run(config: &Config, args: &TranscribeArgs) -> anyhow::Result<()> {
    let engine =
        Engine::load(&config.asr_model, &config.asr).context("loading the speech model")?;
    let duration = callvault_audio::declared_seconds(&args.file).ok().flatten();
    let bar = match duration {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "seconds of a call"
        )]
        Some(total) => ProgressBar::new(total.ceil() as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} s of audio, {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {pos} s of audio, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    let options = callvault_asr::Options {
        words: args.words || args.redact,
    };
    let transcript = callvault_asr::transcribe(&engine, &args.file, options, &mut |seconds| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "seconds of a call"
        )]
        bar.set_position(seconds as u64);
        true
    })
    .with_context(|| format!("transcribing {}", args.file.display()))?;
    bar.finish_and_clear();
    let channels = transcript.channels;
    let redaction = args
        .redact
        .then(|| callvault_app::jobs::redact::find(&transcript));
    let texts = redaction.as_ref().map(|r| r.texts.clone());
    // Word by word the hidden digits would show again: with --redact there are no words.
    let show_words = args.words && !args.redact;
    let segments = transcript
        .segments
        .into_iter()
        .enumerate()
        .map(|(i, s)| JsonSegment {
            words: s
                .words
                .iter()
                .filter(|_| show_words)
                .map(|w| JsonWord {
                    start: to_ms(w.start),
                    end: to_ms(w.end),
                    text: w.text.trim().to_owned(),
                })
                .collect(),
            segment: TranscriptSegment {
                start: s.start,
                end: s.end,
                channel: u16::try_from(s.channel).ok(),
                speaker: speaker(s.channel, channels, None, None),
                text: texts
                    .as_ref()
                    .and_then(|t| t.get(i).cloned())
                    .unwrap_or(s.text),
            },
        });
    if args.json {
        let out = JsonTranscript {
            language: transcript.language,
            duration: transcript.duration,
            segments: segments.collect(),
            redactions: redaction.map(|r| r.spans),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for JsonSegment { segment: s, .. } in segments {
            println!(
                "[{} → {}] {}: {}",
                clock(s.start),
                clock(s.end),
                s.speaker,
                s.text
            );
        }
        for span in redaction.iter().flat_map(|r| &r.spans) {
            #[allow(clippy::cast_precision_loss, reason = "milliseconds of a call")]
            let (from, to) = (span.start_ms as f64 / 1000.0, span.end_ms as f64 / 1000.0);
            println!(
                "redacted [{} → {}]: {}",
                clock(from),
                clock(to),
                span.kind.label()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_minutes_and_seconds() {
        assert_eq!(super::clock(0.0), "00:00.0");
        assert_eq!(super::clock(83.26), "01:23.3");
    }
}
