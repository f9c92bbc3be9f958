//! `callvault blob copy --to s3://…`: every recording's audio from this installation's audio
//! store (`--blob-url`) into another, each object checked against the sha256 in its row, read
//! at the source and read back from the target. Safe to run again: objects already in place
//! and intact are left as they are.

use std::path::Path;

use anyhow::{Context, bail};
use callvault_blob::{BlobError, BlobStore};
use callvault_store::copy::{Table, Value};

use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum BlobCommand {
    /// Copy every recording's audio into another store (s3://BUCKET?… or file://FOLDER),
    /// checking each object's sha256 against its row. Then start callvault with the new
    /// --blob-url.
    Copy {
        /// The store to copy into, as --blob-url takes it.
        #[arg(long, value_name = "URL")]
        to: String,
        /// The store the audio is in now.
        #[command(flatten)]
        from: crate::config::BlobArgs,
    },
}

/// Rows read at a time.
const PAGE: u32 = 500;

pub async fn run(config: Config, command: BlobCommand) -> anyhow::Result<()> {
    match command {
        BlobCommand::Copy { to, .. } => copy(&config, &to).await,
    }
}

/// How one recording's object fared.
enum Outcome {
    Copied,
    AlreadyThere,
}

async fn copy(config: &Config, to: &str) -> anyhow::Result<()> {
    if to.trim_end_matches('/') == config.blob_url.trim_end_matches('/') {
        bail!("--to names the store the audio is already in ({to})");
    }
    let source = BlobStore::open(&config.blob_url).context("opening the audio store")?;
    let target = BlobStore::open(to).with_context(|| format!("opening {to}"))?;
    target
        .ping()
        .await
        .with_context(|| format!("{} does not answer", target.description()))?;
    let tables = crate::store::open_tables(
        secrecy::ExposeSecret::expose_secret(&config.database_url),
        &config.database,
    )
    .await
    .context("opening the database")?;
    let recordings = Table::by_name("recordings").context("the recordings table")?;
    let column = |name: &str| {
        recordings
            .columns
            .iter()
            .position(|c| c.name == name)
            .with_context(|| format!("the recordings table's {name}"))
    };
    let (id_at, key_at, sha_at) = (column("id")?, column("blob_key")?, column("sha256")?);
    let work = tempfile::tempdir().context("a temporary folder")?;

    let (mut copied, mut there, mut failed) = (0u64, 0u64, Vec::new());
    let mut after = None;
    loop {
        let rows = tables.read_rows(recordings, after.clone(), PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = Some(
            recordings
                .key_positions()
                .iter()
                .map(|&i| last[i].clone())
                .collect(),
        );
        for row in &rows {
            let (Value::Text(key), Value::Text(sha)) = (&row[key_at], &row[sha_at]) else {
                continue;
            };
            let id = match &row[id_at] {
                Value::Uuid(id) => id.to_string(),
                other => format!("{other:?}"),
            };
            match copy_one(&source, &target, key, sha, work.path()).await {
                Ok(Outcome::Copied) => copied += 1,
                Ok(Outcome::AlreadyThere) => there += 1,
                Err(e) => failed.push(format!("recording {id} ({key}): {e:#}")),
            }
        }
    }
    println!(
        "copied {copied}, already there {there}, failed {} (to {})",
        failed.len(),
        target.description()
    );
    for line in &failed {
        eprintln!("  {line}");
    }
    if !failed.is_empty() {
        bail!(
            "{} recordings were not copied; the audio store in use is unchanged",
            failed.len()
        );
    }
    Ok(())
}

async fn copy_one(
    source: &BlobStore,
    target: &BlobStore,
    key: &str,
    sha: &str,
    work: &Path,
) -> anyhow::Result<Outcome> {
    let file = work.join("object.mp3");
    if fetch(target, key, &file)
        .await
        .context("reading the target")?
        .as_deref()
        == Some(sha)
    {
        return Ok(Outcome::AlreadyThere);
    }
    let found = fetch(source, key, &file)
        .await
        .context("reading the source")?
        .context("the source has no such object")?;
    if found != sha {
        bail!("the source's object is damaged: sha256 {found}, its row says {sha}");
    }
    target
        .put_file(key, &file)
        .await
        .context("writing the target")?;
    let back = fetch(target, key, &file)
        .await
        .context("reading back from the target")?;
    if back.as_deref() != Some(sha) {
        let _ = target.delete(key).await;
        bail!(
            "the target did not give back the bytes written (sha256 {back:?}, its row says {sha})"
        );
    }
    Ok(Outcome::Copied)
}

/// Copies `key` out of `store` into `file` and returns the copy's sha256; `None` when the store
/// has no such object.
async fn fetch(store: &BlobStore, key: &str, file: &Path) -> anyhow::Result<Option<String>> {
    match store.get_to_file(key, file).await {
        Ok(_) => {}
        Err(BlobError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let file = file.to_owned();
    let sha = tokio::task::spawn_blocking(move || callvault_audio::sha256_of(&file)).await??;
    Ok(Some(sha))
}
