//! The speech model as the workers share it: loaded once, on first use, and used by one
//! transcription at a time (each pass already uses every core). On first start the default
//! model is installed in the background; transcription jobs wait for it.

pub mod install;

use std::sync::Arc;

use callvault_asr::Engine;
use tokio::sync::{Mutex, watch};

use crate::settings::AsrSettings;

/// The default model's folder under `<data-dir>/models`.
pub const DEFAULT_MODEL_DIR: &str = "whisper-tiny.en";

/// Where installing the default model stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Install {
    /// Not started: either the model is there or nobody asked.
    Idle,
    Running,
    Failed(String),
}

pub struct Speech {
    engine: Mutex<Option<Arc<Engine>>>,
    install: watch::Sender<Install>,
}

impl Default for Speech {
    fn default() -> Self {
        Self {
            engine: Mutex::new(None),
            install: watch::Sender::new(Install::Idle),
        }
    }
}

impl Speech {
    /// The model, loaded if it is not yet; waits while the default model is being installed.
    /// The error says what is missing and how to install it.
    pub async fn engine(&self, settings: &AsrSettings) -> Result<Arc<Engine>, String> {
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
        let mut engine = self.engine.lock().await;
        if let Some(engine) = engine.as_ref() {
            return Ok(engine.clone());
        }
        let (dir, options) = (settings.model.clone(), settings.engine.clone());
        let loaded = tokio::task::spawn_blocking(move || Engine::load(&dir, &options))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let loaded = Arc::new(loaded);
        *engine = Some(loaded.clone());
        Ok(loaded)
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
