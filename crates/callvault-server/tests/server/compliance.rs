//! Compliance: legal holds through the API (what they refuse, who sees them, the audit).

use crate::common;

use callvault_core::user::{Role, Scope};
use common::{TestServer, call_mp3, json_of};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NUMBER: &str = "+1 415 555 0000";

/// A recorded call from `contact`; the call as reported.
async fn recorded_call(admin: &common::Client, contact: &str, minutes: i64) -> Value {
    let call = admin.answered_call(NUMBER, contact, minutes).await;
    let r = admin.upload(&json_of(&call, "id"), call_mp3()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
    call
}

#[tokio::test]
async fn a_legal_hold_refuses_every_deletion_until_an_admin_releases_it() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let deleter = server
        .user("deleter@example.com", Role::User, Scope::All, true, true)
        .await;
    admin.number(NUMBER, true).await;
    let held_call = recorded_call(&admin, "+14155550101", 5).await;
    let free_call = recorded_call(&admin, "+14155550102", 10).await;
    let conversation = json_of(&held_call, "conversation_id");
    let contact = json_of(&held_call, "contact_id");

    // Only admins place holds, and a hold needs a reason and an existing contact.
    let body =
        json!({"scope": "contact", "contact_id": contact, "reason": "Smith v. Acme, 24-1187"});
    assert_eq!(
        deleter
            .post("/api/v1/legal-holds", body.clone())
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    for bad in [
        json!({"scope": "contact", "contact_id": contact, "reason": "  "}),
        json!({"scope": "contact", "reason": "x"}),
        json!({"scope": "installation", "contact_id": contact, "reason": "x"}),
    ] {
        let r = admin.post("/api/v1/legal-holds", bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let unknown =
        json!({"scope": "contact", "contact_id": callvault_core::ContactId::new(), "reason": "x"});
    assert_eq!(
        admin.post("/api/v1/legal-holds", unknown).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        admin
            .get("/api/v1/legal-holds")
            .await
            .json()
            .as_array()
            .is_some_and(Vec::is_empty)
    );

    let placed = admin.post("/api/v1/legal-holds", body).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{:?}", placed.json());
    let hold = placed.json();
    assert_eq!(hold["active"], true);
    assert_eq!(hold["placed_by"]["name"], "admin");

    // Shown on the conversation and in the inbox, to whoever sees them.
    let shown = deleter
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .json();
    assert_eq!(shown["legal_holds"][0]["id"], hold["id"]);
    // The reason may name other people: team members see that it is held and since when,
    // admins why and by whom.
    assert_eq!(shown["legal_holds"][0]["reason"], "");
    assert_eq!(shown["legal_holds"][0]["placed_by"], Value::Null);
    let for_admin = admin
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await
        .json();
    assert_eq!(
        for_admin["legal_holds"][0]["reason"],
        "Smith v. Acme, 24-1187"
    );
    let inbox = deleter.get("/api/v1/conversations").await.json();
    let on_hold = |id: &str| {
        inbox["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["id"] == id))
            .map(|i| i["on_hold"].clone())
    };
    assert_eq!(on_hold(&conversation), Some(json!(true)));
    assert_eq!(
        on_hold(&json_of(&free_call, "conversation_id")),
        Some(json!(false))
    );

    // Every deletion is refused with who placed it and why, and nothing goes.
    for path in [
        format!("/api/v1/conversations/{conversation}"),
        format!("/api/v1/contacts/{contact}"),
    ] {
        for who in [&deleter, &admin] {
            let r = who.delete(&path).await;
            assert_eq!(r.status, StatusCode::CONFLICT, "{path}");
            assert_eq!(r.code(), "legal_hold");
            let error = &r.json()["error"];
            assert_eq!(error["hold"]["id"], hold["id"]);
            assert!(
                error["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("admin") && m.contains("Smith v. Acme")),
                "{error}"
            );
        }
    }
    let replace = admin
        .raw(
            reqwest::Method::PUT,
            &format!(
                "/api/v1/calls/{}/recording?replace=true",
                json_of(&held_call, "id")
            ),
            "audio/mpeg",
            call_mp3(),
        )
        .await;
    assert_eq!(
        replace.status,
        StatusCode::CONFLICT,
        "replacing deletes the old audio"
    );
    assert_eq!(replace.code(), "legal_hold");
    assert_eq!(
        server.audio_files().await.len(),
        2,
        "both recordings' audio is kept, and no new object is left"
    );
    assert_eq!(
        admin
            .get(&format!("/api/v1/conversations/{conversation}"))
            .await
            .status,
        StatusCode::OK
    );
    // What the hold does not cover is deleted as before.
    assert_eq!(
        deleter
            .delete(&format!(
                "/api/v1/conversations/{}",
                json_of(&free_call, "conversation_id")
            ))
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    // Released by an admin: audited, kept in the list, and the deletion goes through.
    let id = json_of(&hold, "id");
    assert_eq!(
        deleter
            .post(&format!("/api/v1/legal-holds/{id}/release"), json!({}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let released = admin
        .post(&format!("/api/v1/legal-holds/{id}/release"), json!({}))
        .await;
    assert_eq!(released.status, StatusCode::OK);
    assert_eq!(released.json()["active"], false);
    let again = admin
        .post(&format!("/api/v1/legal-holds/{id}/release"), json!({}))
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "hold_released".to_owned())
    );
    assert!(
        admin
            .get("/api/v1/legal-holds")
            .await
            .json()
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    assert_eq!(
        admin
            .get("/api/v1/legal-holds?include_released=true")
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        deleter
            .delete(&format!("/api/v1/conversations/{conversation}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(server.audio_files().await.is_empty());

    // Audited with ids only: never the reason, which may name people.
    let placed_entries = admin.audit_entries("hold_placed").await;
    let released_entries = admin.audit_entries("hold_released").await;
    assert_eq!((placed_entries.len(), released_entries.len()), (1, 1));
    assert_eq!(placed_entries[0]["target_id"], hold["id"]);
    assert_eq!(placed_entries[0]["contact_id"], contact.as_str());
    assert!(!placed_entries[0].to_string().contains("Smith"));
}

#[tokio::test]
async fn a_hold_on_everything_keeps_contacts_that_arrive_after_it() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let r = admin
        .post(
            "/api/v1/legal-holds",
            json!({"scope": "installation", "reason": "Regulator's inquiry"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["contact_id"], Value::Null);
    let later = recorded_call(&admin, "+14155550103", 5).await;
    let r = admin
        .delete(&format!(
            "/api/v1/contacts/{}",
            json_of(&later, "contact_id")
        ))
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "legal_hold".to_owned())
    );
    let inbox = admin.get("/api/v1/conversations").await.json();
    assert_eq!(inbox["items"][0]["on_hold"], true);
}

const OTHER: &str = "+1 415 555 0001";

/// PUT with a JSON body.
async fn put(client: &common::Client, path: &str, body: Value) -> common::Reply {
    client
        .raw(
            reqwest::Method::PUT,
            path,
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
}

#[tokio::test]
async fn retention_deletes_what_is_past_its_time_and_a_dry_run_says_what_first() {
    // No workers: the daily run would race the one asked for here.
    let server = TestServer::start_with(common::Options {
        workers: false,
        ..common::Options::default()
    })
    .await;
    let admin = server.admin().await;
    let user = server
        .user("ana@example.com", Role::User, Scope::All, true, true)
        .await;
    let n1 = json_of(&admin.number(NUMBER, true).await, "id");
    admin.number(OTHER, true).await;
    let expiring = recorded_call(&admin, "+14155550101", 5).await;
    let elsewhere = {
        let call = admin.answered_call(OTHER, "+14155550102", 10).await;
        let r = admin.upload(&json_of(&call, "id"), call_mp3()).await;
        assert_eq!(r.status, StatusCode::CREATED);
        call
    };
    let held = recorded_call(&admin, "+14155550103", 15).await;
    let contact_hold = format!("/api/v1/contacts/{}/hold", json_of(&held, "contact_id"));
    let placed = put(&admin, &contact_hold, json!({"reason": "Matter 12"})).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{:?}", placed.json());
    let again = put(&admin, &contact_hold, json!({"reason": "Matter 12"})).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "a held contact keeps their hold"
    );
    assert_eq!(again.json()["id"], placed.json()["id"]);
    server.clock.advance(time::Duration::days(40));
    assert_eq!(server.audio_files().await.len(), 3);

    // Admins only.
    assert_eq!(
        user.get("/api/v1/settings/retention").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        user.get("/api/v1/retention/preview?days=30").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        user.post("/api/v1/retention/run", json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(
            &user,
            "/api/v1/settings/retention",
            json!({"default_days": 30})
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        put(&user, &contact_hold, json!({"reason": "x"}))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The dry run: the one recording past 30 days on this number, the held one counted apart.
    let preview = admin
        .get(&format!("/api/v1/retention/preview?days=30&number_id={n1}"))
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{:?}", preview.json());
    let preview = preview.json();
    assert_eq!(preview["recordings"], 1);
    assert_eq!(preview["held_recordings"], 1);
    assert_eq!(preview["conversations"], 0);
    assert!(preview["bytes"].as_u64().is_some_and(|b| b > 1000));
    let started = admin
        .get(&format!("/api/v1/calls/{}", json_of(&expiring, "id")))
        .await
        .json()["started_at"]
        .clone();
    assert_eq!(preview["oldest"], started);
    assert_eq!(
        preview["examples"][0]["conversation_id"],
        expiring["conversation_id"]
    );
    assert!(
        preview["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("1 recording (")),
        "{preview}"
    );
    // As the default, it would take the other number's too.
    let everywhere = admin.get("/api/v1/retention/preview?days=30").await.json();
    assert_eq!(everywhere["recordings"], 2);
    for bad in ["days=0", "days=abc", "days=30&number_id=nope"] {
        let r = admin.get(&format!("/api/v1/retention/preview?{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let unknown = admin
        .get(&format!(
            "/api/v1/retention/preview?days=30&number_id={}",
            callvault_core::NumberId::new()
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // The number takes the period; saving deletes nothing by itself.
    let bad = admin
        .patch(
            &format!("/api/v1/numbers/{n1}"),
            json!({"retention_days": 0}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let saved = admin
        .patch(
            &format!("/api/v1/numbers/{n1}"),
            json!({"retention_days": 30}),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.json());
    assert_eq!(saved.json()["retention_days"], 30);
    assert_eq!(
        saved.json()["retention"],
        json!({"action": "delete_recordings", "after_days": 30})
    );
    let settings = admin.get("/api/v1/settings/retention").await.json();
    assert_eq!(
        settings["default_days"],
        Value::Null,
        "the default keeps forever"
    );
    assert_eq!(server.audio_files().await.len(), 3);

    // The run deletes the recording and its audio; the call stays, saying so.
    let run = admin.post("/api/v1/retention/run", json!({})).await;
    assert_eq!(run.status, StatusCode::OK, "{:?}", run.json());
    assert_eq!(
        (
            run.json()["recordings"].clone(),
            run.json()["held_recordings"].clone()
        ),
        (json!(1), json!(1))
    );
    assert_eq!(server.audio_files().await.len(), 2);
    let call = admin
        .get(&format!("/api/v1/calls/{}", json_of(&expiring, "id")))
        .await
        .json();
    assert_eq!(call["recording"], Value::Null);
    assert!(call["recording_expired_at"].is_string(), "{call}");
    let page = admin
        .get(&format!(
            "/conversations/{}",
            json_of(&expiring, "conversation_id")
        ))
        .await;
    assert!(
        String::from_utf8_lossy(&page.body)
            .contains("Recording deleted by the retention policy on"),
        "the timeline says so"
    );
    // The other number keeps forever; the held one stays until released.
    let other_call = admin
        .get(&format!("/api/v1/calls/{}", json_of(&elsewhere, "id")))
        .await
        .json();
    assert!(other_call["recording"].is_object());
    let deleted = admin.audit_entries("retention_delete").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        deleted[0]["detail"]["recordings"].as_array().map(Vec::len),
        Some(1)
    );
    // Found from the contact it was taken from, as their Audit log link looks.
    let of_contact = admin
        .get(&format!(
            "/api/v1/audit?action=retention_delete&contact_id={}",
            json_of(&call, "contact_id")
        ))
        .await
        .json();
    assert_eq!(
        of_contact["items"].as_array().map(Vec::len),
        Some(1),
        "{of_contact}"
    );
    assert_eq!(admin.audit_entries("retention.run").await.len(), 1);
    assert_eq!(
        admin.audit_entries("number.update").await.len(),
        1,
        "the refused change left none"
    );

    // A released hold lets the next run catch up.
    assert_eq!(
        admin.delete(&contact_hold).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.delete(&contact_hold).await.status,
        StatusCode::NOT_FOUND,
        "none left"
    );
    assert_eq!(admin.audit_entries("hold_released").await.len(), 1);
    let run = admin.post("/api/v1/retention/run", json!({})).await.json();
    assert_eq!(run["recordings"], 1);
    assert_eq!(server.audio_files().await.len(), 1);

    // null keeps forever again.
    let kept = admin
        .patch(
            &format!("/api/v1/numbers/{n1}"),
            json!({"retention_days": null}),
        )
        .await
        .json();
    assert_eq!(
        (
            kept["retention_days"].clone(),
            kept["retention"]["action"].clone()
        ),
        (Value::Null, json!("keep_forever"))
    );
}

#[tokio::test]
async fn idle_conversations_go_whole_when_every_line_they_were_on_says_so() {
    let server = TestServer::start_with(common::Options {
        workers: false,
        ..common::Options::default()
    })
    .await;
    let admin = server.admin().await;
    let n1 = json_of(&admin.number(NUMBER, true).await, "id");
    admin.number(OTHER, true).await;
    // One conversation on the first line only, one on both.
    let alone = recorded_call(&admin, "+14155550101", 5).await;
    recorded_call(&admin, "+14155550102", 6).await;
    let both = admin.answered_call(OTHER, "+14155550102", 7).await;
    server.clock.advance(time::Duration::days(100));

    let year = json!({"action": "delete_conversations", "after_days": 365});
    let r = put(
        &admin,
        "/api/v1/settings/retention",
        json!({"default": year}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
    assert_eq!(r.json()["default"], year);
    assert_eq!(r.json()["default_days"], Value::Null);
    let both_ways = put(
        &admin,
        "/api/v1/settings/retention",
        json!({"default": year, "default_days": 3}),
    )
    .await;
    assert_eq!(both_ways.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sixty = json!({"action": "delete_conversations", "after_days": 60});
    let r = admin
        .patch(
            &format!("/api/v1/numbers/{n1}"),
            json!({"retention": sixty}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let preview = admin
        .post("/api/v1/retention/preview", json!({}))
        .await
        .json();
    assert_eq!(
        (
            preview["conversations"].clone(),
            preview["recordings"].clone()
        ),
        (json!(1), json!(1))
    );
    let run = admin.post("/api/v1/retention/run", json!({})).await.json();
    assert_eq!(run["conversations"], 1, "{run}");
    assert_eq!(
        admin
            .get(&format!(
                "/api/v1/conversations/{}",
                json_of(&alone, "conversation_id")
            ))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The conversation with a call on the other line is kept by that line's longer period.
    assert_eq!(
        admin
            .get(&format!(
                "/api/v1/conversations/{}",
                json_of(&both, "conversation_id")
            ))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(server.audio_files().await.len(), 1);
}

#[tokio::test]
async fn the_daily_run_is_queued_by_the_workers_and_queues_the_next() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let call = recorded_call(&admin, "+14155550101", 5).await;
    let set = put(
        &admin,
        "/api/v1/settings/retention",
        json!({"default_days": 30, "audit_days": 400}),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(
        (
            set.json()["default_days"].clone(),
            set.json()["audit_days"].clone()
        ),
        (json!(30), json!(400))
    );
    let pending = || async {
        server
            .store
            .pending_jobs(callvault_store::JobKind::ApplyRetention)
            .await
            .unwrap_or(0)
    };
    assert_eq!(pending().await, 1, "the workers queued the day's run");
    server.clock.advance(time::Duration::days(31));
    let mut gone = false;
    for _ in 0..400 {
        server.state.jobs.wake();
        let recording = admin
            .get(&format!("/api/v1/calls/{}", json_of(&call, "id")))
            .await
            .json()["recording"]
            .clone();
        if recording.is_null() && server.audio_files().await.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(gone, "the daily run deleted the recording and its audio");
    // The run queues tomorrow's first, then finishes: once it has, one run is pending.
    let mut left = pending().await;
    for _ in 0..400 {
        if left == 1 && !admin.audit_entries("retention.run").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        left = pending().await;
    }
    assert_eq!(left, 1, "and queued the next day's");
    let runs = admin.audit_entries("retention.run").await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["actor"], Value::Null, "the system ran it");
}
