//! The speech model as the workers share it: loaded on first use, kept while transcriptions
//! come, and freed after a while with none (it holds hundreds of MiB). On first start the
//! default model is installed in the background; transcription jobs wait for it.

pub mod install;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use callvault_asr::Engine;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::{Mutex, watch};

use crate::settings::AsrSettings;

/// The default model's folder under `<data-dir>/models`.
pub const DEFAULT_MODEL_DIR: &str = "whisper-tiny.en";

/// Where installing the default model stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Install {
    /// Not started: either the model is there or nobody asked.
    #[default]
    Idle,
    Running,
    Failed(String),
}

/// How long the model stays loaded with no transcription, unless set otherwise.
pub const DEFAULT_IDLE_UNLOAD: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct Speech {
    engine: Mutex<Option<Loaded>>,
    install: watch::Sender<Install>,
    /// 1 while the model is in memory: shown on `/metrics`, so an operator sees which
    /// processes hold it.
    loaded: Gauge,
}

/// The loaded model, and when it was last seen in use.
struct Loaded {
    engine: Arc<Engine>,
    used_at: Instant,
}

impl Speech {
    /// Adds the model's gauge to a registry (it stays shared with this value).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "speech_model_loaded",
            "Whether this process holds the speech model in memory",
            self.loaded.clone(),
        );
    }

    /// Whether the model is in memory now.
    pub async fn is_loaded(&self) -> bool {
        self.engine.lock().await.is_some()
    }

    /// The model, loaded if it is not yet (and freed after `settings.idle_unload` unused);
    /// waits while the default model is being installed.
    /// The error says what is missing and how to install it.
    pub async fn engine(self: &Arc<Self>, settings: &AsrSettings) -> Result<Arc<Engine>, String> {
        let mut installing = self.install.subscribe();
        loop {
            if callvault_asr::has_model(&settings.model) {
                break;
            }
            let state = installing.borrow_and_update().clone();
            match state {
                Install::Running => {
                    if installing.changed().await.is_err() {
                        return Err("the model installation stopped".into());
                    }
                }
                Install::Failed(reason) => return Err(reason),
                Install::Idle => {
                    return Err(callvault_asr::no_model(&settings.model).to_string());
                }
            }
        }
        let mut slot = self.engine.lock().await;
        if let Some(loaded) = slot.as_mut() {
            loaded.used_at = Instant::now();
            return Ok(loaded.engine.clone());
        }
        let (dir, options) = (settings.model.clone(), settings.engine.clone());
        let engine = tokio::task::spawn_blocking(move || Engine::load(&dir, &options))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let engine = Arc::new(engine);
        *slot = Some(Loaded {
            engine: engine.clone(),
            used_at: Instant::now(),
        });
        self.loaded.set(1);
        tokio::spawn(Self::unload_when_idle(
            Arc::downgrade(self),
            settings.idle_unload,
        ));
        Ok(engine)
    }

    /// Frees the model once it has gone unused for `idle`: looked at a few times per period;
    /// a model in a transcription's hands counts as in use.
    async fn unload_when_idle(speech: Weak<Self>, idle: Duration) {
        let every = (idle / 4).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(every).await;
            let Some(this) = speech.upgrade() else { return };
            let mut slot = this.engine.lock().await;
            let Some(loaded) = slot.as_mut() else { return };
            if Arc::strong_count(&loaded.engine) > 1 {
                loaded.used_at = Instant::now();
            } else if loaded.used_at.elapsed() >= idle {
                *slot = None;
                this.loaded.set(0);
                tracing::info!(?idle, "speech model freed after a while unused");
                return;
            }
        }
    }

    /// Installs the default model in the background if it is the one configured and missing.
    /// Returns at once; `then` runs when the model is in place.
    pub fn install_in_background(
        self: &Arc<Self>,
        settings: &AsrSettings,
        then: impl FnOnce() + Send + 'static,
    ) {
        if !settings.install_default || callvault_asr::has_model(&settings.model) {
            return;
        }
        self.install.send_replace(Install::Running);
        let (this, dir) = (self.clone(), settings.model.clone());
        tracing::info!(model = %dir.display(), "installing the default speech model in the background");
        tokio::spawn(async move {
            let target = dir.clone();
            let done =
                tokio::task::spawn_blocking(move || install::install_default(&target, false))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()));
            match done {
                Ok(_) => {
                    tracing::info!(model = %dir.display(), "speech model installed");
                    this.install.send_replace(Install::Idle);
                    then();
                }
                Err(reason) => {
                    tracing::error!(%reason, "could not install the speech model; transcripts will fail until one is installed");
                    this.install.send_replace(Install::Failed(reason));
                }
            }
        });
    }
}
