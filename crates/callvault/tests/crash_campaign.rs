//! The crash campaign: the real server killed with SIGKILL at random moments while it stores
//! uploads, deletes conversations and transcribes, and restarted on the same data, ten times.
//! After each restart every recording row has its audio object with the stored SHA-256, no
//! file the dead process spooled is left, an upload answered 201 kept its recording and a deletion answered
//! 204 kept its conversation gone, and SQLite passes its integrity check. Once the cleanup has
//! run (`--orphan-audio-grace`) no object or staging file is without its row, and every
//! transcription asked for finishes. On SQLite and a folder, and on PostgreSQL and S3.
//!
//! The moments come from a seed printed at the start; `CALLVAULT_CRASH_SEED=N` replays a run.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use callvault_blob::BlobStore;
use callvault_blob::testing::{S3Server, files_under};
use callvault_store_testing::{TestDatabase, fresh_postgres};
use common::{admin_token_with, callvault, fixture, send, serve_logged, text, until};
use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const KILLS: usize = 10;
const NUMBER: &str = "+14155550000";
/// The shortest grace callvault allows; orphans go this long after their upload began.
const GRACE_S: u64 = 10;

/// Where one campaign's installation lives.
struct Site {
    dir: tempfile::TempDir,
    postgres: Option<TestDatabase>,
    s3: Option<S3Server>,
}

impl Site {
    fn data(&self) -> &Path {
        self.dir.path()
    }

    /// Every run's log, one after the other.
    fn log(&self) -> std::path::PathBuf {
        self.dir.path().join("servers.log")
    }

    fn command(&self) -> Command {
        let mut cmd = callvault(self.data());
        cmd.env("CALLVAULT_ORPHAN_AUDIO_GRACE", GRACE_S.to_string());
        if let Some(db) = &self.postgres {
            cmd.env("CALLVAULT_DATABASE_URL", &db.url);
        }
        if let Some(s3) = &self.s3 {
            cmd.env("CALLVAULT_BLOB_URL", s3.url("crash"))
                .envs(s3.credentials());
        }
        cmd
    }

    fn blobs(&self) -> BlobStore {
        match &self.s3 {
            Some(s3) => s3.store("crash"),
            None => BlobStore::open(&format!("file://{}", self.recordings().display()))
                .expect("the folder store opens"),
        }
    }

    fn recordings(&self) -> PathBuf {
        self.data().join("recordings")
    }

    async fn sqlite(&self) -> sqlx::SqlitePool {
        let url = format!("sqlite://{}/callvault.db", self.data().display());
        sqlx::SqlitePool::connect(&url)
            .await
            .expect("the database opens")
    }
}

/// xorshift64*: the campaign's moments, reproducible from the seed.
struct Moments(u64);

impl Moments {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }

    /// An index below `len`.
    fn pick(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }
}

fn seed() -> u64 {
    std::env::var("CALLVAULT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            u64::try_from(now.as_nanos() % u128::from(u64::MAX)).unwrap_or(1) | 1
        })
}

/// A recording row: its call, object key and the SHA-256 it stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    call: String,
    key: String,
    sha256: String,
}

async fn rows(site: &Site) -> Vec<Row> {
    const ROWS: &str = "SELECT CAST(call_id AS TEXT), blob_key, sha256 FROM recordings";
    let found: Vec<(String, String, String)> = match &site.postgres {
        Some(db) => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("PostgreSQL");
            let found = sqlx::query_as(ROWS).fetch_all(&pool).await;
            pool.close().await;
            found
        }
        None => {
            let pool = site.sqlite().await;
            let found = sqlx::query_as(ROWS).fetch_all(&pool).await;
            pool.close().await;
            found
        }
    }
    .expect("recordings read");
    found
        .into_iter()
        .map(|(call, key, sha256)| Row { call, key, sha256 })
        .collect()
}

