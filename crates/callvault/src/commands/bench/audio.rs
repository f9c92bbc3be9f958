//! The audio benchmark: our decode + encode + peaks in this process against
//! `ffmpeg -threads 1 -c:a libmp3lame` at the same sample rate, bitrate, channels, stereo mode
//! and LAME quality, on the same inputs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use callvault_audio::{VoiceProfile, transcode_file};

use super::signal::write_call;

struct Input {
    label: &'static str,
    file: &'static str,
    /// ffmpeg arguments turning the generated PCM into this input.
    make: &'static [&'static str],
    rate: u32,
    channels: u16,
}

const INPUTS: &[Input] = &[
    Input {
        label: "mono 8 kHz µ-law WAV",
        file: "ulaw-mono-8k.wav",
        make: &["-c:a", "pcm_mulaw", "-ac", "1", "-ar", "8000"],
        rate: 8000,
        channels: 1,
    },
    Input {
        label: "two-channel 8 kHz PCM WAV",
        file: "pcm-2ch-8k.wav",
        make: &["-c:a", "pcm_s16le", "-ar", "8000"],
        rate: 8000,
        channels: 2,
    },
    Input {
        label: "stereo 44.1 kHz MP3",
        file: "stereo-44k.mp3",
        make: &["-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100"],
        rate: 44100,
        channels: 2,
    },
];

fn ffmpeg(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .context("running ffmpeg (apt-get install ffmpeg)")?;
    if !status.success() {
        bail!("ffmpeg failed: {args:?}");
    }
    Ok(())
}

fn best_of(runs: u32, mut once: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        once()?;
        best = best.min(started.elapsed());
    }
    Ok(best)
}

fn times_real_time(audio_s: f64, took: Duration) -> f64 {
    audio_s / took.as_secs_f64().max(1e-9)
}

/// Peak resident memory of a child that transcodes `input`, in MiB.
fn peak_memory_mib(input: &Path, output: &Path) -> anyhow::Result<f64> {
    let exe = std::env::current_exe().context("finding this program")?;
    let out = Command::new(exe)
        .args(["bench", "audio-child"])
        .arg(input)
        .arg(output)
        .output()?;
    if !out.status.success() {
        bail!(
            "the transcoding child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let kib: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("reading the child's peak memory")?;
    Ok(kib / 1024.0)
}

pub fn run(minutes: u32, runs: u32, long: bool) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let seconds = minutes.max(1) * 60;
    let audio_s = f64::from(seconds);
    let source = dir.path().join("source.wav");
    write_call(&source, 44100, 2, seconds)?;
    // Every input must really be what it says, or the two sides would encode different audio.
    let check = |path: &Path, input: &Input| -> anyhow::Result<()> {
        let probe = callvault_audio::load_16k(path).map(|(source, _)| source)?;
        if (probe.sample_rate, probe.channels) != (input.rate, input.channels) {
            bail!(
                "{} came out as {} Hz, {} channels",
                input.label,
                probe.sample_rate,
                probe.channels
            );
        }
        Ok(())
    };
    let source_text = source.to_string_lossy().into_owned();
    println!(
        "callvault bench audio: {} inputs of {minutes} min, best of {runs} runs, one core each",
        INPUTS.len()
    );
    println!(
        "{:<28} {:>8} {:>11} {:>8} {:>11} {:>8}",
        "input", "audio", "ours", "x RT", "ffmpeg", "x RT"
    );
    let (mut ours_total, mut theirs_total) = (Duration::ZERO, Duration::ZERO);
    for input in INPUTS {
        let path = dir.path().join(input.file);
        let mut make = vec!["-i", &source_text];
        make.extend_from_slice(input.make);
        let path_text = path.to_string_lossy().into_owned();
        make.push(&path_text);
        ffmpeg(&make)?;
        check(&path, input)?;

        let ours_out = dir.path().join("ours.mp3");
        let ours = best_of(runs, || {
            transcode_file(&path, &ours_out)?;
            Ok(())
        })?;
        let profile = VoiceProfile::for_source(input.rate, input.channels);
        let (kbps, channels, rate) = (
            format!("{}k", profile.kbps()),
            profile.channels.to_string(),
            profile.sample_rate.to_string(),
        );
        let theirs_out = dir.path().join("ffmpeg.mp3").to_string_lossy().into_owned();
        let theirs = best_of(runs, || {
            ffmpeg(&[
                "-threads",
                "1",
                "-i",
                &path_text,
                "-c:a",
                "libmp3lame",
                "-b:a",
                &kbps,
                "-ac",
                &channels,
                "-ar",
                &rate,
                "-compression_level",
                "5",
                "-joint_stereo",
                "0",
                &theirs_out,
            ])
        })?;
        println!(
            "{:<28} {:>6} s {:>9.3} s {:>7.0}x {:>9.3} s {:>7.0}x",
            input.label,
            seconds,
            ours.as_secs_f64(),
            times_real_time(audio_s, ours),
            theirs.as_secs_f64(),
            times_real_time(audio_s, theirs)
        );
        ours_total += ours;
        theirs_total += theirs;
    }
    println!(
        "{:<28} {:>8} {:>9.3} s {:>8} {:>9.3} s",
        "total",
        "",
        ours_total.as_secs_f64(),
        "",
        theirs_total.as_secs_f64()
    );

    let two_channel = dir.path().join(INPUTS[1].file);
    let mib = peak_memory_mib(&two_channel, &dir.path().join("child.mp3"))?;
    println!("peak memory transcoding {minutes} min of two-channel 8 kHz: {mib:.1} MiB");
    if long {
        let long_source = dir.path().join("long.wav");
        write_call(&long_source, 8000, 2, 2 * 3600)?;
        let started = Instant::now();
        let mib = peak_memory_mib(&long_source, &dir.path().join("long.mp3"))?;
        println!(
            "peak memory transcoding 2 h of two-channel 8 kHz: {mib:.1} MiB ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "ratio {:.2}",
        theirs_total.as_secs_f64() / ours_total.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Transcodes one file and prints the peak resident memory of this process in KiB.
pub fn child(input: &Path, output: &Path) -> anyhow::Result<()> {
    transcode_file(input, output)?;
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc/self/status")?;
    println!("{peak}");
    Ok(())
}
