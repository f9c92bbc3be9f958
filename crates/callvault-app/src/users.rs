//! Team members, managed by admins: a valid email and name, a password strong enough (hashed
//! here, never stored as sent), the last active admin kept (the store's rule), and an audit
//! entry for each change.

use callvault_core::UserId;
use callvault_core::contact::clean_name;
use callvault_core::permissions::OrgAction;
use callvault_core::user::{Role, Scope, User, normalise_email, normalise_extension};
use callvault_store::AuditAction;
use callvault_store::{NewUser, UserPatch};

use crate::access::require_org;
use crate::error::{AppError, AppResult, Invalid};
use crate::{App, audit, passwords};

/// A team member to add, as an admin typed them in.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: String,
    pub name: String,
    /// Without one, the member signs in once an admin sets it.
    pub password: Option<String>,
    pub role: Role,
    pub scope: Scope,
    pub can_download: bool,
    pub can_delete: bool,
    /// Their PBX extension or SIP user part, as typed.
    pub extension: Option<String>,
}

/// Changes to a member; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct MemberChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub can_download: Option<bool>,
    pub can_delete: Option<bool>,
    /// A disabled member can no longer sign in; their sessions end and their API tokens are
    /// revoked.
    pub disabled: Option<bool>,
    /// Sets a new password and ends the member's sessions.
    pub password: Option<String>,
    /// `Some(None)` clears the extension.
    pub extension: Option<Option<String>>,
}

fn valid_name(raw: &str) -> AppResult<String> {
    clean_name(raw).ok_or(AppError::Invalid(Invalid::Name))
}

fn valid_extension(raw: &str) -> AppResult<String> {
    normalise_extension(raw).ok_or(AppError::Invalid(Invalid::Extension))
}

/// A new password checked (`about`: whose it is, their email and name) and hashed.
async fn new_hash(password: Option<String>, about: &[&str]) -> AppResult<Option<String>> {
    match password {
        Some(pw) => {
            passwords::check_new_password(&pw, about)?;
            Ok(Some(passwords::hash(pw).await?))
        }
        None => Ok(None),
    }
}

/// Every member.
pub async fn list(app: &App, admin: &User) -> AppResult<Vec<User>> {
    require_org(admin, OrgAction::ManageUsers)?;
    Ok(app.store.users().await?)
}

pub async fn get(app: &App, admin: &User, id: UserId) -> AppResult<User> {
    require_org(admin, OrgAction::ManageUsers)?;
    app.store.user(id).await?.ok_or(AppError::NotFound("user"))
}

/// Adds a member (409 `email_taken` when the email is in use).
pub async fn add(app: &App, admin: &User, member: NewMember) -> AppResult<User> {
    require_org(admin, OrgAction::ManageUsers)?;
    let email = normalise_email(&member.email).ok_or(AppError::Invalid(Invalid::Email))?;
    let name = valid_name(&member.name)?;
    let extension = member
        .extension
        .as_deref()
        .map(valid_extension)
        .transpose()?;
    let password_hash = new_hash(member.password, &[&email, &name]).await?;
    let user = app
        .store
        .create_user(
            NewUser {
                email,
                name,
                role: member.role,
                scope: member.scope,
                can_download: member.can_download,
                can_delete: member.can_delete,
                extension,
                password_hash,
            },
            app.now(),
        )
        .await?;
    audit::record(
        app,
        Some(admin),
        AuditAction::UserCreate,
        "user",
        Some(user.id.to_string()),
        serde_json::to_value(&user).unwrap_or_default(),
    )
    .await;
    Ok(user)
}

/// Changes a member, all or nothing. The last active admin cannot be demoted or disabled.
pub async fn change(app: &App, admin: &User, id: UserId, change: MemberChange) -> AppResult<User> {
    require_org(admin, OrgAction::ManageUsers)?;
    let name = change.name.as_deref().map(valid_name).transpose()?;
    let extension = match change.extension {
        Some(Some(raw)) => Some(Some(valid_extension(&raw)?)),
        other => other,
    };
    let password_hash = match change.password {
        Some(password) => {
            let member = app
                .store
                .user(id)
                .await?
                .ok_or(AppError::NotFound("user"))?;
            let name = name.as_deref().unwrap_or(&member.name);
            new_hash(Some(password), &[&member.email, name]).await?
        }
        None => None,
    };
    let patch = UserPatch {
        name,
        role: change.role,
        scope: change.scope,
        can_download: change.can_download,
        can_delete: change.can_delete,
        disabled: change.disabled,
        extension,
        password_hash,
    };
    let user = app
        .store
        .update_user(id, patch)
        .await
        .map_err(|e| AppError::named(e, "user"))?;
    audit::record(
        app,
        Some(admin),
        AuditAction::UserUpdate,
        "user",
        Some(id.to_string()),
        serde_json::to_value(&user).unwrap_or_default(),
    )
    .await;
    Ok(user)
}
