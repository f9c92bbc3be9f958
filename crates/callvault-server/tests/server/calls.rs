//! Calls reported by a phone system, and the rule that recording is decided when a call starts.

use crate::common;

use common::{START, TestServer, call_mp3, json_of, rfc3339};
use reqwest::StatusCode;
use serde_json::json;
use time::Duration;

const NUMBER: &str = "+1 415 555 0000";

#[tokio::test]
async fn turning_recording_on_never_reaches_back_to_earlier_calls() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let number = admin.number(NUMBER, false).await;

    server.clock.advance(Duration::minutes(30));
    let early = admin.answered_call(NUMBER, "(415) 555-0101", 10).await;
    assert_eq!(early["recording_allowed"], false);
    let refused = admin
        .upload(early["id"].as_str().unwrap_or_default(), call_mp3())
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "recording_disabled");

    // An admin turns Call Recording on at 09:30.
    let on = admin
        .patch(
            &format!(
                "/api/v1/numbers/{}",
                number["id"].as_str().unwrap_or_default()
            ),
            json!({"call_recording": true}),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);
    assert_eq!(on.json()["call_recording"], true);

    // The earlier call still may not get a recording...
    let still = admin
        .upload(early["id"].as_str().unwrap_or_default(), call_mp3())
        .await;
    assert_eq!(still.code(), "recording_disabled");
    // ...nor may a call that started before the change but is reported after it.
    let late_report = admin.answered_call(NUMBER, "(415) 555-0102", 20).await;
    assert_eq!(late_report["recording_allowed"], false);

    // A call that starts after the change is recorded.
    server.clock.advance(Duration::minutes(30));
    let after = admin.answered_call(NUMBER, "(415) 555-0101", 45).await;
    assert_eq!(after["recording_allowed"], true);
    let stored = admin
        .upload(after["id"].as_str().unwrap_or_default(), call_mp3())
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{:?}", stored.json());

    // Turning it off again does not take the recording away.
    admin
        .patch(
            &format!(
                "/api/v1/numbers/{}",
                number["id"].as_str().unwrap_or_default()
            ),
            json!({"call_recording": false}),
        )
        .await;
    let call = admin
        .get(&format!(
            "/api/v1/calls/{}",
            after["id"].as_str().unwrap_or_default()
        ))
        .await
        .json();
    assert_eq!(call["recording_allowed"], true);
    assert!(call["recording"]["id"].is_string());
}

