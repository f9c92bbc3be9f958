//! The PostgreSQL backend, for installations that outgrow one machine: several servers and
//! workers share one database. Its concurrency story is written into each step (see `steps`):
//! find-or-create through `INSERT … ON CONFLICT`, a conversation locked before it changes or is
//! deleted, advisory locks for checks no constraint can make, job claims with
//! `FOR UPDATE SKIP LOCKED`, and `LISTEN/NOTIFY` so a job queued by one process starts in
//! another at once.

mod audit;
mod calls;
mod codec;
mod contacts;
mod conversations;
mod holds;
mod inbox;
mod jobs;
mod listen;
mod numbers;
mod planning;
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
use std::sync::Arc;

use async_trait::async_trait;
use callvault_store::{DatabaseOptions, Store, StoreError, StoreResult, redact_url};
use codec::Db;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The oldest server this backend runs on (`server_version_num`).
const MIN_SERVER_VERSION: i32 = 130_000;

#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    listener: Arc<listen::JobListener>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresStore")
    }
}

impl PostgresStore {
    /// Connects, checks the server is new enough, and brings the schema up to date (or, with
    /// `migrate` off, refuses a schema that is behind this build). Errors name the database by
    /// its URL without the password.
    pub async fn open(url: &str, options: &DatabaseOptions) -> StoreResult<Self> {
        let shown = redact_url(url);
        let timeout_ms = options.statement_timeout.as_millis().to_string();
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unsupported(format!("bad PostgreSQL URL {shown}: {e}")))?
            // Settings for queries that each take milliseconds. JIT compiles a query whose
            // estimated cost is high, which the pinned search plans often are (10 to 200 ms
            // spent to save a few); parallel workers cost about 20 ms to start, and a server
            // answering many requests has no spare cores for one of them anyway.
            .options([
                ("statement_timeout", timeout_ms.as_str()),
                ("jit", "off"),
                ("max_parallel_workers_per_gather", "0"),
            ])
            .application_name("callvault");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|e| StoreError::Unavailable(format!("cannot connect to {shown}: {e}")))?;
        let version: String = sqlx::query_scalar("SHOW server_version_num")
            .fetch_one(&pool)
            .await
            .db()?;
        let version: i32 = version.trim().parse().unwrap_or(0);
        if version < MIN_SERVER_VERSION {
            return Err(StoreError::Unsupported(format!(
                "{shown} runs PostgreSQL {}.{}; callvault needs PostgreSQL 13 or newer",
                version / 10_000,
                version % 10_000 / 100
            )));
        }
        if options.migrate {
            MIGRATIONS
                .run(&pool)
                .await
                .map_err(|e| migrate_error(e, &shown))?;
        } else {
            check_schema(&pool).await?;
        }
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(connect);
        let listener = Arc::new(listen::JobListener::start(listener_pool));
        Ok(Self { pool, listener })
    }

    async fn write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool.begin().await.db()
    }
}

fn migrate_error(e: sqlx::migrate::MigrateError, shown: &str) -> StoreError {
    match e {
        sqlx::migrate::MigrateError::VersionMissing(v) => StoreError::Unsupported(format!(
            "{shown} was migrated by a newer callvault (migration {v} is unknown to this build)"
        )),
        sqlx::migrate::MigrateError::Execute(e) if e.to_string().contains("extension") => {
            StoreError::Unsupported(format!(
                "{shown}: could not create the extensions pg_trgm and unaccent ({e}); \
                 the database owner, or a superuser, can run CREATE EXTENSION for them"
            ))
        }
        other => StoreError::backend(other),
    }
}

/// Refuses a database whose schema lacks migrations this build has.
async fn check_schema(pool: &PgPool) -> StoreResult<()> {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
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
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.db()?;
        Ok(())
    }
}
