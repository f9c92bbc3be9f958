//! `callvault bench …`: our pipelines against the tools they compete with, measured in the
//! same run on the same inputs; the last line is always `ratio <anchor_time/our_time>`.

mod asr;
mod audio;
mod process;
mod serve;
mod signal;
mod siprec;
mod store;
mod workers;

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
    /// A recording streamed by `callvault serve` against nginx serving the same file, under
    /// `wrk` (apt-get install wrk nginx); the last line is `ratio <worst callvault/nginx>`.
    Serve(serve::Options),
    /// Recordings fetched, transcoded and stored by one worker process and by two, then
    /// transcribed by one and by two; the last line is `ratio <2 workers / 1>`.
    Workers {
        #[command(flatten)]
        options: workers::Options,
        #[command(flatten)]
        asr: crate::config::AsrArgs,
    },
    /// Concurrent two-stream G.711 SIPREC sessions one server holds with no packet dropped,
    /// and its CPU per session, against a process that only receives the same packets; the
    /// last line is `sessions held with no packet dropped: <N>`.
    Siprec(siprec::Options),
    /// Receives and discards UDP on many sockets (the anchor of `bench siprec`).
    #[command(hide = true)]
    SiprecSink {
        #[arg(long)]
        sockets: usize,
    },
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
        BenchCommand::Serve(options) => serve::run(options).await,
        BenchCommand::Siprec(options) => siprec::run(options).await,
        BenchCommand::SiprecSink { sockets } => siprec::sink(sockets).await,
        BenchCommand::Workers { options, .. } => workers::run(options, &config.asr_model).await,
        other => tokio::task::spawn_blocking(move || run_blocking(&config, other)).await?,
    }
}

fn run_blocking(config: &Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Store(_)
        | BenchCommand::Serve(_)
        | BenchCommand::Workers { .. }
        | BenchCommand::Siprec(_)
        | BenchCommand::SiprecSink { .. } => {
            unreachable!("run awaits the store, serve, workers and siprec benchmarks")
        }
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
