//! The web UI's pages over HTTP: signing in and out, where visitors without access end up,
//! what each page shows to whom, and the assets' caching. What the controls do in a browser
//! is tested in real Chromium (ui-tests/).

use crate::common;

use callvault_core::user::{Role, Scope};
use common::{Client, TestServer, call_mp3, json_of};
use reqwest::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HOST, LOCATION, ORIGIN,
    SET_COOKIE,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

const NUMBER: &str = "+1 415 555 0000";
const QUIET_NUMBER: &str = "+1 415 555 0009";

/// A browser that does not follow redirects, so the tests see where it is sent.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

struct Page {
    status: StatusCode,
    location: String,
    cookie: String,
    content_type: String,
    body: String,
    headers: reqwest::header::HeaderMap,
}

async fn fetch(req: reqwest::RequestBuilder) -> Page {
    let resp = req.send().await.expect("request reaches the server");
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Page {
        status: resp.status(),
        location: header(LOCATION),
        cookie: header(SET_COOKIE),
        content_type: header(CONTENT_TYPE),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

/// A page as `client` sees it (API tokens are accepted by pages too).
async fn page(client: &Client, path: &str) -> Page {
    let mut req = browser().get(format!("{}{path}", client.base));
    if let Some(token) = &client.token {
        req = req.bearer_auth(token);
    }
    fetch(req).await
}

async fn sign_in_form(server: &TestServer, fields: &[(&str, &str)], origin: Option<&str>) -> Page {
    sign_in_form_via(server, fields, origin, None).await
}

/// The sign-in form sent with `Host` set to `host`, as a proxy that rewrites it would.
async fn sign_in_form_via(
    server: &TestServer,
    fields: &[(&str, &str)],
    origin: Option<&str>,
    host: Option<&str>,
) -> Page {
    let mut req = browser()
        .post(format!("{}/login", server.base))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish(),
        );
    if let Some(origin) = origin {
        req = req.header(ORIGIN, origin);
    }
    if let Some(host) = host {
        req = req.header(HOST, host);
    }
    fetch(req).await
}

#[tokio::test]
async fn visitors_sign_in_through_the_form_and_come_back_where_they_were() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let anonymous = server.anonymous();

    let sent = page(
        &anonymous,
        "/conversations/0192a3b4-0000-7000-8000-000000000000",
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    assert_eq!(
        sent.location,
        "/login?next=%2Fconversations%2F0192a3b4-0000-7000-8000-000000000000"
    );
    let form = page(&anonymous, "/login?next=/settings/users").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.content_type.starts_with("text/html"));
    assert!(form.body.contains(r#"name="next" value="/settings/users""#));

    let email = admin
        .user
        .as_ref()
        .map(|u| u.email.clone())
        .unwrap_or_default();
    let wrong = sign_in_form(
        &server,
        &[("email", &email), ("password", "nope"), ("next", "/")],
        None,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("The email or password is wrong."));
    assert!(wrong.cookie.is_empty());

    // Another site's form is refused and signs nobody in.
    let forged = sign_in_form(
        &server,
        &[("email", &email), ("password", "correct horse battery")],
        Some("http://evil.example"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie.is_empty());

    // `next` never leads off this site.
    let signed_in = sign_in_form(
        &server,
        &[
            ("email", &email),
            ("password", "correct horse battery"),
            ("next", "//evil.example/x"),
        ],
        Some(&server.base),
    )
    .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location, "/");
    // Nor after decoding: a tab or newline a browser would drop, a backslash, a control
    // character (which cannot go in a header: once a 500 that set the cookie anyway).
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "/\r\nx: y",
        "/\u{7f}",
    ] {
        let sent = sign_in_form(
            &server,
            &[
                ("email", &email),
                ("password", "correct horse battery"),
                ("next", next),
            ],
            Some(&server.base),
        )
        .await;
        assert_eq!(
            (sent.status, sent.location.as_str()),
            (StatusCode::SEE_OTHER, "/"),
            "{next:?}"
        );
        let form = page(
            &anonymous,
            &format!(
                "/login?next={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            ),
        )
        .await;
        assert_eq!(form.status, StatusCode::OK, "{next:?}");
        assert!(form.body.contains(r#"name="next" value="/""#), "{next:?}");
    }
    // Behind a proxy that rewrites Host, our own page's Origin (the public URL) is accepted.
    let credentials = [
        ("email", email.as_str()),
        ("password", "correct horse battery"),
    ];
    let proxied = sign_in_form_via(
        &server,
        &credentials,
        Some(&server.base),
        Some("10.1.2.3:8080"),
    )
    .await;
    assert_eq!(proxied.status, StatusCode::SEE_OTHER);
    // And another site's Origin with a Host forged to match it is not.
    let forged_host = sign_in_form_via(
        &server,
        &credentials,
        Some("http://evil.example"),
        Some("evil.example"),
    )
    .await;
    assert_eq!(forged_host.status, StatusCode::FORBIDDEN);
    assert!(forged_host.cookie.is_empty());
    let session = signed_in
        .cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(session.starts_with("callvault_session="), "{session}");

    let inbox = fetch(
        browser()
            .get(format!("{}/", server.base))
            .header(COOKIE, &session),
    )
    .await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.body.contains("aria-label=\"Search\""));
    assert!(inbox.body.contains("aria-label=\"Quick Filters\""));
    // Signed in already: the sign-in page sends them on.
    let again = fetch(
        browser()
            .get(format!(
                "{}/login?next=/settings/phone-numbers",
                server.base
            ))
            .header(COOKIE, &session),
    )
    .await;
    assert_eq!(again.location, "/settings/phone-numbers");

    // Another site's page cannot sign anyone out; our own page can.
    let forged = fetch(
        browser()
            .post(format!("{}/logout", server.base))
            .header(COOKIE, &session)
            .header(ORIGIN, "http://evil.example"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie.is_empty());
    let out = fetch(
        browser()
            .post(format!("{}/logout", server.base))
            .header(COOKIE, &session)
            .header(ORIGIN, &server.base),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location, "/login");
    assert!(out.cookie.contains("Max-Age=0"));
    let after = fetch(
        browser()
            .get(format!("{}/", server.base))
            .header(COOKIE, &session),
    )
    .await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "the old session no longer works"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_conversation_opens_only_for_those_who_may_see_its_contact() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let viewer = server
        .user(
            "viewer@example.com",
            Role::User,
            Scope::Assigned,
            false,
            false,
        )
        .await;
    admin.number(NUMBER, true).await;
    admin.number(QUIET_NUMBER, false).await;
    let mine = admin
        .post("/api/v1/contacts", json!({"name": "Ada Lovelace", "phone": "+14155550101", "assigned_user_ids": [viewer.id()]}))
        .await
        .json();
    let call = admin.answered_call(NUMBER, "+14155550101", 1).await;
    let up = admin.upload(&json_of(&call, "id"), call_mp3()).await;
    assert_eq!(up.status, StatusCode::CREATED);
    let theirs = admin.answered_call(QUIET_NUMBER, "+14155550102", 5).await;
    let mine_link = format!("/conversations/{}", json_of(&call, "conversation_id"));
    let theirs_link = format!("/conversations/{}", json_of(&theirs, "conversation_id"));
    assert_eq!(
        json_of(&mine, "conversation_id"),
        json_of(&call, "conversation_id")
    );

    let full = page(&admin, &mine_link).await;
    assert_eq!(full.status, StatusCode::OK);
    assert!(full.body.contains("Ada Lovelace"));
    assert!(full.body.contains("aria-label=\"Play\""));
    assert!(full.body.contains("aria-label=\"Playback speed\""));
    assert!(full.body.contains("aria-label=\"Seek\""));
    assert!(full.body.contains("/download\" download>"));
    assert!(full.body.contains("Delete conversation"));
    let quiet = page(&admin, &theirs_link).await;
    assert!(
        quiet
            .body
            .contains("recording was off for this number when the call started")
    );

    let limited = page(&viewer, &mine_link).await;
    assert_eq!(limited.status, StatusCode::OK);
    assert!(limited.body.contains("aria-label=\"Play\""));
    assert!(
        !limited.body.contains("/download\" download>"),
        "no download permission"
    );
    assert!(!limited.body.contains("Delete conversation"));

    for link in [
        theirs_link.as_str(),
        "/conversations/0192a3b4-0000-7000-8000-000000000000",
        "/conversations/not-an-id",
    ] {
        let denied = page(&viewer, link).await;
        assert_eq!(denied.status, StatusCode::NOT_FOUND, "{link}");
        assert!(denied.content_type.starts_with("text/html"), "{link}");
        assert!(denied.body.contains("Not found"), "{link}");
        assert!(!denied.body.contains("+14155550102"), "{link}");
    }

    // The Inbox shows each user their own contacts, and narrows by search and channel.
    let inbox = page(&viewer, "/").await;
    assert!(inbox.body.contains("Ada Lovelace"));
    assert!(!inbox.body.contains("+14155550102"));
    let searched = page(&admin, "/?q=%28415%29+555-0102&channel=call").await;
    assert!(
        searched.body.contains("(415) 555-0102"),
        "an unnamed contact is shown by the number as people write it"
    );
    assert!(!searched.body.contains("Ada Lovelace"));
    let texts = page(&admin, "/?channel=sms").await;
    assert!(texts.body.contains("No conversations match SMS."));
    let bad = page(&admin, "/?channel=fax").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("is not a channel"));
    server.stop().await;
}

#[tokio::test]
async fn settings_pages_follow_the_role() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let member = server
        .user("member@example.com", Role::User, Scope::All, true, false)
        .await;
    admin.number(NUMBER, true).await;

    let numbers = page(&admin, "/settings/phone-numbers").await;
    assert_eq!(numbers.status, StatusCode::OK);
    assert!(numbers.body.contains("+14155550000"));
    assert!(numbers.body.contains("aria-label=\"More actions\""));
    assert!(numbers.body.contains("Edit Configuration"));
    assert!(
        numbers
            .body
            .contains("Call recording laws vary by jurisdiction")
    );
    let read_only = page(&member, "/settings/phone-numbers").await;
    assert_eq!(read_only.status, StatusCode::OK);
    assert!(read_only.body.contains("+14155550000"));
    assert!(!read_only.body.contains("More actions"));

    let users = page(&admin, "/settings/users").await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("member@example.com"));
    let refused = page(&member, "/settings/users").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("only admins manage users"));
    server.stop().await;
}

