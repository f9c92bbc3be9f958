//! Access follows the contact: a user with scope `assigned` sees only assigned contacts, and
//! everything else answers 404 at every door. Download and delete are permissions of their own.

use crate::common;

use callvault_core::user::{Role, Scope};
use common::{Client, TestServer, call_mp3, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const NUMBER: &str = "+1 415 555 0000";

struct World {
    server: TestServer,
    admin: Client,
    /// Scope `assigned`, may download.
    ana: Client,
    /// Scope `assigned`, may not download.
    bob: Client,
    /// Scope `all`, may neither download nor delete.
    carol: Client,
    /// Assigned to Ana and Bob.
    mine: Recorded,
    /// Assigned to nobody.
    theirs: Recorded,
}

struct Recorded {
    conversation: String,
    call: String,
    recording: String,
    contact: String,
}

async fn recorded(admin: &Client, phone: &str, assigned: Vec<String>) -> Recorded {
    let contact = admin.post("/api/v1/contacts", json!({"name": format!("Contact {phone}"), "phone": phone, "assigned_user_ids": assigned})).await;
    assert_eq!(contact.status, StatusCode::CREATED, "{:?}", contact.json());
    let call = admin.answered_call(NUMBER, phone, 1).await;
    let up = admin.upload(&json_of(&call, "id"), call_mp3()).await;
    assert_eq!(up.status, StatusCode::CREATED);
    Recorded {
        conversation: json_of(&call, "conversation_id"),
        call: json_of(&call, "id"),
        recording: json_of(&up.json(), "recording_id"),
        contact: json_of(&contact.json(), "id"),
    }
}

async fn world() -> World {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::Assigned, true, true)
        .await;
    let bob = server
        .user("bob@example.com", Role::User, Scope::Assigned, false, false)
        .await;
    let carol = server
        .user("carol@example.com", Role::User, Scope::All, false, false)
        .await;
    admin.number(NUMBER, true).await;
    let mine = recorded(&admin, "+14155550101", vec![ana.id(), bob.id()]).await;
    let theirs = recorded(&admin, "+14155550102", vec![]).await;
    World {
        server,
        admin,
        ana,
        bob,
        carol,
        mine,
        theirs,
    }
}

