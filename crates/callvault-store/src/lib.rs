//! Where callvault keeps its rows, as traits: what the store does, in portable types, with the
//! rules every backend shares (`rules`, `jobs`, `search`). The backends live in their own
//! crates (`callvault-store-sqlite`, `callvault-store-postgres`), each with its migrations; the
//! binary picks one from the database URL.

mod audit;
pub mod copy;
mod error;
mod jobs;
mod model;
pub mod rules;
mod search;
mod traits;

pub use audit::{AuditAction, AuditCursor, AuditEntry, AuditFilter, AuditPage, NewAudit};
pub use error::{Conflict, Missing, StoreError, StoreResult, redact_url};
pub use jobs::{Job, JobKind, JobSpec, JobState, NewJob};
pub use model::*;
pub use search::{PlanProbe, Sample, SearchPlan, SearchStep, SearchText, mark_phrase};
pub use traits::*;

/// The most a list of the inbox or of contacts returns at once.
pub const MAX_PAGE: u32 = 500;

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `sqlite:…` or `postgres://…` (also `postgresql://…`).
    pub fn of_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Unsupported(format!(
                "the database URL must start with sqlite:// or postgres:// (got {:?})",
                redact_url(url).split(':').next().unwrap_or_default()
            )))
        }
    }
}

/// How a backend connects, as the operator sets it.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// Connections kept at most (on SQLite, the readers beside its one writer).
    pub max_connections: u32,
    /// A statement running longer is cancelled (PostgreSQL), so one bad query cannot hold a
    /// connection forever.
    pub statement_timeout: std::time::Duration,
    /// How long to wait for the database when connecting.
    pub connect_timeout: std::time::Duration,
    /// Apply pending migrations when opening; otherwise a database whose schema is behind
    /// this build is refused (run `callvault db migrate`).
    pub migrate: bool,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            statement_timeout: std::time::Duration::from_secs(30),
            connect_timeout: std::time::Duration::from_secs(10),
            migrate: true,
        }
    }
}
