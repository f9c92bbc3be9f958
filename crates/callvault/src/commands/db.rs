//! `callvault db migrate` and `callvault db copy --to postgres://…`.

use anyhow::{Context, bail};
use callvault_store::copy::{TABLES, Tables};
use callvault_store::{Backend, DatabaseOptions, redact_url};
use callvault_store_postgres::PostgresStore;
use callvault_store_sqlite::SqliteStore;
use secrecy::ExposeSecret;

use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum DbCommand {
    /// Bring the database at --database-url up to this build's schema.
    Migrate,
    /// Copy this installation's database (SQLite, at --database-url) into an empty PostgreSQL
    /// database, every row with its ids and times. Stop callvault first; the audio folder stays
    /// where it is.
    Copy {
        /// The PostgreSQL database to copy into: postgres://USER[:PASSWORD]@HOST[:PORT]/DB
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

/// Rows read from the source at a time.
const PAGE: u32 = 5_000;

pub async fn run(config: Config, command: DbCommand) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
    match command {
        DbCommand::Migrate => {
            let options = DatabaseOptions {
                migrate: true,
                ..config.database.clone()
            };
            let url = config.database_url.expose_secret();
            crate::store::open(url, &options)
                .await
                .with_context(|| format!("migrating {}", redact_url(url)))?;
            println!("{} is up to date", redact_url(url));
            Ok(())
        }
        DbCommand::Copy { to } => copy(&config, &to).await,
    }
}

async fn copy(config: &Config, to: &str) -> anyhow::Result<()> {
    let from = config.database_url.expose_secret();
    if Backend::of_url(from)? != Backend::Sqlite {
        bail!(
            "db copy reads a SQLite installation; --database-url is {}",
            redact_url(from)
        );
    }
    if Backend::of_url(to)? != Backend::Postgres {
        bail!("db copy writes to PostgreSQL: --to must start with postgres://");
    }
    let source = SqliteStore::open(from, &config.database)
        .await
        .with_context(|| format!("opening {}", redact_url(from)))?;
    // The target gets this build's schema whatever --database-migrate says of the source.
    let target_options = DatabaseOptions {
        migrate: true,
        ..config.database.clone()
    };
    let target = PostgresStore::open(to, &target_options)
        .await
        .with_context(|| format!("opening {}", redact_url(to)))?;
    for table in TABLES {
        let n = target.count_rows(table).await?;
        if n > 0 {
            bail!(
                "{} is not empty ({} has {n} rows); copy into an empty database",
                redact_url(to),
                table.name
            );
        }
    }
    println!("copying {} to {}", redact_url(from), redact_url(to));
    let mut import = target.import().await?;
    let mut copied = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let key = table.key_positions();
        let mut after = None;
        let mut rows_copied = 0_u64;
        loop {
            let rows = source.read_rows(table, after.take(), PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = Some(key.iter().map(|&i| last[i].clone()).collect());
            rows_copied += rows.len() as u64;
            let full = rows.len() == PAGE as usize;
            import
                .write_rows(table, rows)
                .await
                .with_context(|| format!("writing {}", table.name))?;
            if !full {
                break;
            }
        }
        println!("  {:<26} {rows_copied:>10}", table.name);
        copied.push((table, rows_copied));
    }
    // Checked before anything is committed: a mismatch leaves the target empty.
    for (table, n) in &copied {
        let (there, here) = (
            import.count_rows(table).await?,
            source.count_rows(table).await?,
        );
        if there != *n || here != *n {
            bail!(
                "{}: copied {n} rows but the source now has {here} and the target {there}; \
                 stop callvault and copy again (nothing was kept)",
                table.name
            );
        }
    }
    import.commit().await.context("committing the copy")?;
    if let Err(e) = target.analyze().await {
        eprintln!("note: refreshing the target's statistics failed ({e}); autovacuum will do it");
    }
    println!("done: every table has the same number of rows in both databases");
    Ok(())
}
