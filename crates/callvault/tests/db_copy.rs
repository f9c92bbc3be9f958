//! Moving an installation: data made through the API on SQLite, copied with
//! `callvault db copy --to postgres://…`, reads the same from a server on PostgreSQL.

mod common;

use std::time::Duration;

use common::{Running, admin_token, callvault, fixture, serve, serve_with};
use serde_json::{Value, json};

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    fn on(server: &Running, token: &str) -> Self {
        Self {
            base: server.base.clone(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("answers");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.expect("JSON")
    }

    async fn bytes(&self, path: &str) -> Vec<u8> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("answers");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.bytes().await.expect("body").to_vec()
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("answers");
        assert!(r.status().is_success(), "{method} {path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

/// Everything a user would look at, as the API shows it.
async fn everything(api: &Api, conversation: &str, recording: &str) -> Vec<Value> {
    vec![
        api.get("/api/v1/conversations").await,
        api.get("/api/v1/conversations?q=maria").await,
        api.get(&format!("/api/v1/conversations/{conversation}"))
            .await,
        api.get(&format!("/api/v1/recordings/{recording}")).await,
        api.get(&format!("/api/v1/recordings/{recording}/transcript"))
            .await,
        api.get("/api/v1/search?q=delivery+address").await,
        api.get("/api/v1/numbers").await,
        api.get("/api/v1/users").await,
        api.get("/api/v1/contacts").await,
    ]
}

#[tokio::test]
async fn an_installation_copied_to_postgres_reads_the_same() {
    let Ok(cluster) = std::env::var(callvault_store_testing::POSTGRES_URL_VAR) else {
        eprintln!("skipped: the test command sets CALLVAULT_TEST_POSTGRES_URL");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let token = admin_token(&data);

    let server = serve(&data);
    let api = Api::on(&server, &token);
    api.post(
        "/api/v1/numbers",
        json!({"e164": "+1 415 555 0000", "label": "Sales", "provider": "pbx",
               "call_recording": true, "transcribe_automatically": true,
               "recording_since": "2026-01-01T00:00:00Z"}),
    )
    .await;
    let call = api
        .post(
            "/api/v1/calls",
            json!({"number": "+14155550000", "contact_phone": "(415) 555-0100",
                   "contact_name": "Maria Lopez", "direction": "inbound", "status": "answered",
                   "started_at": "2026-03-02T14:15:00Z", "answered_at": "2026-03-02T14:15:06Z",
                   "ended_at": "2026-03-02T14:15:30Z", "external_id": "pbx-1"}),
        )
        .await;
    api.post(
        "/api/v1/calls",
        json!({"number": "+14155550000", "contact_phone": "+1 415 555 0101",
               "contact_name": "Élodie Martin", "direction": "outbound", "status": "no-answer",
               "started_at": "2026-03-02T15:00:00Z", "external_id": "pbx-2"}),
    )
    .await;
    let conversation = text(&call, "conversation_id");
    api.post(
        &format!("/api/v1/conversations/{conversation}/notes"),
        json!({"body": "Wants the parcel sent to Boston."}),
    )
    .await;
    let audio = std::fs::read(fixture("call-turns-2ch.mp3")).expect("fixture");
    let stored = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/calls/{}/recording",
            server.base,
            text(&call, "id")
        ))
        .bearer_auth(&token)
        .header("content-type", "audio/mpeg")
        .body(audio)
        .send()
        .await
        .expect("upload");
    assert_eq!(stored.status().as_u16(), 201);
    let recording = text(&stored.json::<Value>().await.expect("JSON"), "recording_id");
    // The number transcribes automatically; wait for it (a minute at most).
    let mut done = false;
    for _ in 0..600 {
        let t = api
            .get(&format!("/api/v1/recordings/{recording}/transcript"))
            .await;
        if text(&t, "status") == "done" {
            done = true;
            break;
        }
        assert_ne!(text(&t, "status"), "failed", "{t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the transcript was made");
    let before = everything(&api, &conversation, &recording).await;
    let mp3 = api
        .bytes(&format!("/api/v1/recordings/{recording}/audio"))
        .await;
    drop(server);

    let target = callvault_store_testing::create_database(&cluster).await;
    let copied = callvault(&data)
        .args(["db", "copy", "--to", &target])
        .output()
        .expect("runs");
    let printed = String::from_utf8_lossy(&copied.stdout);
    assert!(
        copied.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    for line in ["users", "contacts", "calls", "transcript_segments", "done"] {
        assert!(printed.contains(line), "{printed}");
    }
    assert!(
        printed
            .lines()
            .any(|l| l.trim_start().starts_with("calls") && l.trim_end().ends_with(" 2")),
        "{printed}"
    );

    let again = callvault(&data)
        .args(["db", "copy", "--to", &target])
        .output()
        .expect("runs");
    assert!(
        !again.status.success(),
        "a copy into a database that is not empty is refused"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let server = serve_with({
        let mut cmd = callvault(&data);
        cmd.env("CALLVAULT_DATABASE_URL", &target);
        cmd
    });
    let api = Api::on(&server, &token);
    assert_eq!(
        everything(&api, &conversation, &recording).await,
        before,
        "the same inbox, timeline, recording and transcript"
    );
    assert_eq!(
        api.bytes(&format!("/api/v1/recordings/{recording}/audio"))
            .await,
        mp3
    );
    // Life goes on there: a new call lands in the same conversation.
    api.post(
        "/api/v1/calls",
        json!({"number": "+14155550000", "contact_phone": "+1 415 555 0100",
               "direction": "inbound", "status": "busy", "started_at": "2026-03-03T09:00:00Z"}),
    )
    .await;
    let timeline = api
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(timeline["events"].as_array().map(Vec::len), Some(3));
}
