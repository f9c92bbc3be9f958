//! `callvault bench …`: our pipelines against the tools they compete with, measured in the
//! same run on the same inputs; the last line is always `ratio <anchor_time/our_time>`.

mod asr;
mod audio;
mod signal;
mod store;

use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Decode + encode + peaks against `ffmpeg -c:a libmp3lame`, on generated calls.
    Audio {
        /// Length of each generated call, in minutes.
        #[arg(long, default_value_t = 10)]
        minutes: u32,
        /// Timed runs per input; the best counts.
        #[arg(long, default_value_t = 3)]
        runs: u32,
        /// Also transcode a two-hour two-channel call and report its peak memory.
        #[arg(long)]
        long: bool,
    },
    /// Transcription against faster-whisper (same model, threads, compute type and beam), on
    /// two-channel calls spoken by espeak-ng voices; prints throughput and word error rates.
    Asr {
        /// Minutes of calls to transcribe (about a minute each).
        #[arg(long, default_value_t = 5)]
        minutes: u32,
        #[command(flatten)]
        asr: crate::config::AsrArgs,
    },
    /// The inbox and transcript search at scale on each backend, against hand-written SQL with
    /// the best index; the last line is `worst inbox p99 <N> ms`.
    Store(store::Options),
    /// Transcodes one file and prints the process's peak memory (used by `bench audio`).
    #[command(hide = true)]
    AudioChild {
        input: std::path::PathBuf,
        output: std::path::PathBuf,
    },
}

pub async fn run(config: Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Store(options) => store::run(options).await,
        other => tokio::task::spawn_blocking(move || run_blocking(&config, other)).await?,
    }
}

fn run_blocking(config: &Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Store(_) => unreachable!("run awaits the store benchmark"),
        BenchCommand::Asr { minutes, .. } => asr::run(&asr::Options {
            model: config.asr_model.clone(),
            minutes,
            engine: config.asr.clone(),
        }),
        BenchCommand::Audio {
            minutes,
            runs,
            long,
        } => audio::run(minutes, runs.max(1), long),
        BenchCommand::AudioChild { input, output } => audio::child(&input, &output),
    }
}
