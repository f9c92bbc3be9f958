//! What every handler shares: the services, and this server's request metrics.

use std::ops::Deref;
use std::sync::Arc;

use callvault_app::App;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    app: App,
    pub metrics: Metrics,
    /// One permit per upload being received (`HttpLimits::max_concurrent_uploads`).
    pub uploads: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    #[must_use]
    pub fn from_app(app: App) -> Self {
        let metrics = Metrics::new(&app);
        let uploads = Arc::new(tokio::sync::Semaphore::new(
            app.settings.http.max_concurrent_uploads.max(1),
        ));
        Self {
            app,
            metrics,
            uploads,
        }
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
