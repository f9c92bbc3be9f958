//! Where callvault keeps its rows: the `Store` trait and its backends, each with its own
//! migrations folder. The backend is chosen once, from the database URL, by [`open`].

mod model;
mod sqlite;
mod traits;

use std::sync::Arc;

pub use model::*;
pub use sqlite::SqliteStore;
pub use traits::*;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the code says which (`email_taken`, `phone_taken`, …).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The input names something that does not exist (`user`, `number`, …).
    #[error("unknown {0}")]
    MissingReference(&'static str),
    #[error("unsupported database: {0}")]
    Unsupported(String),
    /// The database failed or holds something unreadable; details are for the log only.
    #[error("database error: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub(crate) fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(e))
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Backend(what.into().into())
    }
}

/// Opens the store a URL names (`sqlite://…`; `postgres://…` arrives with the PostgreSQL
/// backend) and brings its schema up to date.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Err(StoreError::Unsupported(
            "PostgreSQL is not available in this build yet; use a sqlite:// URL".into(),
        ))
    } else {
        Err(StoreError::Unsupported(format!(
            "the database URL must start with sqlite:// (got {:?})",
            url.split(':').next().unwrap_or_default()
        )))
    }
}
