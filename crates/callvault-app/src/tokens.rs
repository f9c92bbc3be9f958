//! API tokens: each acts as its owner. People manage their own; admins see and revoke
//! anyone's (a token left behind by someone who moved on is a door left open). Only a
//! token's hash is kept; the secret is shown once.

use callvault_core::contact::clean_name;
use callvault_core::permissions::OrgAction;
use callvault_core::user::User;
use callvault_core::{TokenId, UserId};
use callvault_store::AuditAction;
use callvault_store::TokenInfo;

use crate::access::require_org;
use crate::error::{AppError, AppResult, Invalid};
use crate::secrets::{hash_secret, new_api_token};
use crate::throttle::{self, Key};
use crate::{App, audit};

/// A token just made, with its secret (never stored, never shown again).
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub info: TokenInfo,
    pub secret: String,
}

/// `actor` may manage `owner`'s tokens: their own, or anyone's for an admin. Someone else's
/// unknown id is not found either way.
async fn may_manage(app: &App, actor: &User, owner: UserId) -> AppResult<()> {
    if actor.id == owner {
        return Ok(());
    }
    require_org(actor, OrgAction::ManageUsers)?;
    match app.store.user(owner).await? {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound("user")),
    }
}

/// `owner`'s tokens, without their secrets.
pub async fn list(app: &App, actor: &User, owner: UserId) -> AppResult<Vec<TokenInfo>> {
    may_manage(app, actor, owner).await?;
    Ok(app.store.tokens(owner).await?)
}

/// A new token acting as `actor`, named for what it is for.
pub async fn create(app: &App, actor: &User, name: &str) -> AppResult<CreatedToken> {
    let name = clean_name(name).ok_or(AppError::Invalid(Invalid::Name))?;
    // A stolen session must not mint tokens by the thousand.
    let made = Key::Tokens(actor.id);
    throttle::check(app, std::slice::from_ref(&made)).await?;
    let secret = new_api_token();
    let info = app
        .store
        .create_token(actor.id, &name, &hash_secret(&secret), app.now())
        .await?;
    audit::record(
        app,
        Some(actor),
        AuditAction::TokenCreate,
        "token",
        Some(info.id.to_string()),
        serde_json::json!({"name": name}),
    )
    .await;
    throttle::count(app, &made, Some(actor.id)).await?;
    Ok(CreatedToken { info, secret })
}

/// Revokes one of `owner`'s tokens.
pub async fn revoke(app: &App, actor: &User, owner: UserId, id: TokenId) -> AppResult<()> {
    may_manage(app, actor, owner).await?;
    app.store
        .delete_token(owner, id)
        .await
        .map_err(|e| AppError::named(e, "token"))?;
    audit::record(
        app,
        Some(actor),
        AuditAction::TokenDelete,
        "token",
        Some(id.to_string()),
        serde_json::json!({"owner": owner}),
    )
    .await;
    Ok(())
}

/// Revokes every token of `owner` (theirs, or an admin's doing); how many there were.
pub async fn revoke_all(app: &App, actor: &User, owner: UserId) -> AppResult<u64> {
    may_manage(app, actor, owner).await?;
    let revoked = app.store.delete_tokens(owner).await?;
    if revoked > 0 {
        audit::record(
            app,
            Some(actor),
            AuditAction::TokenDeleteAll,
            "user",
            Some(owner.to_string()),
            serde_json::json!({"revoked": revoked}),
        )
        .await;
    }
    Ok(revoked)
}
