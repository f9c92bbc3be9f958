//! Guessing passwords: each account and each client address has a few free failures, then
//! waits that grow; `Retry-After` says how long, and waiting that long is enough.

use callvault_core::user::{Role, Scope};
use common::{Options, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::json;
use time::Duration;

use crate::common;

const RIGHT: &str = "correct horse battery";

async fn sign_in(
    server: &TestServer,
    email: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> common::Reply {
    let body = json!({"email": email, "password": password});
    let forwarded_for = forwarded_for.map(str::to_owned);
    server
        .anonymous()
        .send(Method::POST, "/api/v1/auth/login", move |r| {
            let r = r.json(&body);
            match forwarded_for {
                Some(ip) => r.header("x-forwarded-for", ip),
                None => r,
            }
        })
        .await
}

/// One client trying a password on 21 accounts that do not exist: each a failure, one more
/// than a client address has free.
async fn guess_one_password_on_many_accounts(server: &TestServer, forwarded_for: Option<&str>) {
    for n in 0..21 {
        let r = sign_in(
            server,
            &format!("nobody{n}@example.com"),
            "guess 123456",
            forwarded_for,
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
}

fn retry_after(reply: &common::Reply) -> i64 {
    reply.header("retry-after").parse().unwrap_or(0)
}

#[tokio::test]
async fn an_account_waits_after_five_wrong_passwords_and_a_right_one_resets_it() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    for _ in 0..6 {
        let r = sign_in(&server, "ana@example.com", "wrong password!", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Waiting now: even the right password is refused, and nothing is counted.
    for _ in 0..3 {
        let r = sign_in(&server, "ana@example.com", RIGHT, None).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
        );
        assert!(r.header("set-cookie").is_empty());
        assert_eq!(retry_after(&r), 1);
    }
    // Another account is not held up by Ana's.
    assert_eq!(
        sign_in(&server, "admin@example.com", RIGHT, None)
            .await
            .status,
        StatusCode::OK
    );
    // Once Retry-After has passed, a wrong one makes the wait longer...
    server.clock.advance(Duration::seconds(1));
    assert_eq!(
        sign_in(&server, "ana@example.com", "still wrong!", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let waiting = sign_in(&server, "ana@example.com", RIGHT, None).await;
    assert_eq!(retry_after(&waiting), 2);
    // ...and after it the right one signs in and starts the count again.
    server.clock.advance(Duration::seconds(2));
    assert_eq!(
        sign_in(&server, "ana@example.com", RIGHT, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sign_in(&server, "ana@example.com", "wrong again!", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // The lockout is in the audit log, naming no email.
    let lockouts = admin.audit_entries("auth.lockout").await;
    assert_eq!(lockouts.len(), 1, "{lockouts:?}");
    assert!(!lockouts[0].to_string().contains("ana@example.com"));
}

#[tokio::test]
async fn one_client_guessing_many_accounts_waits_too() {
    let server = TestServer::start().await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    guess_one_password_on_many_accounts(&server, None).await;
    let r = sign_in(&server, "ana@example.com", RIGHT, None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // A client-supplied X-Forwarded-For changes nothing when no proxy is trusted.
    let r = sign_in(&server, "ana@example.com", RIGHT, Some("203.0.113.99")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_counted_by_its_own_address() {
    let server = TestServer::start_with(Options {
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("network")],
        ..Options::default()
    })
    .await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    guess_one_password_on_many_accounts(&server, Some("203.0.113.5")).await;
    let guesser = sign_in(&server, "ana@example.com", RIGHT, Some("203.0.113.5")).await;
    assert_eq!(guesser.status, StatusCode::TOO_MANY_REQUESTS);
    let colleague = sign_in(&server, "ana@example.com", RIGHT, Some("203.0.113.6")).await;
    assert_eq!(
        colleague.status,
        StatusCode::OK,
        "another client behind the same proxy"
    );
}

#[tokio::test]
async fn wrong_current_passwords_and_token_sprees_wait_too() {
    let server = TestServer::start().await;
    let ana = server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    let change = |current: &str| json!({"current_password": current, "new_password": "a much better passphrase"});
    for _ in 0..6 {
        let r = ana
            .post("/api/v1/auth/password", change("not my password"))
            .await;
        assert_eq!(r.code(), "invalid_credentials");
    }
    let r = ana.post("/api/v1/auth/password", change(RIGHT)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&r) >= 1);

    let mut made = 0;
    let refused = loop {
        let r = ana
            .post("/api/v1/tokens", json!({"name": format!("token {made}")}))
            .await;
        if r.status != StatusCode::CREATED {
            break r;
        }
        made += 1;
        assert!(made <= 11, "tokens without end");
    };
    assert_eq!(made, 11);
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_sign_in_form_says_how_long_to_wait() {
    let server = TestServer::start().await;
    server
        .user("ana@example.com", Role::User, Scope::All, true, false)
        .await;
    let form = |password: &str| {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("email", "ana@example.com"), ("password", password)])
            .finish();
        let base = server.base.clone();
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client")
                .post(format!("{base}/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("origin", &base)
                .body(body)
                .send()
                .await
                .expect("answers")
        }
    };
    for _ in 0..6 {
        assert_eq!(
            form("wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let waiting = form(RIGHT).await;
    assert_eq!(waiting.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        waiting
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let page = waiting.text().await.unwrap_or_default();
    assert!(
        page.contains("Too many wrong passwords. Try again in a second."),
        "{page}"
    );
}
