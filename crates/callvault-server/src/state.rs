//! What every handler shares: the services, and this server's request metrics.

use std::ops::Deref;
use std::sync::Arc;

use callvault_app::{App, Settings};
use callvault_blob::BlobStore;
use callvault_core::Clock;
use callvault_store::Store;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    app: App,
    pub metrics: Metrics,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        Self::from_app(App::new(store, blobs, clock, settings))
    }

    #[must_use]
    pub fn from_app(app: App) -> Self {
        let metrics = Metrics::new(&app.job_counts);
        Self { app, metrics }
    }

    /// The services, for what runs beside the handlers (the job runner).
    #[must_use]
    pub fn app(&self) -> &App {
        &self.app
    }
}

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}
