//! Transcripts through the API, made by the real model (`CALLVAULT_TEST_MODEL`, installed by
//! the test command) from a real two-channel call in four turns (fixtures/make-fixtures.sh):
//!
//! | start | channel | words |
//! |---|---|---|
//! | 0.5 s | left, the contact | Hi, this is Maria. I want to change the delivery address on my order. |
//! | 5.5 s | right, the team member | Of course. Can you give me the order number, please? |
//! | 10.5 s | left | Yes, it is four five seven two. Please send it to my office in Boston. |
//! | 17 s | right | Thank you. Your order is updated and the parcel ships on Friday. |

use crate::common;

use std::path::PathBuf;

use callvault_core::user::{Role, Scope};
use common::{Client, Options, TestServer, finished, json_of, turns_mp3};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn words(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A stored call from Maria, handled by `handler`, with the four-turn recording.
async fn recorded_call(admin: &Client, handler: &str, contact: &str) -> (String, String) {
    let r = admin
        .report(json!({
            "number": "+1 415 555 0000",
            "contact_phone": contact,
            "contact_name": "Maria Lopez",
            "handled_by_email": handler,
            "direction": "inbound",
            "status": "answered",
            "started_at": "2026-03-02T09:00:01Z",
            "answered_at": "2026-03-02T09:00:02Z",
            "ended_at": "2026-03-02T09:00:26Z",
        }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
    let call = r.json();
    let up = admin.upload(&json_of(&call, "id"), turns_mp3()).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.json());
    (
        json_of(&up.json(), "recording_id"),
        json_of(&call, "conversation_id"),
    )
}

#[tokio::test]
async fn a_call_is_transcribed_by_party_with_times_and_found_by_its_words() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::Assigned, true, false)
        .await;
    let bob = server
        .user("bob@example.com", Role::User, Scope::Assigned, true, false)
        .await;
    admin.number("+1 415 555 0000", true).await;
    let (recording, conversation) =
        recorded_call(&admin, "ana@example.com", "+1 415 555 0101").await;

    let none = admin
        .get(&format!("/api/v1/recordings/{recording}/transcript"))
        .await;
    assert_eq!(json_of(&none.json(), "status"), "none");
    let path = format!("/api/v1/recordings/{recording}/transcript");
    // Someone who may not see the contact cannot ask for, read or find it.
    assert_eq!(
        bob.post(&path, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    let asked = ana.post(&path, json!({})).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{:?}", asked.json());
    assert_eq!(
        admin.post(&path, json!({})).await.status,
        StatusCode::ACCEPTED
    );

    let done = finished(&ana, &recording).await;
    assert_eq!(json_of(&done, "status"), "done", "{done}");
    assert_eq!(json_of(&done, "language"), "en");
    // Reading it is audited once in a while, not for each poll that found it still running.
    ana.get(&path).await;
    let views = admin.audit_entries("transcript_view").await;
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(views[0]["target_id"], json!(recording));
    assert_eq!(views[0]["actor"]["id"], json!(ana.id()));
    let segments = done["segments"].as_array().cloned().unwrap_or_default();
    let said = |speaker: &str| {
        words(
            &segments
                .iter()
                .filter(|s| s["speaker"] == speaker)
                .map(|s| json_of(s, "text"))
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    // Each speaker keeps the channel they were heard on: the contact 0, the team member 1.
    for s in &segments {
        let expected = if s["speaker"] == "Maria Lopez" { 0 } else { 1 };
        assert_eq!(s["channel"], json!(expected), "{s}");
    }
    let (maria, agent) = (said("Maria Lopez"), said("ana"));
    for w in ["maria", "delivery", "order", "office in boston"] {
        assert!(maria.contains(w), "the contact said {w:?}: {maria:?}");
    }
    for w in ["of course", "give me the order", "thank you", "friday"] {
        assert!(agent.contains(w), "the agent said {w:?}: {agent:?}");
    }
    assert!(
        !maria.contains("friday") && !agent.contains("boston"),
        "each party only their own words"
    );
    // Each turn starts within two seconds of when it was spoken, in order of time.
    let starts: Vec<f64> = segments
        .iter()
        .filter_map(|s| s["start"].as_f64())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    // The segment that starts each turn, and the turn's first words in it.
    let turn = |speaker: &str, spoken: f64| {
        segments
            .iter()
            .filter(|s| s["speaker"] == speaker)
            .min_by(|a, b| {
                let d = |s: &Value| (s["start"].as_f64().unwrap_or(f64::MAX) - spoken).abs();
                d(a).total_cmp(&d(b))
            })
            .map(|s| {
                (
                    s["start"].as_f64().unwrap_or(f64::NAN),
                    words(&json_of(s, "text")),
                )
            })
            .unwrap_or((f64::NAN, String::new()))
    };
    for (speaker, word, spoken) in [
        ("Maria Lopez", "maria", 0.5),
        ("ana", "course", 5.5),
        ("Maria Lopez", "yes", 10.5),
        ("ana", "thank you", 17.0),
    ] {
        let (at, text) = turn(speaker, spoken);
        assert!(
            text.contains(word),
            "the turn at {spoken} s starts with {word:?}: {text:?}"
        );
        assert!(
            (at - spoken).abs() <= 2.0,
            "{word:?} at {at}, spoken at {spoken}"
        );
    }
    let metadata = admin.get(&format!("/api/v1/recordings/{recording}")).await;
    assert_eq!(json_of(&metadata.json(), "transcript_status"), "done");
    // Done stays done: asking again answers the transcript.
    assert_eq!(admin.post(&path, json!({})).await.status, StatusCode::OK);

    // Search: the phrase, newest first, only within what each user may see.
    let hits = admin
        .get("/api/v1/search?q=office%20in%20BOSTON")
        .await
        .json();
    let hits = hits["hits"].as_array().cloned().unwrap_or_default();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(json_of(&hits[0], "recording_id"), recording);
    assert_eq!(json_of(&hits[0], "conversation_id"), conversation);
    assert_eq!(json_of(&hits[0], "speaker"), "Maria Lopez");
    assert!(
        json_of(&hits[0], "snippet")
            .to_lowercase()
            .contains("[office in boston]")
    );
    let at = hits[0]["start"].as_f64().unwrap_or(0.0);
    assert!((10.0..17.0).contains(&at), "in Maria's second turn: {at}");
    let ana_hits = ana.get("/api/v1/search?q=delivery").await.json();
    assert!(!ana_hits["hits"].as_array().is_none_or(Vec::is_empty));
    let bob_hits = bob.get("/api/v1/search?q=delivery").await.json();
    assert_eq!(
        bob_hits["hits"],
        json!([]),
        "bob sees none of Maria's calls"
    );
    assert_eq!(bob.get(&path).await.status, StatusCode::NOT_FOUND);
    for bad in [
        "/api/v1/search?q=",
        "/api/v1/search",
        "/api/v1/search?q=x&limit=0",
        "/api/v1/search?q=x&limit=many",
    ] {
        assert_eq!(
            admin.get(bad).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }

    // Deleting the conversation leaves nothing to find.
    let deleted = admin
        .delete(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let after = admin.get("/api/v1/search?q=delivery").await.json();
    assert_eq!(after["hits"], json!([]));
    assert_eq!(admin.get(&path).await.status, StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn numbers_may_transcribe_every_recording_automatically() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    let number = admin
        .post(
            "/api/v1/numbers",
            json!({"e164": "+1 415 555 0000", "label": "Support", "provider": "pbx",
                   "call_recording": true, "transcribe_automatically": true}),
        )
        .await;
    assert_eq!(number.status, StatusCode::CREATED, "{:?}", number.json());
    assert_eq!(number.json()["transcribe_automatically"], json!(true));
    let (recording, _) = recorded_call(&admin, "ana@example.com", "+1 415 555 0101").await;
    let done = finished(&admin, &recording).await;
    assert_eq!(json_of(&done, "status"), "done", "{done}");
    assert!(!done["segments"].as_array().is_none_or(Vec::is_empty));

    // Turned off, the next recording waits to be asked for.
    let id = json_of(&number.json(), "id");
    let off = admin
        .patch(
            &format!("/api/v1/numbers/{id}"),
            json!({"transcribe_automatically": false}),
        )
        .await;
    assert_eq!(off.json()["transcribe_automatically"], json!(false));
    let (second, _) = recorded_call(&admin, "ana@example.com", "+1 415 555 0102").await;
    let status = admin
        .get(&format!("/api/v1/recordings/{second}/transcript"))
        .await
        .json();
    assert_eq!(json_of(&status, "status"), "none");
    server.stop().await;
}

#[tokio::test]
async fn without_a_model_the_transcript_fails_and_says_why() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty_model = dir.path().join("no-model-here");
    std::fs::create_dir_all(&empty_model).expect("folder");
    let server = TestServer::start_in(
        dir.path(),
        Options {
            asr_model: Some(empty_model.clone()),
            ..Options::default()
        },
    )
    .await;
    let admin = server.admin().await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    admin.number("+1 415 555 0000", true).await;
    let (recording, _) = recorded_call(&admin, "ana@example.com", "+1 415 555 0101").await;
    let path = format!("/api/v1/recordings/{recording}/transcript");
    assert_eq!(
        admin.post(&path, json!({})).await.status,
        StatusCode::ACCEPTED
    );
    let failed = finished(&admin, &recording).await;
    assert_eq!(json_of(&failed, "status"), "failed", "{failed}");
    let error = json_of(&failed, "error");
    assert!(
        error.contains("no speech model") && error.contains("callvault model fetch"),
        "{error}"
    );
    assert_eq!(failed["segments"], json!([]));
    // Once the model is there, asking again tries again, and this time it works.
    let model = PathBuf::from(std::env::var_os("CALLVAULT_TEST_MODEL").expect("the test model"));
    for entry in std::fs::read_dir(&model).expect("model folder").flatten() {
        std::os::unix::fs::symlink(entry.path(), empty_model.join(entry.file_name()))
            .expect("link a model file");
    }
    assert_eq!(
        admin.post(&path, json!({})).await.status,
        StatusCode::ACCEPTED
    );
    let done = finished(&admin, &recording).await;
    assert_eq!(json_of(&done, "status"), "done", "{done}");
    assert!(
        done["segments"].as_array().is_some_and(|s| !s.is_empty()),
        "{done}"
    );

    let unknown = "/api/v1/recordings/01900000-0000-7000-8000-000000000000/transcript";
    assert_eq!(
        admin.post(unknown, json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(admin.get(unknown).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        admin
            .post("/api/v1/recordings/not-an-id/transcript", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    server.stop().await;
}
