//! What every handler shares: the services, and this server's request metrics.

use std::ops::Deref;

use callvault_app::App;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    app: App,
    pub metrics: Metrics,
}

impl AppState {
    #[must_use]
    pub fn from_app(app: App) -> Self {
        let metrics = Metrics::new(&app);
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