fn doors(r: &Recorded) -> Vec<String> {
    vec![
        format!("/api/v1/conversations/{}", r.conversation),
        format!("/api/v1/contacts/{}", r.contact),
        format!("/api/v1/calls/{}", r.call),
        format!("/api/v1/recordings/{}", r.recording),
        format!("/api/v1/recordings/{}/audio", r.recording),
        format!("/api/v1/recordings/{}/download", r.recording),
    ]
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_scoped_user_meets_404_at_every_door_of_an_unassigned_contact() {
    let w = world().await;
    for path in doors(&w.theirs) {
        let r = w.ana.get(&path).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
    }
    for path in doors(&w.mine) {
        let r = w
            .ana
            .send(Method::GET, &path, |r| r.header("range", "bytes=0-"))
            .await;
        assert!(r.status.is_success(), "{path}: {}", r.status);
    }
    assert_eq!(
        ids(&w.ana.get("/api/v1/conversations").await.json()),
        vec![w.mine.conversation.clone()]
    );

    // Deleting, editing or noting someone else's conversation: 404, and it is all still there.
    let del = w
        .ana
        .delete(&format!("/api/v1/conversations/{}", w.theirs.conversation))
        .await;
    assert_eq!(del.status, StatusCode::NOT_FOUND);
    let del_contact = w
        .ana
        .delete(&format!("/api/v1/contacts/{}", w.theirs.contact))
        .await;
    assert_eq!(del_contact.status, StatusCode::NOT_FOUND);
    let edit = w
        .ana
        .patch(
            &format!("/api/v1/contacts/{}", w.theirs.contact),
            json!({"name": "Mine now"}),
        )
        .await;
    assert_eq!(edit.status, StatusCode::NOT_FOUND);
    let note = w
        .ana
        .post(
            &format!("/api/v1/conversations/{}/notes", w.theirs.conversation),
            json!({"body": "hi"}),
        )
        .await;
    assert_eq!(note.status, StatusCode::NOT_FOUND);
    let still = w
        .admin
        .get(&format!("/api/v1/conversations/{}", w.theirs.conversation))
        .await;
    assert_eq!(still.status, StatusCode::OK);
    assert_eq!(still.json()["contact"]["name"], "Contact +14155550102");
    assert_eq!(still.json()["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(w.server.audio_files().await.len(), 2);
}

#[tokio::test]
async fn download_is_a_permission_of_its_own() {
    let w = world().await;
    let audio = format!("/api/v1/recordings/{}/audio", w.mine.recording);
    // Bob can play the recording as a player does, by byte ranges, never cached...
    let played = w
        .bob
        .send(Method::GET, &audio, |r| r.header("range", "bytes=0-"))
        .await;
    assert_eq!(played.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(played.header("cache-control"), "no-store");
    let stored = w
        .ana
        .get(&format!("/api/v1/recordings/{}/download", w.mine.recording))
        .await
        .body;
    assert_eq!(played.body, stored, "a short call fits in one range");
    // ...but not fetch the file whole, nor save it.
    let whole = w.bob.get(&audio).await;
    assert_eq!(
        (whole.status, whole.code().as_str()),
        (StatusCode::FORBIDDEN, "range_required")
    );
    let r = w
        .bob
        .get(&format!("/api/v1/recordings/{}/download", w.mine.recording))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let r = w
        .carol
        .get(&format!(
            "/api/v1/recordings/{}/download",
            w.theirs.recording
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Without access to the contact it stays 404, not 403: nothing is revealed.
    let r = w
        .bob
        .get(&format!(
            "/api/v1/recordings/{}/download",
            w.theirs.recording
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let saved = w
        .ana
        .get(&format!("/api/v1/recordings/{}/download", w.mine.recording))
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    assert!(
        saved
            .header("content-disposition")
            .starts_with("attachment")
    );
    assert_eq!(
        w.ana.get(&audio).await.status,
        StatusCode::OK,
        "who may download may fetch it whole"
    );
}

#[tokio::test]
async fn deleting_needs_the_delete_permission() {
    let w = world().await;
    let r = w
        .carol
        .delete(&format!("/api/v1/conversations/{}", w.theirs.conversation))
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert_eq!(w.server.audio_files().await.len(), 2, "nothing deleted");
    let r = w
        .ana
        .delete(&format!("/api/v1/conversations/{}", w.mine.conversation))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(w.server.audio_files().await.len(), 1);
}

#[tokio::test]
async fn only_admins_administer() {
    let w = world().await;
    let number = w.admin.get("/api/v1/numbers").await.json()[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let attempts = [
        w.carol
            .post(
                "/api/v1/numbers",
                json!({"e164": "+14155559999", "label": "x", "provider": "pbx"}),
            )
            .await,
        w.carol
            .patch(
                &format!("/api/v1/numbers/{number}"),
                json!({"call_recording": false}),
            )
            .await,
        w.carol.get("/api/v1/users").await,
        w.carol
            .post(
                "/api/v1/users",
                json!({"email": "x@example.com", "name": "X"}),
            )
            .await,
        w.carol
            .patch(
                &format!("/api/v1/users/{}", w.carol.id()),
                json!({"role": "admin"}),
            )
            .await,
        w.carol.get("/api/v1/audit").await,
        w.carol.upload(&w.theirs.call, call_mp3()).await,
        w.carol
            .patch(
                &format!("/api/v1/contacts/{}", w.theirs.contact),
                json!({"assigned_user_ids": [w.carol.id()]}),
            )
            .await,
        w.carol
            .post(
                "/api/v1/contacts",
                json!({"name": "New", "phone": "+14155550150", "assigned_user_ids": []}),
            )
            .await,
    ];
    for (i, r) in attempts.iter().enumerate() {
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "attempt {i}"
        );
    }
    assert_eq!(
        w.admin
            .get(&format!("/api/v1/numbers/{number}"))
            .await
            .json()["call_recording"],
        true
    );
    assert_eq!(
        w.carol.get("/api/v1/numbers").await.status,
        StatusCode::OK,
        "anyone may read the numbers"
    );
}

#[tokio::test]
async fn a_contact_a_scoped_user_creates_stays_visible_to_them() {
    let w = world().await;
    let r = w
        .bob
        .post(
            "/api/v1/contacts",
            json!({"name": "Bob's Lead", "phone": "+14155550160"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["assigned_user_ids"], json!([w.bob.id()]));
    let id = json_of(&r.json(), "id");
    assert_eq!(
        w.bob.get(&format!("/api/v1/contacts/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        w.ana.get(&format!("/api/v1/contacts/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn disabled_users_are_shut_out_and_the_last_admin_stays() {
    let w = world().await;
    let r = w
        .admin
        .patch(
            &format!("/api/v1/users/{}", w.carol.id()),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        w.carol.get("/api/v1/conversations").await.status,
        StatusCode::UNAUTHORIZED
    );

    let r = w
        .admin
        .patch(
            &format!("/api/v1/users/{}", w.admin.id()),
            json!({"role": "user"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::CONFLICT, "last_admin")
    );
    let r = w
        .admin
        .patch(
            &format!("/api/v1/users/{}", w.admin.id()),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(w.admin.get("/api/v1/me").await.json()["role"], "admin");
}
