//! The Inbox: search by name or by phone number however it is typed, Quick Filters by the last
//! message's channel, newest first, in pages.

use crate::common;

use callvault_core::user::{Role, Scope};
use common::{TestServer, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NUMBER: &str = "+1 415 555 0000";

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|c| c["contact"]["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn q(text: &str) -> String {
    let encoded: String = text
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("/api/v1/conversations?q={encoded}")
}

#[tokio::test]
async fn search_finds_a_contact_by_any_form_of_their_number_or_their_name() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let r = admin
        .post(
            "/api/v1/contacts",
            json!({"name": "Élodie Martin", "phone": "(415) 555-0100"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
    assert_eq!(r.json()["phone"], "+14155550100");
    admin
        .post(
            "/api/v1/contacts",
            json!({"name": "Marcus Lee", "phone": "+1 415 555 0177"}),
        )
        .await;
    admin
        .post(
            "/api/v1/contacts",
            json!({"name": "Priya Natarajan", "phone": "+44 20 7946 0018"}),
        )
        .await;

    for typed in [
        "(415) 555-0100",
        "+1 415 555 0100",
        "5550100",
        "415.555.0100",
        "14155550100",
        "555 0100",
    ] {
        let page = admin.get(&q(typed)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            names(&page.json()),
            vec!["Élodie Martin"],
            "searching {typed:?}"
        );
    }
    assert_eq!(
        names(&admin.get(&q("élodie")).await.json()),
        vec!["Élodie Martin"]
    );
    assert_eq!(
        names(&admin.get(&q("MARTIN")).await.json()),
        vec!["Élodie Martin"]
    );
    assert_eq!(
        names(&admin.get(&q("020 7946 0018")).await.json()),
        vec!["Priya Natarajan"],
        "national form abroad"
    );
    assert!(names(&admin.get(&q("nobody")).await.json()).is_empty());
    assert!(
        names(&admin.get(&q("100%")).await.json()).is_empty(),
        "wildcards are literal"
    );
}

#[tokio::test]
async fn quick_filters_narrow_by_last_message_channel() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let called = admin.answered_call(NUMBER, "+14155550101", -30).await;
    let noted = admin.answered_call(NUMBER, "+14155550102", -20).await;
    admin
        .post(
            "/api/v1/contacts",
            json!({"name": "Quiet Person", "phone": "+14155550103"}),
        )
        .await;
    let note = admin
        .post(
            &format!(
                "/api/v1/conversations/{}/notes",
                json_of(&noted, "conversation_id")
            ),
            json!({"body": "Sent the quote by email."}),
        )
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{:?}", note.json());

    let calls = admin.get("/api/v1/conversations?channel=call").await.json();
    assert_eq!(calls["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(calls["items"][0]["id"], called["conversation_id"]);
    assert_eq!(calls["items"][0]["last_message_channel"], "call");
    let notes = admin.get("/api/v1/conversations?channel=note").await.json();
    assert_eq!(notes["items"][0]["id"], noted["conversation_id"]);
    assert_eq!(
        admin.get("/api/v1/conversations?channel=sms").await.json()["items"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert_eq!(
        admin.get("/api/v1/conversations").await.json()["items"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    let bad = admin.get("/api/v1/conversations?channel=fax").await;
    assert_eq!(
        (bad.status, bad.code().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
}

#[tokio::test]
async fn the_inbox_is_newest_first_and_pages_cleanly() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    for i in 0..7 {
        admin
            .answered_call(NUMBER, &format!("+1415555{:04}", 200 + i), -60 + i)
            .await;
    }
    let all = admin.get("/api/v1/conversations").await.json();
    let phones: Vec<_> = all["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["contact"]["phone"].clone())
        .collect();
    assert_eq!(phones.first(), Some(&json!("+14155550206")), "newest first");
    assert_eq!(phones.last(), Some(&json!("+14155550200")));

    let mut walked = Vec::new();
    let mut path = "/api/v1/conversations?limit=3".to_owned();
    loop {
        let page = admin.get(&path).await.json();
        walked.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| c["contact"]["phone"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/conversations?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, phones);

    for bad in [
        "/api/v1/conversations?limit=0",
        "/api/v1/conversations?limit=9999",
        "/api/v1/conversations?cursor=garbage",
        "/api/v1/conversations?sort=name",
    ] {
        let r = admin.get(bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn a_scoped_user_finds_only_their_contacts() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::Assigned, true, false)
        .await;
    admin.number(NUMBER, true).await;
    admin.post("/api/v1/contacts", json!({"name": "Ana's Client", "phone": "+14155550301", "assigned_user_ids": [ana.id()]})).await;
    admin
        .post(
            "/api/v1/contacts",
            json!({"name": "Someone Else", "phone": "+14155550302"}),
        )
        .await;

    assert_eq!(
        names(&ana.get("/api/v1/conversations").await.json()),
        vec!["Ana's Client"]
    );
    assert!(names(&ana.get(&q("Someone")).await.json()).is_empty());
    assert!(names(&ana.get(&q("5550302")).await.json()).is_empty());
    let contacts = ana.get("/api/v1/contacts").await.json();
    assert_eq!(contacts["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        names(&admin.get("/api/v1/conversations").await.json()).len(),
        2
    );
}
