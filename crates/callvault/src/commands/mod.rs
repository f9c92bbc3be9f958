//! One module per command.

pub mod bench;
pub mod blob;
pub mod db;
pub mod import;
pub mod model;
pub mod serve;
pub mod token;
pub mod transcribe;
pub mod user;

use std::sync::Arc;

use anyhow::Context;
use callvault_app::settings::{AsrSettings, TwilioSettings};
use callvault_app::{App, Settings};
use callvault_blob::BlobStore;
use callvault_core::SystemClock;
use secrecy::ExposeSecret;

use crate::config::Config;

/// Opens the database and the audio store the config names, with the data folder in place.
pub async fn open_app(config: &Config, workers: bool) -> anyhow::Result<App> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
    let store = crate::store::open(config.database_url.expose_secret(), &config.database)
        .await
        .context("opening the database")?;
    let blobs = BlobStore::open(&config.blob_url).context("opening the audio store")?;
    let mut settings = Settings::new(&config.public_url, &config.data_dir);
    settings.default_region = config.default_region;
    settings.max_upload_bytes = config.max_upload_bytes;
    settings.orphan_audio_grace = config.orphan_audio_grace;
    settings.http = config.http.clone();
    settings.trusted_proxies = config.trusted_proxies.clone();
    settings.webhook_allow_private = config.webhook_allow_private;
    settings.workers = workers;
    settings.metrics_token = config.metrics_token.clone();
    settings.asr = AsrSettings {
        model: config.asr_model.clone(),
        install_default: config.asr_model_is_default,
        engine: config.asr.clone(),
        idle_unload: config.asr_idle_unload,
    };
    settings.twilio = match (&config.twilio_account_sid, &config.twilio_auth_token) {
        (Some(account_sid), Some(auth_token)) => Some(TwilioSettings {
            account_sid: account_sid.clone(),
            auth_token: auth_token.clone(),
            api_base: config.twilio_api_base.clone(),
        }),
        (None, None) => None,
        _ => anyhow::bail!("Twilio needs both --twilio-account-sid and --twilio-auth-token"),
    };
    Ok(App::new(store, blobs, Arc::new(SystemClock), settings))
}
