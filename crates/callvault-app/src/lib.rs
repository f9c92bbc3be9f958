//! The services behind every door: ingest, the inbox, signing in, team members and who may do
//! what, the job runner and its jobs, the speech model, passwords and secrets, the spool of
//! uploads. The HTTP server, the command line and the workers all call in here; nothing here
//! imports axum, and every failure is an [`AppError`].

pub mod access;
pub mod audit;
mod error;
pub mod first_admin;
pub mod holds;
pub mod inbox;
pub mod ingest;
mod job_counts;
pub mod jobs;
pub mod listening;
pub mod passwords;
pub mod retention;
pub mod secrets;
pub mod settings;
pub mod sign_in;
pub mod siprec;
pub mod speech;
pub mod spool;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::ops::Deref;
use std::sync::Arc;

use callvault_blob::BlobStore;
use callvault_core::Clock;
use callvault_store::Store;

pub use error::{AppError, AppResult, Denied, Invalid};
pub use job_counts::JobCounts;
pub use jobs::JobRunner;
pub use settings::Settings;
pub use speech::Speech;

/// The services one process shares, cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Services>);

pub struct Services {
    pub store: Arc<dyn Store>,
    pub blobs: BlobStore,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub jobs: JobRunner,
    /// Jobs finished, by kind and outcome, for `/metrics`.
    pub job_counts: JobCounts,
    /// One transcode per core at a time: more would only make each slower.
    pub transcode_slots: tokio::sync::Semaphore,
    /// For fetching from providers.
    pub http: reqwest::Client,
    /// The speech model, shared by transcription jobs.
    pub speech: Arc<Speech>,
    /// Plays, transcript views and link openings written lately (`listening`).
    pub recent_access: listening::RecentAccess,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        // Redirects are followed by hand, only within the provider's API (see the fetch job).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(600))
            .user_agent(concat!("callvault/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self(Arc::new(Services {
            store,
            blobs,
            clock,
            settings,
            jobs: JobRunner::default(),
            job_counts: JobCounts::default(),
            transcode_slots: tokio::sync::Semaphore::new(cores),
            http,
            speech: Arc::new(Speech::default()),
            recent_access: listening::RecentAccess::default(),
        }))
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }
}

impl Deref for App {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}
