//! Team members (admins only): roles, scopes and permissions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_app::passwords;
use callvault_core::UserId;
use callvault_core::contact::clean_name;
use callvault_core::permissions::OrgAction;
use callvault_core::user::{Role, Scope, User, normalise_email};
use callvault_store::{NewUser, UserPatch};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit;

use crate::auth::{CurrentUser, require_org};
use crate::error::{ApiError, ApiResult, ErrorBody, NotFoundAs};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    /// Optional: a user without a password signs in once an admin sets one.
    pub password: Option<String>,
    #[serde(default = "default_role")]
    pub role: Role,
    #[serde(default = "default_scope")]
    pub scope: Scope,
    #[serde(default = "yes")]
    pub can_download: bool,
    #[serde(default)]
    pub can_delete: bool,
}

fn default_role() -> Role {
    Role::User
}
fn default_scope() -> Scope {
    Scope::All
}
fn yes() -> bool {
    true
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub can_download: Option<bool>,
    pub can_delete: Option<bool>,
    /// A disabled user can no longer sign in; their sessions and tokens stop working.
    pub disabled: Option<bool>,
    /// Sets a new password and ends the user's sessions.
    pub password: Option<String>,
}

fn clean_user_name(raw: &str) -> ApiResult<String> {
    clean_name(raw)
        .ok_or_else(|| ApiError::invalid("invalid_name", "a name must be 1 to 200 characters"))
}

/// Every user (admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<User>>> {
    require_org(&user, OrgAction::ManageUsers)?;
    Ok(Json(state.store.users().await?))
}

/// Adds a team member (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    ApiJson(req): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    require_org(&admin, OrgAction::ManageUsers)?;
    let email = normalise_email(&req.email)
        .ok_or_else(|| ApiError::invalid("invalid_email", "that is not an email address"))?;
    let name = clean_user_name(&req.name)?;
    let password_hash = match req.password {
        Some(pw) => {
            passwords::check_new_password(&pw)?;
            Some(passwords::hash(pw).await?)
        }
        None => None,
    };
    let user = state
        .store
        .create_user(
            NewUser {
                email,
                name,
                role: req.role,
                scope: req.scope,
                can_download: req.can_download,
                can_delete: req.can_delete,
                password_hash,
            },
            state.now(),
        )
        .await?;
    audit::record(
        &state,
        Some(&admin),
        "user.create",
        "user",
        Some(user.id.to_string()),
        serde_json::to_value(&user).unwrap_or_default(),
    )
    .await;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user (admins).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = User), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    require_org(&admin, OrgAction::ManageUsers)?;
    state
        .store
        .user(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Changes a user's role, scope, permissions, name, password or whether they are disabled
/// (admins), all or nothing. The last active admin cannot be demoted or disabled.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> ApiResult<Json<User>> {
    require_org(&admin, OrgAction::ManageUsers)?;
    let name = req.name.as_deref().map(clean_user_name).transpose()?;
    let password_hash = match req.password {
        Some(pw) => {
            passwords::check_new_password(&pw)?;
            Some(passwords::hash(pw).await?)
        }
        None => None,
    };
    let patch = UserPatch {
        name,
        role: req.role,
        scope: req.scope,
        can_download: req.can_download,
        can_delete: req.can_delete,
        disabled: req.disabled,
        password_hash,
    };
    let user = state
        .store
        .update_user(id, patch)
        .await
        .or_not_found("user")?;
    audit::record(
        &state,
        Some(&admin),
        "user.update",
        "user",
        Some(id.to_string()),
        serde_json::to_value(&user).unwrap_or_default(),
    )
    .await;
    Ok(Json(user))
}
