//! The audit trail: what is recorded (ids only), filtered by person, action, contact and
//! time, paged, and exported as CSV; nothing in callvault edits or deletes an entry.

use crate::common;

use callvault_core::user::{Role, Scope};
use common::{TestServer, call_mp3, json_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const NUMBER: &str = "+1 415 555 0000";

fn actions(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|items| items.iter().map(|e| json_of(e, "action")).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_audit_trail_is_filtered_paged_and_exported_with_ids_only() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::All, true, true)
        .await;
    admin.number(NUMBER, true).await;
    let call = admin.answered_call(NUMBER, "+14155550123", 5).await;
    let rec = json_of(
        &admin.upload(&json_of(&call, "id"), call_mp3()).await.json(),
        "recording_id",
    );
    let contact = json_of(&call, "contact_id");
    let other = admin.answered_call(NUMBER, "+14155550124", 6).await;

    // Ana plays it; the admin downloads it; a sign-in fails and one succeeds and ends.
    let played = ana
        .send(
            Method::GET,
            &format!("/api/v1/recordings/{rec}/audio"),
            |r| r.header("range", "bytes=0-99"),
        )
        .await;
    assert_eq!(played.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        admin
            .get(&format!("/api/v1/recordings/{rec}/download"))
            .await
            .status,
        StatusCode::OK
    );
    let anonymous = server.anonymous();
    let wrong = anonymous
        .post(
            "/api/v1/auth/login",
            json!({"email": "ana@example.com", "password": "not it at all"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let login = anonymous
        .post(
            "/api/v1/auth/login",
            json!({"email": "ana@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    let cookie = login
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let origin = server.base.clone();
    let out = anonymous
        .send(Method::POST, "/api/v1/auth/logout", |r| {
            r.header("cookie", cookie).header("origin", origin)
        })
        .await;
    assert!(out.status.is_success(), "{}", out.status);
    // An assignment changes who may see the other contact.
    let assigned = admin
        .patch(
            &format!("/api/v1/contacts/{}", json_of(&other, "contact_id")),
            json!({"assigned_user_ids": [ana.id()]}),
        )
        .await;
    assert_eq!(assigned.status, StatusCode::OK);
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

    // Admins only; unknown names and cursors are refused.
    assert_eq!(ana.get("/api/v1/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        ana.get("/api/v1/audit.csv").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.get("/api/v1/audit?action=sing").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin.get("/api/v1/audit?cursor=xyz").await.status,
        StatusCode::BAD_REQUEST
    );
    // Nothing edits or deletes an entry.
    assert_eq!(
        admin.delete("/api/v1/audit").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );

    // By action, person and contact.
    let plays = admin.get("/api/v1/audit?action=play").await.json();
    assert_eq!(actions(&plays), ["play"]);
    assert_eq!(plays["items"][0]["actor"]["id"], ana.id().as_str());
    assert_eq!(plays["items"][0]["contact_id"], contact.as_str());
    let by_ana = actions(
        &admin
            .get(&format!("/api/v1/audit?actor={}", ana.id()))
            .await
            .json(),
    );
    assert_eq!(by_ana, ["auth.logout", "auth.login", "play"]);
    let about = actions(
        &admin
            .get(&format!("/api/v1/audit?contact_id={contact}"))
            .await
            .json(),
    );
    assert_eq!(about, ["delete", "download", "play"]);
    let failed = admin
        .get("/api/v1/audit?action=auth.login_failed")
        .await
        .json();
    assert_eq!(failed["items"][0]["target_id"], ana.id().as_str());
    assert_eq!(admin.audit_entries("contact.assign").await.len(), 1);
    // By time: nothing before the calls' day.
    let early = admin
        .get("/api/v1/audit?until=2000-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(actions(&early), Vec::<String>::new());

    // Pages of two walk the same entries the whole list holds.
    let whole = actions(&admin.get("/api/v1/audit?limit=1000").await.json());
    let mut walked = Vec::new();
    let mut path = "/api/v1/audit?limit=2".to_owned();
    loop {
        let page = admin.get(&path).await.json();
        walked.extend(actions(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/audit?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, whole);

    // The CSV: a header, one line per entry, ids only (never the caller's number), and the
    // export itself recorded.
    let csv = admin
        .get(&format!("/api/v1/audit.csv?contact_id={contact}"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.header("content-disposition").contains("attachment"));
    let text = String::from_utf8_lossy(&csv.body).to_string();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("at,actor_id,actor,action,target_kind,target_id,contact_id,detail")
    );
    assert_eq!(lines.count(), 3);
    let all = String::from_utf8_lossy(&admin.get("/api/v1/audit.csv").await.body).to_string();
    assert!(
        !all.contains("4155550123") && !all.contains("555-0123"),
        "never the caller's number"
    );
    assert_eq!(admin.audit_entries("audit.export").await.len(), 2);
}

#[tokio::test]
async fn the_audit_page_lists_filters_and_links_the_csv() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let call = admin.answered_call(NUMBER, "+14155550123", 5).await;
    let contact = json_of(&call, "contact_id");
    let rec = json_of(
        &admin.upload(&json_of(&call, "id"), call_mp3()).await.json(),
        "recording_id",
    );
    admin
        .get(&format!("/api/v1/recordings/{rec}/download"))
        .await;
    let page = admin
        .get(&format!(
            "/settings/audit?action=download&contact_id={contact}"
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = String::from_utf8_lossy(&page.body).to_string();
    assert!(html.contains("Downloaded a recording"));
    assert!(
        html.contains("About +14155550123"),
        "the contact is named as they are now"
    );
    let csv_link = html
        .lines()
        .find(|l| l.contains("audit.csv"))
        .unwrap_or_default()
        .to_owned();
    assert!(csv_link.contains("action=download"), "{csv_link}");
    let user = server
        .user("ana@example.com", Role::User, Scope::All, true, true)
        .await;
    assert_eq!(
        user.get("/settings/audit").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        admin.get("/settings/audit?since=yesterday").await.status,
        StatusCode::BAD_REQUEST
    );
}