#[tokio::test]
async fn assets_are_kept_by_browsers_until_a_new_build_changes_them() {
    let server = TestServer::start().await;
    let anonymous = server.anonymous();
    let login = page(&anonymous, "/login").await;
    let csp = login
        .headers
        .get(CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let start = login.body.find("/assets/").expect("an asset link");
    let css = &login.body[start..start + login.body[start..].find('"').expect("end of link")];
    assert!(css.ends_with("/app.css"), "{css}");

    let fresh = page(&anonymous, css).await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert!(fresh.content_type.starts_with("text/css"));
    assert!(
        fresh.headers[CACHE_CONTROL]
            .to_str()
            .unwrap_or_default()
            .contains("immutable")
    );
    let old = page(&anonymous, "/assets/000000000000/app.css").await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.headers[CACHE_CONTROL], "no-cache");
    let missing = page(&anonymous, &css.replace("app.css", "nothing.js")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Unknown paths: a page for browsers, JSON for programs and anything under /api.
    let lost = fetch(
        browser()
            .get(format!("{}/no/such/page", server.base))
            .header("accept", "text/html"),
    )
    .await;
    assert_eq!(lost.status, StatusCode::NOT_FOUND);
    assert!(lost.content_type.starts_with("text/html"));
    let api = server
        .anonymous()
        .send(Method::GET, "/api/v1/nothing", |r| {
            r.header("accept", "text/html")
        })
        .await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.code(), "not_found");
    server.stop().await;
}

