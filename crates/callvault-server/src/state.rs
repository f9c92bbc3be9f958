//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use callvault_blob::BlobStore;
use callvault_core::Clock;
use callvault_store::Store;

use crate::jobs::JobRunner;
use crate::metrics::Metrics;
use crate::settings::Settings;
use crate::speech::Speech;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub blobs: BlobStore,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub metrics: Metrics,
    pub jobs: JobRunner,
    /// One transcode per core at a time: more would only make each slower.
    pub transcode_slots: tokio::sync::Semaphore,
    /// For fetching from providers.
    pub http: reqwest::Client,
    /// The speech model, shared by transcription jobs.
    pub speech: Arc<Speech>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        let metrics = Metrics::new();
        let jobs = JobRunner::default();
        // Redirects are followed by hand, only within the provider's API (see the fetch job).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(600))
            .user_agent(concat!("callvault/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self(Arc::new(Shared {
            store,
            blobs,
            clock,
            settings,
            metrics,
            jobs,
            transcode_slots: tokio::sync::Semaphore::new(cores),
            http,
            speech: Arc::new(Speech::default()),
        }))
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
