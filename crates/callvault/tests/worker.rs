//! Background jobs in processes of their own: `serve --no-worker` answers people and queues
//! the work; `callvault worker` does it, and shows what it runs on its own health endpoints.

mod common;

use std::time::Duration;

use common::{admin_token, recorded_call, send, serve_without_workers, status_of, text, worker};
use serde_json::Value;

async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .expect("answers")
        .text()
        .await
        .expect("text")
}

#[tokio::test]
async fn a_transcription_worker_does_what_a_server_without_workers_queued() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let token = admin_token(&data);
    let server = serve_without_workers(&data);
    let api = |path: &str| format!("{}{path}", server.base);
    let recording = recorded_call(&server.base, &token, true).await;
    let transcript = api(&format!("/api/v1/recordings/{recording}/transcript"));
    let status = |t: Value| text(&t, "status");
    assert_eq!(
        status(send(reqwest::Method::GET, &transcript, &token, None).await),
        "queued",
        "the server runs no jobs"
    );

    let media = worker(&data, "media");
    let transcriber = worker(&data, "transcribe");
    for base in [&media.base, &transcriber.base] {
        assert_eq!(status_of(&format!("{base}/healthz"), None).await, 200);
        assert_eq!(status_of(&format!("{base}/readyz"), None).await, 200);
        assert_eq!(
            status_of(&format!("{base}/api/v1/me"), Some(&token)).await,
            404,
            "a worker serves no API"
        );
    }
    // A worker hears of queued jobs by polling SQLite every few seconds; a minute at most.
    let mut now = String::new();
    for _ in 0..600 {
        now = status(send(reqwest::Method::GET, &transcript, &token, None).await);
        if now == "done" || now == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(now, "done");
    // The job is counted once it is closed, a moment after the transcript is stored.
    let counted = r#"callvault_jobs_total{kind="transcribe",outcome="done"} 1"#;
    let mut seen = String::new();
    for _ in 0..100 {
        seen = metrics(&transcriber.base).await;
        if seen.contains(counted) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        seen.contains(counted),
        "the transcription worker counts the job it ran: {seen}"
    );
    assert!(
        !metrics(&media.base).await.contains(r#"kind="transcribe""#),
        "the media worker runs no transcriptions"
    );
}
