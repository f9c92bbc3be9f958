//! The one place the binary picks a backend: from the database URL's scheme, once.

use std::sync::Arc;

use callvault_store::copy::Tables;
use callvault_store::{Backend, DatabaseOptions, Store, StoreResult};
use callvault_store_postgres::PostgresStore;
use callvault_store_sqlite::SqliteStore;

pub async fn open(url: &str, options: &DatabaseOptions) -> StoreResult<Arc<dyn Store>> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url, options).await?),
        Backend::Postgres => Arc::new(PostgresStore::open(url, options).await?),
    })
}

/// The same database's whole tables, for commands that read every row of one.
pub async fn open_tables(url: &str, options: &DatabaseOptions) -> StoreResult<Arc<dyn Tables>> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::open(url, options).await?),
        Backend::Postgres => Arc::new(PostgresStore::open(url, options).await?),
    })
}
