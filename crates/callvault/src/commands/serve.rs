//! `callvault serve` and `callvault worker`.

use anyhow::Context;
use callvault_app::first_admin;
use callvault_app::jobs::WorkerJobs;
use callvault_server::AppState;
use tokio::net::TcpListener;

use super::open_app;
use crate::config::Config;

pub async fn run(config: Config, workers: bool) -> anyhow::Result<()> {
    let state = AppState::from_app(open_app(&config, workers).await?);
    if workers {
        install_model(&state);
    }
    if let Some(admin) = first_admin::ensure_first_admin(&state)
        .await
        .context("creating the first admin")?
    {
        println!("callvault: this is the first start, so an admin account was created.");
        println!("  email:    {}", admin.email);
        println!("  password: {}", admin.password);
        println!(
            "This password is shown only now. Sign in and change it (POST /api/v1/auth/password),"
        );
        println!(
            "or set a new one with: callvault user passwd --email {}",
            admin.email
        );
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    let metrics = MetricsListener::start(&config, &state).await?;
    let siprec = match config.siprec.clone() {
        Some(siprec) => Some(start_siprec(&state, siprec).await?),
        None => None,
    };
    println!("callvault: serving on http://{address}");
    tracing::info!(
        %address,
        public_url = %config.public_url,
        database = state.store.backend(),
        audio = state.blobs.description(),
        workers,
        "callvault is serving"
    );
    callvault_server::serve(listener, state, shutdown_signal())
        .await
        .context("serving")?;
    if let Some(siprec) = siprec {
        siprec.stop().await;
    }
    metrics.stop().await;
    tracing::info!("callvault stopped");
    Ok(())
}

/// Stores what a killed server left of its SIPREC sessions, then starts the recording server.
async fn start_siprec(
    state: &AppState,
    config: callvault_siprec::SiprecConfig,
) -> anyhow::Result<callvault_siprec::SiprecServer> {
    let recovered = callvault_siprec::recover(state).await;
    if recovered > 0 {
        println!("callvault: stored {recovered} SIPREC recordings a stopped server had cut short");
    }
    let server = callvault_siprec::SiprecServer::start((**state).clone(), config)
        .await
        .context("starting the SIPREC recording server")?;
    match server.tls_addr {
        Some(tls) => println!(
            "callvault: SIPREC recording server on {} (UDP and TCP), TLS on {tls}",
            server.local_addr
        ),
        None => println!(
            "callvault: SIPREC recording server on {} (UDP and TCP)",
            server.local_addr
        ),
    }
    Ok(server)
}

/// The jobs a worker takes, as the command line names them.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Jobs {
    All,
    Media,
    Transcribe,
}

impl From<Jobs> for WorkerJobs {
    fn from(jobs: Jobs) -> Self {
        match jobs {
            Jobs::All => Self::All,
            Jobs::Media => Self::Media,
            Jobs::Transcribe => Self::Transcribe,
        }
    }
}

pub async fn run_worker(config: Config, jobs: WorkerJobs) -> anyhow::Result<()> {
    let app = open_app(&config, true).await?;
    // Only a worker that transcribes needs the model.
    if jobs != WorkerJobs::Media {
        install_model(&app);
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr()?;
    println!(
        "callvault: worker for {} jobs, health on http://{address}",
        jobs.as_str()
    );
    tracing::info!(%address, jobs = jobs.as_str(), database = app.store.backend(), audio = app.blobs.description(), "callvault worker started");
    let state = AppState::from_app(app);
    let metrics = MetricsListener::start(&config, &state).await?;
    callvault_server::serve_worker(listener, state, jobs, shutdown_signal())
        .await
        .context("serving")?;
    metrics.stop().await;
    tracing::info!("callvault worker stopped");
    Ok(())
}

/// On first start the default speech model is installed in the background; transcription
/// jobs wait for it and start when it is in place.
fn install_model(state: &callvault_app::App) {
    let jobs = state.jobs.clone();
    state
        .speech
        .install_in_background(&state.settings.asr, move || jobs.wake());
}

/// `--metrics-listen`: `/metrics` on an address of its own, stopped with the process.
struct MetricsListener(
    Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
);

impl MetricsListener {
    async fn start(config: &Config, state: &AppState) -> anyhow::Result<Self> {
        let Some(address) = config.metrics_listen else {
            return Ok(Self(None));
        };
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("listening for metrics on {address}"))?;
        println!(
            "callvault: metrics on http://{}/metrics",
            listener.local_addr()?
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = state.clone();
        let task = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            if let Err(e) = callvault_server::serve_metrics(listener, state, stopped).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
        Ok(Self(Some((stop, task))))
    }

    async fn stop(self) {
        if let Some((stop, task)) = self.0 {
            drop(stop);
            let _ = task.await;
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM, so the server finishes what it is doing and stops.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
