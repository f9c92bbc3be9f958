//! The one place the binary picks a backend: from the database URL's scheme, once.

use std::sync::Arc;

use callvault_store::{Backend, DatabaseOptions, Store, StoreResult};
use callvault_store_postgres::PostgresStore;
use callvault_store_sqlite::SqliteStore;

pub async fn open(url: &str, options: &DatabaseOptions) -> StoreResult<Arc<dyn Store>> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url, options).await?),
        Backend::Postgres => Arc::new(PostgresStore::open(url, options).await?),
    })
}
