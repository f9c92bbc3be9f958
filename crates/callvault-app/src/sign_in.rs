//! Signing in and out, and changing one's password: credentials checked against the stored
//! Argon2 hash, sessions kept in the database (so any replica knows them) by the SHA-256 of
//! their secret. The secret itself goes back to the caller, which hands it to the browser.

use callvault_core::user::{User, normalise_email};
use callvault_store::AuditAction;
use callvault_store::NewSession;
use time::Duration;

use std::net::IpAddr;

use crate::secrets::{hash_secret, new_secret};
use crate::throttle::{self, Key};
use crate::{App, AppError, AppResult, audit, passwords};

/// A session just started: its secret (the cookie's value) and how long it lasts.
pub struct Session {
    pub secret: String,
    pub lasts: Duration,
}

/// Starts a session for `user`.
pub async fn start_session(app: &App, user: &User) -> AppResult<Session> {
    let secret = new_secret();
    let now = app.now();
    let lasts = app.settings.session_ttl;
    app.store
        .create_session(NewSession {
            token_hash: hash_secret(&secret),
            user_id: user.id,
            created_at: now,
            expires_at: now + lasts,
        })
        .await?;
    Ok(Session { secret, lasts })
}

/// Checks an email and password and starts a session. A missing or disabled account is
/// checked against a decoy hash, so the answer takes as long and reads the same as for a wrong
/// password.
pub async fn sign_in(
    app: &App,
    email: &str,
    password: String,
    client: Option<IpAddr>,
) -> AppResult<(User, Session)> {
    let email = normalise_email(email).unwrap_or_default();
    let account = Key::Account(email.clone());
    let client = client.map(Key::Client);
    let keys: Vec<Key> = std::iter::once(account.clone())
        .chain(client.clone())
        .collect();
    // Checked before the password: while waiting, a right guess is refused like a wrong one.
    throttle::check(app, &keys).await?;
    let (user, hash) = match app.store.credentials(&email).await? {
        Some((user, hash)) if !user.disabled => (Some(user), hash),
        _ => (None, None),
    };
    let owner = user.as_ref().map(|u| u.id);
    let verified = passwords::verify(password, hash).await;
    let Some(user) = user.filter(|_| verified) else {
        tracing::warn!(email = %email, "failed sign-in");
        // The account's id when it is one (an address typed by a stranger is not kept).
        audit::record(
            app,
            None,
            AuditAction::SignInFailed,
            "user",
            owner.map(|id| id.to_string()),
            serde_json::json!({"client": client_ip(&keys)}),
        )
        .await;
        for key in &keys {
            throttle::count(app, key, owner).await?;
        }
        return Err(AppError::InvalidCredentials);
    };
    throttle::succeeded(app, &account).await?;
    let session = start_session(app, &user).await?;
    audit::record(
        app,
        Some(&user),
        AuditAction::SignIn,
        "user",
        Some(user.id.to_string()),
        serde_json::json!({}),
    )
    .await;
    Ok((user, session))
}

/// Ends the session whose secret this is, if there is one.
pub async fn sign_out(app: &App, secret: Option<&str>) -> AppResult<()> {
    if let Some(secret) = secret {
        let hash = hash_secret(secret);
        let user = app.store.session_user(&hash, app.now()).await?;
        app.store.delete_session(&hash).await?;
        if let Some(user) = user {
            audit::record(
                app,
                Some(&user),
                AuditAction::SignOut,
                "user",
                Some(user.id.to_string()),
                serde_json::json!({}),
            )
            .await;
        }
    }
    Ok(())
}

/// The client address among the throttling keys, for the audit log.
fn client_ip(keys: &[Key]) -> Option<String> {
    keys.iter().find_map(|k| match k {
        Key::Client(ip) => Some(ip.to_string()),
        _ => None,
    })
}

/// Changes `user`'s own password, given the current one. Every session of theirs ends; the
/// one returned replaces the caller's. With `revoke_tokens` their API tokens are revoked too
/// (what someone does who fears the old password was known).
pub async fn change_password(
    app: &App,
    user: &User,
    current: String,
    new: String,
    revoke_tokens: bool,
) -> AppResult<Session> {
    passwords::check_new_password(&new, &[&user.email, &user.name])?;
    // The current password is a guess like a sign-in's, counted against the same account.
    let account = Key::Account(user.email.clone());
    throttle::check(app, std::slice::from_ref(&account)).await?;
    let hash = app
        .store
        .credentials(&user.email)
        .await?
        .and_then(|(_, hash)| hash);
    if !passwords::verify(current, hash).await {
        throttle::count(app, &account, Some(user.id)).await?;
        return Err(AppError::WrongPassword);
    }
    throttle::succeeded(app, &account).await?;
    let new_hash = passwords::hash(new).await?;
    app.store.set_password(user.id, &new_hash).await?;
    audit::record(
        app,
        Some(user),
        AuditAction::PasswordChange,
        "user",
        Some(user.id.to_string()),
        serde_json::json!({"revoke_tokens": revoke_tokens}),
    )
    .await;
    if revoke_tokens {
        crate::tokens::revoke_all(app, user, user.id).await?;
    }
    start_session(app, user).await
}
