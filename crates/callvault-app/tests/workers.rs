//! Workers started for some jobs take those and leave the rest to others, on both backends;
//! the speech model is freed once it sits unused.

use std::sync::Arc;
use std::time::Duration;

use callvault_app::jobs::WorkerJobs;
use callvault_app::{App, Settings};
use callvault_blob::BlobStore;
use callvault_core::{JobId, RecordingId, SystemClock};
use callvault_store::{JobSpec, JobState};
use callvault_store_testing::{TestDatabase, fresh_postgres, fresh_sqlite};

fn app_on(db: &TestDatabase, dir: &std::path::Path) -> App {
    let blobs = BlobStore::open(&format!("file://{}", dir.join("recordings").display()))
        .expect("audio folder");
    App::new(
        db.store.clone(),
        blobs,
        Arc::new(SystemClock),
        Settings::new("http://127.0.0.1:1", dir),
    )
}

/// Polls until `done` says so, for at most 20 seconds.
async fn until<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    for _ in 0..400 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting: {what}");
}

async fn a_media_worker_leaves_transcriptions_queued(db: TestDatabase) {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app_on(&db, dir.path());
    let now = app.now();
    let transcribe = app
        .store
        .enqueue(
            JobSpec::Transcribe {
                recording_id: RecordingId::new(),
            }
            .at(now),
            now,
        )
        .await
        .expect("queued");
    let cleanup = app
        .store
        .enqueue(
            JobSpec::CollectBlob {
                key: "recordings/nobody.mp3".into(),
            }
            .at(now),
            now,
        )
        .await
        .expect("queued");

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(app.jobs.clone().run(app.clone(), WorkerJobs::Media, {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    }));
    let gone = |id: JobId| {
        let app = app.clone();
        async move { app.store.job(id).await.expect("reads").is_none() }
    };
    until("the cleanup runs", || gone(cleanup)).await;
    stop.send_replace(true);
    runner.await.expect("the worker stops");

    let left = app
        .store
        .job(transcribe)
        .await
        .expect("reads")
        .expect("the transcription is still queued");
    assert_eq!(left.state, JobState::Queued);
    assert_eq!(left.attempts, 0, "never tried by this worker");

    // A transcription worker takes it (and is done at once: the recording does not exist).
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn(app.jobs.clone().run(app.clone(), WorkerJobs::Transcribe, {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    }));
    until("the transcription is taken", || gone(transcribe)).await;
    stop.send_replace(true);
    runner.await.expect("the worker stops");
}

#[tokio::test]
async fn a_media_worker_leaves_transcriptions_queued_sqlite() {
    if let Some(db) = fresh_sqlite().await {
        a_media_worker_leaves_transcriptions_queued(db).await;
    }
}

#[tokio::test]
async fn a_media_worker_leaves_transcriptions_queued_postgres() {
    if let Some(db) = fresh_postgres().await {
        a_media_worker_leaves_transcriptions_queued(db).await;
    }
}

#[tokio::test]
async fn the_speech_model_is_freed_once_unused() {
    let model = std::env::var("CALLVAULT_TEST_MODEL")
        .expect("CALLVAULT_TEST_MODEL names a Whisper model folder (the test command sets it)");
    let mut settings = Settings::new("http://127.0.0.1:1", std::env::temp_dir()).asr;
    settings.model = model.into();
    settings.install_default = false;
    settings.idle_unload = Duration::from_millis(200);
    let speech = Arc::new(callvault_app::Speech::default());
    let engine = speech.engine(&settings).await.expect("the model loads");
    assert!(speech.is_loaded().await);
    let again = speech.engine(&settings).await.expect("the model is there");
    assert!(Arc::ptr_eq(&engine, &again), "loaded once, shared");
    drop((engine, again));
    let s = speech.clone();
    until("the model is freed", move || {
        let s = s.clone();
        async move { !s.is_loaded().await }
    })
    .await;
    // Asked for again, it loads again.
    let _engine = speech
        .engine(&settings)
        .await
        .expect("the model loads again");
    assert!(speech.is_loaded().await);
}
