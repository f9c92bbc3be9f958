//! Background jobs in processes of their own: `serve --no-worker` answers people and queues
//! the work; `callvault worker` does it, and shows what it runs on its own health endpoints.

mod common;

use std::time::Duration;

use common::{callvault, fixture, run_with_stdin, serve_without_workers, status_of, worker};
use serde_json::{Value, json};

async fn send(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new()
        .request(method.clone(), url)
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("answers");
    assert!(r.status().is_success(), "{method} {url}: {}", r.status());
    r.json().await.expect("JSON")
}

fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

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
    let added = run_with_stdin(
        callvault(&data).args([
            "user",
            "add",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
            "--admin",
        ]),
        "a long enough password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = callvault(&data)
        .args(["token", "create", "--email", "ops@example.com"])
        .output()
        .expect("runs");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();

    let server = serve_without_workers(&data);
    let api = |path: &str| format!("{}{path}", server.base);
    send(
        reqwest::Method::POST,
        &api("/api/v1/numbers"),
        &token,
        Some(
            json!({"e164": "+1 415 555 0000", "label": "Support", "provider": "pbx",
                    "call_recording": true, "transcribe_automatically": true,
                    "recording_since": "2026-01-01T00:00:00Z"}),
        ),
    )
    .await;
    let call = send(
        reqwest::Method::POST,
        &api("/api/v1/calls"),
        &token,
        Some(
            json!({"number": "+14155550000", "contact_phone": "(415) 555-0100",
                    "direction": "inbound", "status": "answered",
                    "started_at": "2026-03-02T14:15:00Z", "answered_at": "2026-03-02T14:15:06Z",
                    "ended_at": "2026-03-02T14:15:30Z"}),
        ),
    )
    .await;
    let stored = reqwest::Client::new()
        .put(api(&format!(
            "/api/v1/calls/{}/recording",
            text(&call, "id")
        )))
        .bearer_auth(&token)
        .header("content-type", "audio/mpeg")
        .body(std::fs::read(fixture("call-turns-2ch.mp3")).expect("fixture"))
        .send()
        .await
        .expect("upload");
    assert_eq!(stored.status().as_u16(), 201);
    let recording = text(&stored.json::<Value>().await.expect("JSON"), "recording_id");
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