/// The `href` of the page's "Earlier" link, if it has one.
fn earlier_link(page: &Page) -> Option<String> {
    let (before, _) = page.body.split_once("\" data-earlier>")?;
    let (_, href) = before.rsplit_once("href=\"")?;
    Some(href.replace("&amp;", "&"))
}

#[tokio::test]
async fn a_long_conversation_opens_at_its_newest_events_and_pages_back() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let outsider = server
        .user("out@example.com", Role::User, Scope::Assigned, true, false)
        .await;
    admin.number(NUMBER, true).await;
    let mut calls = Vec::new();
    for minute in 0..70 {
        calls.push(admin.answered_call(NUMBER, "+14155550177", minute).await);
    }
    let other = admin.answered_call(NUMBER, "+14155550178", 80).await;
    let conversation = json_of(&calls[0], "conversation_id");
    let anchor = |call: &serde_json::Value| format!("id=\"call-{}\"", json_of(call, "id"));
    let shown = |page: &Page| -> Vec<usize> {
        (0..calls.len())
            .filter(|&i| page.body.contains(&anchor(&calls[i])))
            .collect()
    };

    // The newest 30, then 30 before them, then the first 10; nothing twice.
    let newest = page(&admin, &format!("/conversations/{conversation}")).await;
    assert_eq!(newest.status, StatusCode::OK);
    assert_eq!(shown(&newest), (40..70).collect::<Vec<_>>());
    assert!(
        newest.body.contains("with its 70 calls"),
        "the delete dialog counts them all"
    );
    let middle = page(&admin, &earlier_link(&newest).expect("an Earlier link")).await;
    assert_eq!(shown(&middle), (10..40).collect::<Vec<_>>());
    let oldest = page(&admin, &earlier_link(&middle).expect("an Earlier link")).await;
    assert_eq!(shown(&oldest), (0..10).collect::<Vec<_>>());
    assert_eq!(earlier_link(&oldest), None, "nothing before the first call");

    let bad = page(
        &admin,
        &format!("/conversations/{conversation}?before=not-a-cursor"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("not one callvault made"));

    // A call's own link opens the conversation back to that call, marked to scroll to.
    let first_call = json_of(&calls[0], "id");
    let linked = page(
        &admin,
        &format!("/conversations/{conversation}/calls/{first_call}"),
    )
    .await;
    assert_eq!(linked.status, StatusCode::OK);
    assert!(
        linked
            .body
            .contains(&format!("data-focus=\"call-{first_call}\""))
    );
    assert_eq!(shown(&linked), (0..70).collect::<Vec<_>>());
    for (who, link) in [
        (
            &admin,
            format!(
                "/conversations/{conversation}/calls/{}",
                json_of(&other, "id")
            ),
        ),
        (
            &admin,
            format!("/conversations/{conversation}/calls/not-an-id"),
        ),
        (
            &outsider,
            format!("/conversations/{conversation}/calls/{first_call}"),
        ),
    ] {
        let denied = page(who, &link).await;
        assert_eq!(denied.status, StatusCode::NOT_FOUND, "{link}");
        assert!(!denied.body.contains("+14155550177"), "{link}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_recorded_call_without_its_recording_says_it_is_on_its_way_then_that_none_arrived() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let call = admin.answered_call(NUMBER, "+14155550190", 1).await;
    let link = format!("/conversations/{}", json_of(&call, "conversation_id"));
    let soon = page(&admin, &link).await;
    assert!(
        soon.body.contains("The recording is on its way."),
        "{}",
        soon.body
    );
    server.clock.advance(time::Duration::minutes(20));
    let later = page(&admin, &link).await;
    assert!(later.body.contains("No recording arrived."));
    assert!(!later.body.contains("on its way"));
    server.stop().await;
}

#[tokio::test]
async fn pages_checked_again_answer_304_until_something_changes() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    admin.answered_call(NUMBER, "+14155550191", 1).await;
    let first = page(&admin, "/").await;
    let tag = first
        .headers
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .expect("an ETag")
        .to_owned();
    let ask = |tag: String| {
        let mut req = browser()
            .get(format!("{}/", admin.base))
            .header(reqwest::header::IF_NONE_MATCH, tag);
        if let Some(token) = &admin.token {
            req = req.bearer_auth(token);
        }
        fetch(req)
    };
    let again = ask(tag.clone()).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(
        ask("\"something else\"".into()).await.status,
        StatusCode::OK
    );

    // A new call changes the page: the whole of it comes back, with a new tag.
    admin.answered_call(NUMBER, "+14155550192", 3).await;
    let changed = ask(tag.clone()).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert!(changed.body.contains("(415) 555-0192"));
    assert_ne!(
        changed
            .headers
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok()),
        Some(tag.as_str())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_conversation_is_unread_to_each_user_until_they_open_it_or_mark_it() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let dana = server
        .user("dana@example.com", Role::User, Scope::All, true, false)
        .await;
    let outsider = server
        .user("out@example.com", Role::User, Scope::Assigned, true, false)
        .await;
    admin.number(NUMBER, true).await;
    let call = admin.answered_call(NUMBER, "+14155550193", 1).await;
    let id = json_of(&call, "conversation_id");
    let unread = async |client: &Client| {
        let list = client.get("/api/v1/conversations").await.json();
        list["items"]
            .as_array()
            .and_then(|items| items.iter().find(|c| c["id"] == json!(id)))
            .map(|c| c["unread"] == json!(true))
            .expect("the conversation is listed")
    };
    assert!(
        unread(&admin).await && unread(&dana).await,
        "new to everyone"
    );

    // Opening it reads it, for that user only.
    assert_eq!(
        page(&admin, &format!("/conversations/{id}")).await.status,
        StatusCode::OK
    );
    assert!(!unread(&admin).await);
    assert!(unread(&dana).await);
    // Something new makes it unread again.
    admin.answered_call(NUMBER, "+14155550193", 10).await;
    assert!(unread(&admin).await);
    // Mark as read, without opening it.
    let marked = dana
        .post(&format!("/api/v1/conversations/{id}/read"), json!(null))
        .await;
    assert_eq!(marked.status, StatusCode::NO_CONTENT);
    assert!(!unread(&dana).await);
    // Not for a conversation one may not see: the same 404 as an unknown one.
    for target in [id.as_str(), "0192a3b4-0000-7000-8000-000000000000"] {
        let refused = outsider
            .post(&format!("/api/v1/conversations/{target}/read"), json!(null))
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{target}");
    }
    server.stop().await;
}
