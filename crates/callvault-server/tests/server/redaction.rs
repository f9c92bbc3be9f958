//! Redaction end to end, with the real model, on a call in which the contact pays by card
//! (fixtures/call-card-2ch.mp3, made by fixtures/make-fixtures.sh): the card number said in
//! words, its expiry, an SSN, and an order number and a phone number that must stay.

use crate::common;

use common::{Client, TestServer, finished, fixtures_dir, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NUMBER: &str = "+1 415 555 0000";

/// A call on `number` from `contact` with `audio` as its recording: (recording, call).
async fn recorded(admin: &Client, number: &str, contact: &str, audio: Vec<u8>) -> (String, String) {
    let r = admin
        .report(json!({
            "number": number,
            "contact_phone": contact,
            "direction": "inbound",
            "status": "answered",
            "started_at": "2026-03-02T09:00:01Z",
            "answered_at": "2026-03-02T09:00:02Z",
            "ended_at": "2026-03-02T09:00:40Z",
        }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
    let call = json_of(&r.json(), "id");
    let up = admin.upload(&call, audio).await;
    assert_eq!(up.status, StatusCode::CREATED, "{:?}", up.json());
    (json_of(&up.json(), "recording_id"), call)
}

fn text_of(transcript: &Value) -> String {
    transcript["segments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["text"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The digits said, however written ("4532, 0-1-5-1" is "45320151").
fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Energy of a 1 kHz tone against all the energy in `samples` (16 kHz), by Goertzel.
fn tone_share(samples: &[f32]) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * 1000.0 / 16_000.0).cos();
    let (mut s1, mut s2) = (0.0_f64, 0.0_f64);
    let mut total = 0.0;
    for &x in samples {
        let x = f64::from(x);
        let s = x + k * s1 - s2;
        s2 = s1;
        s1 = s;
        total += x * x;
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2;
    #[allow(clippy::cast_precision_loss)]
    let n = samples.len() as f64;
    // A pure tone of amplitude A over n samples gives power (A n / 2)^2 and total A^2 n / 2.
    (power * 2.0 / n) / total.max(1e-12)
}

#[tokio::test]
async fn card_and_id_details_leave_the_transcript_the_index_and_the_audio() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let number = admin.number(NUMBER, true).await;
    let on = admin
        .patch(
            &format!("/api/v1/numbers/{}", json_of(&number, "id")),
            json!({"redact_sensitive": true}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK, "{:?}", on.json());
    assert_eq!(on.json()["redact_sensitive"], json!(true));

    let original = std::fs::read(fixtures_dir().join("call-card-2ch.mp3")).expect("fixture");
    let (recording, _) = recorded(&admin, NUMBER, "+1 415 555 0101", original.clone()).await;
    // Nobody hears it before it was checked (the transcript is asked for by itself).
    let view = admin
        .get(&format!("/api/v1/recordings/{recording}"))
        .await
        .json();
    if view["redaction_pending"] == json!(true) {
        let early = admin
            .get(&format!("/api/v1/recordings/{recording}/audio"))
            .await;
        assert_eq!(early.status, StatusCode::CONFLICT);
        assert_eq!(early.json()["error"]["code"], json!("redaction_pending"));
    }
    let done = finished(&admin, &recording).await;
    assert_eq!(json_of(&done, "status"), "done", "{done}");
    let text = text_of(&done);
    println!("{text}");
    assert!(text.contains("[redacted]"), "{text}");
    let said = digits(&text);
    for hidden in ["4532", "0151", "1283", "0366", "1226", "6789"] {
        assert!(!said.contains(hidden), "{hidden} is still in {text}");
    }
    assert!(text.contains("order 42"), "an order number stays: {text}");

    // The index holds only what the transcript holds.
    let search = |q: &str| {
        let admin = &admin;
        let q = q.to_owned();
        async move {
            let r = admin
                .get(&format!("/api/v1/search?q={}", q.replace(' ', "%20")))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
            r.json()["hits"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(search("4532").await, 0);
    assert!(search("order 42").await > 0);

    // The audio: replaced, the spans a tone.
    let view = admin
        .get(&format!("/api/v1/recordings/{recording}"))
        .await
        .json();
    assert_eq!(view["redaction_pending"], json!(false));
    let spans = view["redactions"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<&str> = spans.iter().filter_map(|s| s["kind"].as_str()).collect();
    assert!(kinds.contains(&"card") && kinds.contains(&"ssn"), "{view}");
    let audio = admin
        .get(&format!("/api/v1/recordings/{recording}/download"))
        .await;
    assert_eq!(audio.status, StatusCode::OK);
    assert_ne!(audio.body, original, "the stored audio is not the upload");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let redacted_path = dir.path().join("redacted.mp3");
    std::fs::write(&redacted_path, &audio.body).expect("writes");
    let (_, planes) = callvault_audio::load_16k(&redacted_path).expect("decodes");
    let card = spans
        .iter()
        .find(|s| s["kind"] == json!("card"))
        .expect("a card span");
    // Words were timed: "My card number is", said before the digits in the same segment, is
    // not under the tone.
    let card_segment = done["segments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| {
            s["text"]
                .as_str()
                .is_some_and(|t| t.contains("card number is [redacted]"))
        })
        .expect("the segment that said the card");
    let said_from = card_segment["start"].as_f64().unwrap_or(0.0);
    let covered_from = card["start_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
    assert!(
        covered_from > said_from + 0.5,
        "the tone starts at the digits ({covered_from} s), not the segment ({said_from} s)"
    );
    let at = |ms: &Value| usize::try_from(ms.as_u64().unwrap_or(0) * 16).unwrap_or(0);
    let (from, to) = (at(&card["start_ms"]), at(&card["end_ms"]));
    for plane in &planes {
        let share = tone_share(&plane[from..to.min(plane.len())]);
        assert!(share > 0.9, "the card's span is the tone: {share}");
    }
    let before = tone_share(&planes[0][16_000..48_000]);
    assert!(before < 0.1, "the order is speech, not the tone: {before}");

    // Audited, with the count of spans and no details.
    let entries = admin.audit_entries("redacted").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["detail"]["spans"], json!(spans.len()));

    // Transcribed again on a number that does not redact: no digits of the card come back.
    admin.number("+1 415 555 0001", true).await;
    let (again, _) = recorded(&admin, "+1 415 555 0001", "+1 415 555 0102", audio.body).await;
    let asked = admin
        .post(&format!("/api/v1/recordings/{again}/transcript"), json!({}))
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    let heard = text_of(&finished(&admin, &again).await);
    println!("again: {heard}");
    let said = digits(&heard);
    for hidden in ["4532", "0151", "1283", "0366"] {
        assert!(!said.contains(hidden), "{hidden} was heard again: {heard}");
    }
}