async fn object_sha256(blobs: &BlobStore, key: &str) -> Option<String> {
    let mut body = blobs.get(key, None).await.ok()?.body;
    let mut hash = Sha256::new();
    while let Some(chunk) = body.next().await {
        hash.update(chunk.ok()?);
    }
    Some(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn spooled(site: &Site) -> BTreeSet<PathBuf> {
    files_under(&site.data().join("tmp")).into_iter().collect()
}

/// What must hold whenever the server has just started again.
async fn check_restarted(site: &Site, stored: &BTreeSet<String>) -> Vec<Row> {
    let rows = rows(site).await;
    let blobs = site.blobs();
    for row in &rows {
        assert_eq!(
            object_sha256(&blobs, &row.key).await.as_deref(),
            Some(row.sha256.as_str()),
            "the audio of {row:?}"
        );
    }
    let calls: BTreeSet<&String> = rows.iter().map(|r| &r.call).collect();
    for call in stored {
        assert!(
            calls.contains(call),
            "call {call} was answered 201 but has no recording"
        );
    }
    if site.postgres.is_none() {
        let db = site.sqlite().await;
        let integrity: (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&db)
            .await
            .expect("integrity check runs");
        assert_eq!(integrity.0, "ok");
        let broken: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                .fetch_all(&db)
                .await
                .expect("foreign key check runs");
        assert!(broken.is_empty(), "rows pointing nowhere: {broken:?}");
        db.close().await;
    }
    rows
}

/// Once the cleanup has run: the objects are exactly the rows' (and, in a folder, no file
/// but theirs: no staging file of an upload cut off).
async fn orphans(site: &Site) -> Option<String> {
    let keys: BTreeSet<String> = rows(site).await.into_iter().map(|r| r.key).collect();
    let objects: BTreeSet<String> = site.blobs().list_keys().await.ok()?.into_iter().collect();
    if objects != keys {
        return Some(format!("objects {objects:?} but rows {keys:?}"));
    }
    if site.s3.is_none() {
        let files: BTreeSet<PathBuf> = files_under(&site.recordings()).into_iter().collect();
        let expected: BTreeSet<PathBuf> = keys.iter().map(|k| site.recordings().join(k)).collect();
        if files != expected {
            return Some(format!("files {files:?} but rows {expected:?}"));
        }
    }
    None
}

async fn api(base: &str, token: &str, method: Method, path: &str, body: Option<Value>) -> Value {
    send(method, &format!("{base}{path}"), token, body).await
}

/// A new contact's answered call on the recording number: (call, conversation).
async fn new_call(base: &str, token: &str, n: usize) -> (String, String) {
    let call = api(
        base,
        token,
        Method::POST,
        "/api/v1/calls",
        Some(json!({
            "number": NUMBER, "contact_phone": format!("+1415555{:04}", 1000 + n),
            "direction": "inbound", "status": "answered",
            "started_at": "2026-03-02T14:15:00Z", "answered_at": "2026-03-02T14:15:06Z",
            "ended_at": "2026-03-02T14:15:30Z"})),
    )
    .await;
    (text(&call, "id"), text(&call, "conversation_id"))
}

/// What one request in flight came to: only successes matter (a request cut off by the kill
/// may or may not have happened).
enum Done {
    Stored(String),
    Deleted(String),
    CutUpload,
    CutDelete,
    Other,
}

/// Sent as a PBX on a modest link would: 32 KiB every 10 ms (about a quarter of a second for
/// the 24-second WAV), so kills land in the transfer too, not only after it.
async fn upload(base: String, token: String, call: String, audio: Vec<u8>) -> Done {
    let chunks: Vec<Vec<u8>> = audio.chunks(32 * 1024).map(<[u8]>::to_vec).collect();
    let paced = futures::stream::iter(chunks).then(async |chunk| {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok::<_, std::io::Error>(chunk)
    });
    let sent = reqwest::Client::new()
        .put(format!("{base}/api/v1/calls/{call}/recording"))
        .bearer_auth(token)
        .header("content-type", "audio/wav")
        .header("content-length", audio.len())
        .body(reqwest::Body::wrap_stream(paced))
        .send()
        .await;
    match sent {
        Ok(r) if r.status().as_u16() == 201 => Done::Stored(call),
        Ok(_) => Done::Other,
        Err(_) => Done::CutUpload,
    }
}

async fn delete(base: String, token: String, conversation: String) -> Done {
    let sent = reqwest::Client::new()
        .delete(format!("{base}/api/v1/conversations/{conversation}"))
        .bearer_auth(token)
        .send()
        .await;
    match sent {
        Ok(r) if r.status().as_u16() == 204 => Done::Deleted(conversation),
        Ok(_) => Done::Other,
        Err(_) => Done::CutDelete,
    }
}

async fn transcribe(base: String, token: String, recording: String) -> Done {
    let _ = reqwest::Client::new()
        .post(format!("{base}/api/v1/recordings/{recording}/transcript"))
        .bearer_auth(token)
        .send()
        .await;
    Done::Other
}

/// The recording id of a call, as the API shows it.
async fn recording_of(base: &str, token: &str, call: &str) -> Option<String> {
    let c = api(
        base,
        token,
        Method::GET,
        &format!("/api/v1/calls/{call}"),
        None,
    )
    .await;
    c["recording"]["id"].as_str().map(str::to_owned)
}

async fn campaign(site: Site) {
    let seed = seed();
    eprintln!("crash campaign seed {seed} (CALLVAULT_CRASH_SEED={seed} replays it)");
    let mut moments = Moments(seed);
    let token = admin_token_with(|| site.command());
    let audio = std::fs::read(fixture("call-turns-2ch.wav")).expect("fixture");
    let mut server = serve_logged(site.command(), &site.log());
    api(
        &server.base,
        &token,
        Method::POST,
        "/api/v1/numbers",
        Some(
            json!({"e164": NUMBER, "label": "Support", "provider": "pbx",
                    "call_recording": true, "recording_since": "2026-01-01T00:00:00Z"}),
        ),
    )
    .await;
    // Calls answered 201 (they must keep their recording), conversations answered 204 (they
    // must stay gone), and those still there with a recording (for deletes and transcripts).
    let mut stored = BTreeSet::new();
    let mut deleted = BTreeSet::new();
    let mut recorded: Vec<(String, String)> = Vec::new();
    let mut transcribing = BTreeSet::new();
    let mut calls = 0;
    // What the kills cut off, for the record: uploads and deletes not answered, objects
    // without a row found after a restart.
    let (mut cut_uploads, mut cut_deletes, mut orphaned) = (0, 0, 0);
    for round in 0..KILLS {
        let base = server.base.clone();
        let mut work = Vec::new();
        for _ in 0..3 {
            calls += 1;
            let (call, conversation) = new_call(&base, &token, calls).await;
            recorded.push((call.clone(), conversation));
            work.push(tokio::spawn(upload(
                base.clone(),
                token.clone(),
                call,
                audio.clone(),
            )));
        }
        // Of the calls before this round's (their recordings are in), one is deleted and
        // another transcribed.
        let older = recorded.len() - 3;
        if older > 0 {
            let (call, conversation) = recorded.remove(moments.pick(older));
            // Deleting may or may not happen before the kill: the call's recording is no
            // longer owed.
            stored.remove(&call);
            work.push(tokio::spawn(delete(
                base.clone(),
                token.clone(),
                conversation,
            )));
        }
        let older = recorded.len() - 3;
        if older > 0 {
            let (call, _) = &recorded[moments.pick(older)];
            if let Some(recording) = recording_of(&base, &token, call).await {
                transcribing.insert(recording.clone());
                work.push(tokio::spawn(transcribe(
                    base.clone(),
                    token.clone(),
                    recording,
                )));
            }
        }
        // Uploads take about 0.3 s to arrive and store, a transcription a few seconds.
        let wait = moments.below(1200);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reaped");
        for done in futures::future::join_all(work).await {
            match done.expect("the request task") {
                Done::Stored(call) => {
                    stored.insert(call);
                }
                Done::Deleted(conversation) => {
                    deleted.insert(conversation);
                }
                Done::CutUpload => cut_uploads += 1,
                Done::CutDelete => cut_deletes += 1,
                Done::Other => {}
            }
        }
        eprintln!("kill {} after {wait} ms", round + 1);
        let left = spooled(&site);
        server = serve_logged(site.command(), &site.log());
        // Swept as the server starts (it says it serves a moment before).
        until(
            Duration::from_secs(10),
            "the dead process's spool to be swept",
            async || left.is_disjoint(&spooled(&site)).then_some(()),
        )
        .await;
        let rows = check_restarted(&site, &stored).await;
        let stored_now = match &site.s3 {
            Some(_) => site
                .blobs()
                .list_keys()
                .await
                .expect("objects listed")
                .len(),
            None => files_under(&site.recordings()).len(),
        };
        orphaned += stored_now.saturating_sub(rows.len());
        for conversation in &deleted {
            let status = common::status_of(
                &format!("{}/api/v1/conversations/{conversation}", server.base),
                Some(&token),
            )
            .await;
            assert_eq!(status, 404, "conversation {conversation} was deleted (204)");
        }
        // Calls whose upload never landed are of no more use to deletes and transcripts.
        let with_rows: BTreeSet<&String> = rows.iter().map(|r| &r.call).collect();
        recorded.retain(|(call, conversation)| {
            with_rows.contains(call) && !deleted.contains(conversation)
        });
    }
    eprintln!(
        "{KILLS} kills: {} uploads stored, {cut_uploads} cut off; {} deletes done, {cut_deletes} \
         cut off; {orphaned} objects or staging files found without a row after a restart",
        stored.len(),
        deleted.len()
    );
    let base = server.base.clone();
    let cleanup_began = Instant::now();
    // The cleanup: objects of uploads cut off go after the grace, those of deletions at once.
    let deadline = cleanup_began + Duration::from_secs(GRACE_S + 30);
    while let Some(found) = orphans(&site).await {
        assert!(
            Instant::now() < deadline,
            "left behind after the cleanup: {found}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "cleaned up {:?} after the last restart",
        cleanup_began.elapsed()
    );
    // Every transcription asked for and not deleted since finishes, those cut off by a kill
    // once their lease runs out (30 s).
    let live: BTreeSet<String> = {
        let mut ids = BTreeSet::new();
        for (call, _) in &recorded {
            if let Some(id) = recording_of(&base, &token, call).await {
                ids.insert(id);
            }
        }
        ids
    };
    let mut waiting: Vec<String> = transcribing.intersection(&live).cloned().collect();
    if waiting.is_empty() {
        let first = live.iter().next().expect("a recording survived").clone();
        transcribe(base.clone(), token.clone(), first.clone()).await;
        waiting.push(first);
    }
    for recording in waiting {
        // A transcription cut off by a kill waits out its lease (30 s) before it runs again.
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let t = api(
                &base,
                &token,
                Method::GET,
                &format!("/api/v1/recordings/{recording}/transcript"),
                None,
            )
            .await;
            let status = text(&t, "status");
            assert_ne!(status, "failed", "{t}");
            if status == "done" {
                break;
            }
            if Instant::now() > deadline {
                // Say what the servers did with it: the job's lines from every run's log.
                let log = std::fs::read_to_string(site.log()).unwrap_or_default();
                let lines: Vec<&str> = log
                    .lines()
                    .filter(|l| l.contains("job") || l.contains("transcri") || l.contains("lease"))
                    .collect();
                let tail = lines[lines.len().saturating_sub(80)..].join("\n");
                panic!("waited 300 s for the transcription of {recording} in vain: {t}\n{tail}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Idle now: nothing is spooled.
    assert_eq!(spooled(&site), BTreeSet::new());
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_ten_times_on_sqlite_and_a_folder_nothing_is_lost_or_left_behind() {
    campaign(Site {
        dir: tempfile::tempdir().expect("tmp"),
        postgres: None,
        s3: None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_ten_times_on_postgres_and_s3_nothing_is_lost_or_left_behind() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let Some(s3) = S3Server::start() else {
        return;
    };
    campaign(Site {
        dir: tempfile::tempdir().expect("tmp"),
        postgres: Some(db),
        s3: Some(s3),
    })
    .await;
}