#[tokio::test]
async fn a_call_shows_direction_status_duration_and_who_handled_it() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ana = server
        .user(
            "ana@example.com",
            callvault_core::user::Role::User,
            callvault_core::user::Scope::All,
            true,
            false,
        )
        .await;
    admin.number(NUMBER, true).await;
    let start = START - Duration::hours(1);
    let reported = admin
        .report(json!({
            "number": NUMBER,
            "contact_phone": "+1 (415) 555-0199",
            "contact_name": "Bruno Diaz",
            "direction": "outbound",
            "status": "answered",
            "started_at": rfc3339(start),
            "answered_at": rfc3339(start + Duration::seconds(9)),
            "ended_at": rfc3339(start + Duration::seconds(9 + 125)),
            "handled_by_email": "ANA@example.com",
            "external_id": "pbx-7781",
        }))
        .await;
    assert_eq!(reported.status, StatusCode::CREATED);
    let id = reported.json()["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let call = ana.get(&format!("/api/v1/calls/{id}")).await;
    assert_eq!(call.status, StatusCode::OK);
    let c = call.json();
    assert_eq!(c["direction"], "outbound");
    assert_eq!(c["status"], "answered");
    assert_eq!(c["duration_s"], 125);
    assert_eq!(c["handled_by"]["name"], "ana");
    assert_eq!(c["from"], "+14155550000");
    assert_eq!(c["to"], "+14155550199");
    assert_eq!(c["started_at"], rfc3339(start));
    assert!(c["recording"].is_null());

    // The phone system retries the report: nothing new is made.
    let again = admin
        .report(json!({
            "number": NUMBER, "contact_phone": "+14155550199", "direction": "outbound", "status": "answered",
            "started_at": rfc3339(start), "external_id": "pbx-7781",
        }))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], id.as_str());

    // The contact was created from the call, with the name the phone system gave.
    let conv = admin
        .get(&format!(
            "/api/v1/conversations/{}",
            c["conversation_id"].as_str().unwrap_or_default()
        ))
        .await
        .json();
    assert_eq!(conv["contact"]["name"], "Bruno Diaz");
    assert_eq!(conv["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(conv["events"][0]["call"]["id"], id.as_str());
}

#[tokio::test]
async fn unanswered_busy_and_failed_calls_have_no_talk_time() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    for (i, status) in ["no-answer", "busy", "failed"].iter().enumerate() {
        let start = START - Duration::minutes(10 + i64::try_from(i).unwrap_or(0));
        let r = admin
            .report(json!({
                "number": NUMBER, "contact_phone": "+14155550123", "direction": "inbound", "status": status,
                "started_at": rfc3339(start), "ended_at": rfc3339(start + Duration::seconds(30)),
            }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{status}: {:?}", r.json());
        let call = admin
            .get(&format!(
                "/api/v1/calls/{}",
                r.json()["id"].as_str().unwrap_or_default()
            ))
            .await
            .json();
        assert_eq!(call["status"], *status);
        assert_eq!(call["duration_s"], 0);
    }
}

#[tokio::test]
async fn bad_reports_get_a_clear_error_and_change_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let good = json!({
        "number": NUMBER, "contact_phone": "+14155550111", "direction": "inbound", "status": "answered",
        "started_at": rfc3339(START - Duration::minutes(5)),
    });
    let with = |key: &str, value: serde_json::Value| {
        let mut v = good.clone();
        v[key] = value;
        v
    };
    let cases = [
        (
            with("contact_phone", json!("not a phone")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_phone",
        ),
        (
            with("number", json!("+1 212 555 0100")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_number",
        ),
        (
            with("handled_by_email", json!("nobody@example.com")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_user",
        ),
        // Found by schemathesis on PostgreSQL, which cannot take NUL in a query: a 500.
        (
            with("handled_by_email", json!("ana\u{0}@example.com")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_email",
        ),
        (
            with("status", json!("hung-up")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            with("direction", json!(7)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            with("started_at", json!("yesterday")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            with("started_at", json!(rfc3339(START + Duration::days(2)))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_times",
        ),
        (
            with("ended_at", json!(rfc3339(START - Duration::hours(1)))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_times",
        ),
        (
            with("colour", json!("blue")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            with("external_id", json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_external_id",
        ),
        (
            with("source", json!("Big PBX!")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_source",
        ),
    ];
    for (body, status, code) in cases {
        let r = admin.report(body.clone()).await;
        assert_eq!((r.status, r.code()), (status, code.to_owned()), "{body}");
        assert!(
            !r.json()["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
    }
    let malformed = admin
        .raw(
            reqwest::Method::POST,
            "/api/v1/calls",
            "application/json",
            b"{\"number\": ".to_vec(),
        )
        .await;
    assert_eq!(
        (malformed.status, malformed.code().as_str()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    // An array would fill a struct field by field; no body here is anything but an object.
    let array = admin
        .raw(
            reqwest::Method::PATCH,
            &format!(
                "/api/v1/numbers/{}",
                json_of(&admin.get("/api/v1/numbers").await.json()[0], "id")
            ),
            "application/json",
            b"[null, null]".to_vec(),
        )
        .await;
    assert_eq!(
        (array.status, array.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
    let not_json = admin
        .raw(
            reqwest::Method::POST,
            "/api/v1/calls",
            "text/plain",
            b"hello".to_vec(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = admin
        .raw(
            reqwest::Method::POST,
            "/api/v1/calls",
            "application/json",
            vec![b' '; 2 * 1024 * 1024],
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);

    let inbox = admin.get("/api/v1/conversations").await.json();
    assert_eq!(
        inbox["items"].as_array().map(Vec::len),
        Some(0),
        "no contact or conversation was made"
    );
    let contacts = admin.get("/api/v1/contacts").await.json();
    assert_eq!(contacts["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn only_admins_report_calls_and_unknown_calls_are_not_found() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let user = server
        .user(
            "u@example.com",
            callvault_core::user::Role::User,
            callvault_core::user::Scope::All,
            true,
            true,
        )
        .await;
    admin.number(NUMBER, true).await;
    let r = user
        .report(json!({"number": NUMBER, "contact_phone": "+14155550111", "direction": "inbound", "status": "busy", "started_at": rfc3339(START)}))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    for path in [
        "/api/v1/calls/0195f5a0-0000-7000-8000-000000000000",
        "/api/v1/calls/not-a-uuid",
    ] {
        let r = admin.get(path).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    let anonymous = server
        .anonymous()
        .get("/api/v1/calls/0195f5a0-0000-7000-8000-000000000000")
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}
