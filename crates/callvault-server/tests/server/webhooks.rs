//! Outgoing webhooks against a real local receiver that checks each signature and answers 500
//! the first time: every event arrives, signed, retried until accepted, and each delivery
//! with its answer is visible to admins; private addresses are refused unless allowed.

use std::sync::{Arc, Mutex};

use crate::common;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use callvault_core::user::{Role, Scope};
use common::{TestServer, call_mp3, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NUMBER: &str = "+1 415 555 0000";

/// What the receiver was sent: the event, whether its signature checked out, the body.
type Received = Arc<Mutex<Vec<(String, bool, Value)>>>;

/// A receiver on 127.0.0.1 that verifies `Callvault-Signature` with `secret` (set once the
/// webhook exists) and refuses its first request with a 500.
async fn receiver(secret: Arc<Mutex<String>>) -> (String, Received) {
    let received: Received = Arc::default();
    let seen = received.clone();
    let first = Arc::new(Mutex::new(true));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (seen, first, secret) = (seen.clone(), first.clone(), secret.clone());
            async move {
                let header = headers
                    .get("callvault-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let key = secret.lock().map(|s| s.clone()).unwrap_or_default();
                // The server's clock is a test clock; the receiver allows any age here and
                // checks the time the header names against the body's own below.
                let valid =
                    callvault_core::webhook::verify(&key, &header, &body, now, i64::MAX / 2);
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let event = value["event"].as_str().unwrap_or_default().to_owned();
                if let Ok(mut s) = seen.lock() {
                    s.push((event, valid, value));
                }
                let mut first = first
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if std::mem::replace(&mut *first, false) {
                    AxumStatus::INTERNAL_SERVER_ERROR
                } else {
                    AxumStatus::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}/hook"), received)
}

#[tokio::test]
async fn events_are_delivered_signed_and_retried_until_the_receiver_accepts() {
    let server = TestServer::start_with(common::Options {
        webhook_allow_private: true,
        ..common::Options::default()
    })
    .await;
    let admin = server.admin().await;
    let secret = Arc::new(Mutex::new(String::new()));
    let (url, received) = receiver(secret.clone()).await;
    let made = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": url, "events": ["recording.ready", "call.completed", "recording.deleted", "transcript.ready"]}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.json());
    let hook = made.json();
    let key = json_of(&hook, "secret");
    assert!(key.starts_with("whsec_"));
    *secret.lock().expect("lock") = key;
    let listed = admin.get("/api/v1/webhooks").await.json();
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once"
    );

    admin.number(NUMBER, true).await;
    let call = admin.answered_call(NUMBER, "+14155550123", 5).await;
    let upload = admin.upload(&json_of(&call, "id"), call_mp3()).await;
    assert_eq!(upload.status, StatusCode::CREATED);
    let recording = json_of(&upload.json(), "recording_id");
    assert_eq!(
        admin
            .delete(&format!(
                "/api/v1/conversations/{}",
                json_of(&call, "conversation_id")
            ))
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    // The first attempt gets a 500; the queue tries again (after its backoff, on the test
    // clock) until every event is accepted.
    let accepted = |r: &Received| {
        r.lock()
            .map(|v| v.iter().filter(|(_, valid, _)| *valid).count())
            .unwrap_or(0)
    };
    for _ in 0..400 {
        if accepted(&received) >= 4 {
            break;
        }
        server.clock.advance(time::Duration::seconds(5));
        server.state.jobs.wake();
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let got = received.lock().expect("lock").clone();
    assert!(
        got.iter().all(|(_, valid, _)| *valid),
        "every delivery is signed with the secret"
    );
    let events: std::collections::BTreeSet<String> =
        got.iter().map(|(e, _, _)| e.clone()).collect();
    assert_eq!(
        events.into_iter().collect::<Vec<_>>(),
        ["call.completed", "recording.deleted", "recording.ready"]
    );
    assert_eq!(
        got.len(),
        4,
        "three events, one of them twice (its first attempt got a 500)"
    );
    let ready = got
        .iter()
        .find(|(e, _, _)| e == "recording.ready")
        .map(|(_, _, v)| v.clone())
        .unwrap_or_default();
    assert_eq!(ready["data"]["recording_id"], recording.as_str());
    assert!(
        ready["data"]["links"]["conversation"]
            .as_str()
            .is_some_and(|l| l.starts_with("http"))
    );
    assert!(
        !ready.to_string().contains("4155550123"),
        "ids and links, never the number"
    );

    // Admins see each delivery with its answer.
    let deliveries = admin
        .get(&format!(
            "/api/v1/webhooks/{}/deliveries",
            json_of(&hook, "id")
        ))
        .await
        .json();
    let items = deliveries.as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|d| d["state"] == "delivered" && d["last_status"] == 200)
    );
    assert!(
        items.iter().any(|d| d["attempts"] == 2),
        "the one refused first"
    );

    // Removed: nothing more is sent.
    assert_eq!(
        admin
            .delete(&format!("/api/v1/webhooks/{}", json_of(&hook, "id")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(admin.get("/api/v1/webhooks").await.json(), json!([]));
    assert_eq!(admin.audit_entries("webhook.create").await.len(), 1);
}

#[tokio::test]
async fn webhooks_reach_only_public_http_addresses_and_only_admins_manage_them() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let user = server
        .user("ana@example.com", Role::User, Scope::All, true, true)
        .await;
    let good = json!({"url": "https://hooks.example.com/callvault", "events": ["recording.ready"]});
    assert_eq!(
        user.post("/api/v1/webhooks", good.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        user.get("/api/v1/webhooks").await.status,
        StatusCode::FORBIDDEN
    );
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "ftp://example.com/hook",
        "https://user:pass@example.com/hook",
        "https://hooks.example.com:6379/hook",
        "not a url",
    ] {
        let r = admin
            .post(
                "/api/v1/webhooks",
                json!({"url": url, "events": ["recording.ready"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
    }
    let none = admin
        .post(
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": []}),
        )
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    let made = admin.post("/api/v1/webhooks", good).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.json());
    assert_eq!(
        admin
            .delete(&format!(
                "/api/v1/webhooks/{}",
                callvault_core::WebhookId::new()
            ))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
