//! `callvault`: the one binary. `serve` runs the server; the other commands manage users and
//! tokens against the same database.

mod commands;
mod config;
mod store;

use clap::{Parser, Subcommand};
use config::{CommonArgs, ConfigArgs, LogFormat, ProcessArgs, SiprecArgs, WebArgs};

#[derive(Parser)]
#[command(
    name = "callvault",
    version,
    about = "Self-hosted call recording for teams"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server and, unless --no-worker, the background workers.
    Serve {
        /// Do not run background jobs in this process (run `callvault worker` elsewhere).
        #[arg(long)]
        no_worker: bool,
        #[command(flatten)]
        web: WebArgs,
        #[command(flatten)]
        siprec: Box<SiprecArgs>,
        #[command(flatten)]
        process: ProcessArgs,
    },
    /// Run background jobs only, with /healthz, /readyz and /metrics on --listen.
    Worker {
        /// Which jobs this worker takes: media (fetching and cleaning up audio), transcribe,
        /// or all.
        #[arg(long, value_enum, default_value_t = commands::serve::Jobs::All)]
        jobs: commands::serve::Jobs,
        #[command(flatten)]
        process: ProcessArgs,
    },
    /// Manage users.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
    /// Import calls and recordings from a phone system.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Manage the speech model.
    #[command(subcommand)]
    Model(commands::model::ModelCommand),
    /// Print the transcript of a recording.
    Transcribe(commands::transcribe::TranscribeArgs),
    /// Migrate the database, or copy an installation to PostgreSQL.
    #[command(subcommand)]
    Db(commands::db::DbCommand),
    /// Copy the recordings' audio into another audio store (S3).
    #[command(subcommand)]
    Blob(commands::blob::BlobCommand),
    /// Benchmarks against the tools callvault competes with.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

impl Command {
    /// The settings this command takes, as its command line gave them.
    fn settings(&self, common: CommonArgs) -> ConfigArgs {
        let mut args = ConfigArgs {
            common,
            ..ConfigArgs::default()
        };
        match self {
            Self::Serve {
                web,
                siprec,
                process,
                ..
            } => {
                args.web = web.clone();
                args.siprec = (**siprec).clone();
                process.fill(&mut args);
            }
            Self::Worker { process, .. } => process.fill(&mut args),
            Self::Import(commands::import::ImportCommand::Asterisk { blob, .. })
            | Self::Blob(commands::blob::BlobCommand::Copy { from: blob, .. }) => {
                args.blob = blob.clone();
            }
            Self::Model(commands::model::ModelCommand::Fetch { asr })
            | Self::Transcribe(commands::transcribe::TranscribeArgs { asr, .. })
            | Self::Bench(
                commands::bench::BenchCommand::Asr { asr, .. }
                | commands::bench::BenchCommand::Workers { asr, .. },
            ) => {
                args.asr = asr.clone();
            }
            Self::User(_) | Self::Token(_) | Self::Db(_) | Self::Bench(_) => {}
        }
        args
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,symphonia=warn"));
    // Colours only for a person at a terminal: in a file or a pipe they are escape codes.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("callvault: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run());
    // Work left on blocking threads when the server stops (a model download, a model load)
    // must not hold the exit: what it leaves is cleaned up at the next start.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    code
}

async fn run() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = cli.command.settings(cli.common);
    let config = match args.resolve(&|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("callvault: configuration: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    let result = match cli.command {
        Command::Serve { no_worker, .. } => commands::serve::run(config, !no_worker).await,
        Command::Worker { jobs, .. } => commands::serve::run_worker(config, jobs.into()).await,
        Command::User(cmd) => commands::user::run(config, cmd).await,
        Command::Token(cmd) => commands::token::run(config, cmd).await,
        Command::Import(cmd) => commands::import::run(config, cmd).await,
        Command::Db(cmd) => commands::db::run(config, cmd).await,
        Command::Model(cmd) => blocking(move || commands::model::run(&config, &cmd)).await,
        Command::Transcribe(args) => {
            blocking(move || commands::transcribe::run(&config, &args)).await
        }
        Command::Bench(cmd) => commands::bench::run(config, cmd).await,
        Command::Blob(cmd) => commands::blob::run(config, cmd).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("callvault: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs a command that blocks (pip, the speech model, benchmarks) off the async runtime.
async fn blocking(
    command: impl FnOnce() -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(command).await?
}
