//! Signing in with a password (the session cookie), API tokens, and their ends.

use crate::common;

use callvault_core::user::{Role, Scope};
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::Duration;

async fn login(server: &TestServer, email: &str, password: &str) -> common::Reply {
    server
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
}

fn cookie_of(reply: &common::Reply) -> String {
    reply
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A request with the session cookie, from callvault's own pages (a browser adds `Origin` to
/// every request that changes something).
async fn with_cookie(
    server: &TestServer,
    method: Method,
    path: &str,
    cookie: &str,
    body: Option<serde_json::Value>,
) -> common::Reply {
    let origin = server.base.clone();
    with_cookie_and(server, method, path, cookie, &[("origin", &origin)], body).await
}

/// A request with the session cookie and exactly these other headers.
async fn with_cookie_and(
    server: &TestServer,
    method: Method,
    path: &str,
    cookie: &str,
    headers: &[(&'static str, &str)],
    body: Option<serde_json::Value>,
) -> common::Reply {
    let cookie = cookie.to_owned();
    let headers: Vec<(&'static str, String)> =
        headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
    server
        .anonymous()
        .send(method, path, move |r| {
            let mut r = r.header("cookie", cookie);
            for (name, value) in headers {
                r = r.header(name, value);
            }
            match body {
                Some(b) => r.json(&b),
                None => r,
            }
        })
        .await
}

/// Another site's page can make the browser send the session cookie, not our `Origin`: what
/// it asks to change is refused and nothing changes. Reading, and API tokens, are unaffected.
#[tokio::test]
async fn changes_with_the_session_cookie_must_come_from_our_own_pages() {
    let server = TestServer::start().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    let cookie = cookie_of(&login(&server, "ana@example.com", "correct horse battery").await);
    let tokens = || async {
        with_cookie(&server, Method::GET, "/api/v1/tokens", &cookie, None)
            .await
            .json()
            .as_array()
            .map_or(0, Vec::len)
    };
    let before = tokens().await;
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        // Not a browser, or one too old to say: a cookie alone is not enough.
        vec![],
    ] {
        let made = with_cookie_and(
            &server,
            Method::POST,
            "/api/v1/tokens",
            &cookie,
            &headers,
            Some(json!({"name": "stolen"})),
        )
        .await;
        assert_eq!(
            (made.status, made.code().as_str()),
            (StatusCode::FORBIDDEN, "cross_site_request"),
            "{headers:?}"
        );
        let out = with_cookie_and(
            &server,
            Method::POST,
            "/api/v1/auth/logout",
            &cookie,
            &headers,
            None,
        )
        .await;
        assert_eq!(out.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(out.header("set-cookie").is_empty());
    }
    assert_eq!(tokens().await, before, "no token was made");
    let me = with_cookie_and(
        &server,
        Method::GET,
        "/api/v1/me",
        &cookie,
        &[("origin", "http://evil.example")],
        None,
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "reading is not a change");

    // Our own pages, said either way.
    let made = with_cookie_and(
        &server,
        Method::POST,
        "/api/v1/tokens",
        &cookie,
        &[("sec-fetch-site", "same-origin")],
        Some(json!({"name": "laptop"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED);
    let made = with_cookie(
        &server,
        Method::POST,
        "/api/v1/tokens",
        &cookie,
        Some(json!({"name": "phone"})),
    )
    .await;
    assert_eq!(made.status, StatusCode::CREATED);

    // A token is no ambient credential: another site cannot make a browser send it.
    let by_token = ana
        .send(Method::POST, "/api/v1/tokens", |r| {
            r.header("origin", "http://evil.example")
                .json(&json!({"name": "script"}))
        })
        .await;
    assert_eq!(by_token.status, StatusCode::CREATED);

    // Signing in from another site's page is refused too; a script (no Origin) may.
    let forged = server
        .anonymous()
        .send(Method::POST, "/api/v1/auth/login", |r| {
            r.header("origin", "http://evil.example")
                .json(&json!({"email": "ana@example.com", "password": "correct horse battery"}))
        })
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.header("set-cookie").is_empty());
}

#[tokio::test]
async fn sign_in_use_the_session_and_sign_out() {
    let server = TestServer::start().await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;

    for (email, password) in [
        ("ana@example.com", "wrong password!"),
        ("nobody@example.com", "correct horse battery"),
    ] {
        let r = login(&server, email, password).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            "{email}"
        );
        assert!(r.header("set-cookie").is_empty());
    }

    let ok = login(&server, " ANA@example.com ", "correct horse battery").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["email"], "ana@example.com");
    let set = ok.header("set-cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    let cookie = cookie_of(&ok);

    let me = with_cookie(&server, Method::GET, "/api/v1/me", &cookie, None).await;
    assert_eq!(
        (me.status, me.json()["email"].clone()),
        (StatusCode::OK, json!("ana@example.com"))
    );

    let out = with_cookie(&server, Method::POST, "/api/v1/auth/logout", &cookie, None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(
        with_cookie(&server, Method::GET, "/api/v1/me", &cookie, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_expire() {
    let server = TestServer::start().await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    let cookie = cookie_of(&login(&server, "ana@example.com", "correct horse battery").await);
    server.clock.advance(Duration::days(13));
    assert_eq!(
        with_cookie(&server, Method::GET, "/api/v1/me", &cookie, None)
            .await
            .status,
        StatusCode::OK
    );
    server.clock.advance(Duration::days(2));
    assert_eq!(
        with_cookie(&server, Method::GET, "/api/v1/me", &cookie, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions() {
    let server = TestServer::start().await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    let laptop = cookie_of(&login(&server, "ana@example.com", "correct horse battery").await);
    let phone = cookie_of(&login(&server, "ana@example.com", "correct horse battery").await);

    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let wrong = with_cookie(
        &server,
        Method::POST,
        "/api/v1/auth/password",
        &laptop,
        Some(change("nope nope nope", "a much better passphrase")),
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_credentials")
    );
    let short = with_cookie(
        &server,
        Method::POST,
        "/api/v1/auth/password",
        &laptop,
        Some(change("correct horse battery", "short")),
    )
    .await;
    assert_eq!(
        (short.status, short.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "weak_password")
    );
    for weak in [
        "aaaaaaaaaa",
        "1234567890",
        "password12",
        "          ",
        "\0\0\0\0\0\0\0\0\0\0",
        "ana@example.com",
    ] {
        let refused = with_cookie(
            &server,
            Method::POST,
            "/api/v1/auth/password",
            &laptop,
            Some(change("correct horse battery", weak)),
        )
        .await;
        assert_eq!(
            (refused.status, refused.code().as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "weak_password"),
            "{weak:?}"
        );
        let message = refused.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            ["too easy to guess", "only spaces", "control characters"]
                .iter()
                .any(|why| message.contains(why)),
            "{weak:?}: {message}"
        );
    }

    let ok = with_cookie(
        &server,
        Method::POST,
        "/api/v1/auth/password",
        &laptop,
        Some(change("correct horse battery", "a much better passphrase")),
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT);
    let renewed = cookie_of(&ok);
    assert_eq!(
        with_cookie(&server, Method::GET, "/api/v1/me", &renewed, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        with_cookie(&server, Method::GET, "/api/v1/me", &phone, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&server, "ana@example.com", "correct horse battery")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&server, "ana@example.com", "a much better passphrase")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn api_tokens_are_shown_once_and_can_be_revoked() {
    let server = TestServer::start().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    let bob = server
        .user("bob@example.com", Role::User, Scope::All, true, false)
        .await;
    let created = ana.post("/api/v1/tokens", json!({"name": "PBX"})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let token = created.json()["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(token.starts_with("cv_"));
    let id = created.json()["id"].as_str().unwrap_or_default().to_owned();

    let as_token = common::Client {
        token: Some(token.clone()),
        ..ana.clone()
    };
    assert_eq!(
        as_token.get("/api/v1/me").await.json()["email"],
        "ana@example.com"
    );
    let listed = ana.get("/api/v1/tokens").await;
    assert!(
        !String::from_utf8_lossy(&listed.body).contains(&token),
        "the secret is never shown again"
    );
    assert_eq!(listed.json().as_array().map(Vec::len), Some(2));

    assert_eq!(
        bob.delete(&format!("/api/v1/tokens/{id}")).await.status,
        StatusCode::NOT_FOUND,
        "not Bob's token"
    );
    assert_eq!(
        ana.delete(&format!("/api/v1/tokens/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        as_token.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );

    for header in ["Bearer", "Basic YWJjOmRlZg==", "Bearer cv_not-a-token"] {
        let r = server
            .anonymous()
            .send(Method::GET, "/api/v1/me", |r| {
                r.header("authorization", header)
            })
            .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{header}"
        );
        assert_eq!(r.header("www-authenticate"), "Bearer");
    }
}

/// A disabled member's tokens are revoked, not paused: enabling them again brings none back.
/// Admins see and revoke anyone's tokens; others only their own. A password change may
/// revoke one's tokens too.
#[tokio::test]
async fn tokens_end_with_the_account_and_admins_can_revoke_any() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    let bob = server
        .user("bob@example.com", Role::User, Scope::All, true, false)
        .await;
    let ana_id = ana.id();
    let make = |client: common::Client, name: &'static str| async move {
        let made = client.post("/api/v1/tokens", json!({"name": name})).await;
        assert_eq!(made.status, StatusCode::CREATED);
        let token = made.json()["token"].as_str().unwrap_or_default().to_owned();
        let id = made.json()["id"].as_str().unwrap_or_default().to_owned();
        (
            common::Client {
                token: Some(token),
                ..client
            },
            id,
        )
    };
    let (pbx, pbx_id) = make(ana.clone(), "PBX").await;
    let (backup, _) = make(ana.clone(), "backup").await;

    // An admin lists Ana's tokens (never their secrets) and revokes one.
    let listed = admin.get(&format!("/api/v1/users/{ana_id}/tokens")).await;
    assert_eq!(listed.status, StatusCode::OK);
    let names: Vec<String> = listed
        .json()
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"PBX".to_owned()) && names.contains(&"backup".to_owned()));
    assert!(!String::from_utf8_lossy(&listed.body).contains("cv_"));
    // Bob may do neither.
    assert_eq!(
        bob.get(&format!("/api/v1/users/{ana_id}/tokens"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        bob.delete(&format!("/api/v1/users/{ana_id}/tokens/{pbx_id}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(pbx.get("/api/v1/me").await.status, StatusCode::OK);
    let revoked = admin
        .delete(&format!("/api/v1/users/{ana_id}/tokens/{pbx_id}"))
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(pbx.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        admin
            .delete(&format!("/api/v1/users/{ana_id}/tokens/{pbx_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let stranger = callvault_core::UserId::new();
    assert_eq!(
        admin
            .get(&format!("/api/v1/users/{stranger}/tokens"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Disabled, then enabled again: the token stays dead.
    assert_eq!(backup.get("/api/v1/me").await.status, StatusCode::OK);
    for disabled in [true, false] {
        let changed = admin
            .patch(
                &format!("/api/v1/users/{ana_id}"),
                json!({"disabled": disabled}),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK);
    }
    assert_eq!(
        backup.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        admin
            .get(&format!("/api/v1/users/{ana_id}/tokens"))
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(0)
    );

    // Bob changes his password and asks for his tokens to go; without asking they stay.
    let (bob_script, _) = make(bob.clone(), "script").await;
    let cookie = cookie_of(&login(&server, "bob@example.com", "correct horse battery").await);
    let kept = with_cookie(&server, Method::POST, "/api/v1/auth/password", &cookie,
        Some(json!({"current_password": "correct horse battery", "new_password": "a much better passphrase"}))).await;
    assert_eq!(kept.status, StatusCode::NO_CONTENT);
    assert_eq!(bob_script.get("/api/v1/me").await.status, StatusCode::OK);
    let cookie = cookie_of(&kept);
    let gone = with_cookie(&server, Method::POST, "/api/v1/auth/password", &cookie,
        Some(json!({"current_password": "a much better passphrase", "new_password": "another fine passphrase", "revoke_tokens": true}))).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert_eq!(
        bob_script.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        bob.get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "the seed token too"
    );
}
