//! The SQLite backend, the default: one file beside the recordings folder. Its concurrency
//! story is SQLite's own: one writer at a time. The pool has a single writer connection (queuing
//! writes in the pool beats retrying on SQLITE_BUSY) and every write transaction starts with
//! `BEGIN IMMEDIATE`, so a check and the insert that follows it never interleave with another
//! write; readers run beside it in WAL mode. The reads every request makes are answered on
//! the calling thread (`point_reads`).

mod audit;
mod calls;
mod codec;
mod contacts;
mod conversations;
mod holds;
mod inbox;
mod jobs;
mod numbers;
mod point_reads;
mod recordings;
mod retention;
mod rows;
mod steps;
mod tables;
mod throttles;
mod transcripts;
mod users;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use callvault_store::{DatabaseOptions, Store, StoreError, StoreResult};
use codec::Db;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    point: std::sync::Arc<point_reads::PointReads>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date, or,
    /// with `migrate` off, refuses a schema that is behind this build.
    pub async fn open(url: &str, options: &DatabaseOptions) -> StoreResult<Self> {
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unsupported(format!("bad SQLite URL {url:?}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Another process (a CLI command beside the server) may hold the write lock briefly.
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
        if options.migrate {
            MIGRATIONS.run(&writer).await.map_err(migrate_error)?;
        } else {
            check_schema(&writer).await?;
        }
        steps::refold_search_names(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(options.max_connections.clamp(1, 64))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.clone().read_only(true))
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot open {url}: {e}")))?;
        let point = point_reads::PointReads::new(connect.get_filename().to_owned());
        Ok(Self {
            writer,
            reader,
            point: std::sync::Arc::new(point),
        })
    }

    /// A write transaction that takes the write lock at once, so it never fails halfway on
    /// a lock upgrade.
    async fn write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::backend)
    }
}

/// Applies the migrations `callvault db migrate` would.
pub async fn migrate(url: &str) -> StoreResult<()> {
    SqliteStore::open(url, &DatabaseOptions::default())
        .await
        .map(|_| ())
}

fn migrate_error(e: sqlx::migrate::MigrateError) -> StoreError {
    match e {
        sqlx::migrate::MigrateError::VersionMissing(v) => StoreError::Unsupported(format!(
            "the database was migrated by a newer callvault (migration {v} is unknown to this build)"
        )),
        other => StoreError::backend(other),
    }
}

/// Refuses a database whose schema lacks migrations this build has.
async fn check_schema(pool: &SqlitePool) -> StoreResult<()> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
            .fetch_all(pool)
            .await
            .unwrap_or_default();
    let pending = MIGRATIONS
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count();
    if pending > 0 {
        return Err(StoreError::Unsupported(format!(
            "the database schema is {pending} migration(s) behind this build; run `callvault db migrate` or start with migrations on"
        )));
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await.db()?;
        Ok(())
    }
}
