//! Team members (admins only): roles, scopes and permissions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_app::tokens;
use callvault_app::users::{self, MemberChange, NewMember};
use callvault_core::user::{Role, Scope, User};
use callvault_core::{TokenId, UserId};
use callvault_store::TokenInfo;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update))
        .routes(routes!(member_tokens))
        .routes(routes!(revoke_member_token))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(schema_with = super::fields::email)]
    pub email: String,
    #[schema(schema_with = super::fields::name)]
    pub name: String,
    /// Optional: a user without a password signs in once an admin sets one.
    #[schema(schema_with = super::fields::optional_password)]
    pub password: Option<String>,
    #[serde(default = "default_role")]
    pub role: Role,
    #[serde(default = "default_scope")]
    pub scope: Scope,
    #[serde(default = "yes")]
    pub can_download: bool,
    #[serde(default)]
    pub can_delete: bool,
    /// Their PBX extension or SIP user part ("201", "alice"): how a phone system names who
    /// handled a call.
    pub extension: Option<String>,
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
    #[schema(schema_with = super::fields::optional_name)]
    pub name: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub can_download: Option<bool>,
    pub can_delete: Option<bool>,
    /// A disabled user can no longer sign in; their sessions end and their API tokens are
    /// revoked (enabling them again does not bring those back).
    pub disabled: Option<bool>,
    /// Sets a new password and ends the user's sessions.
    #[schema(schema_with = super::fields::optional_password)]
    pub password: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    pub extension: Option<Option<String>>,
}

/// Every user (admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(users::list(&state, &user).await?))
}

/// Adds a team member (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    ApiJson(req): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let member = NewMember {
        email: req.email,
        name: req.name,
        password: req.password,
        role: req.role,
        scope: req.scope,
        can_download: req.can_download,
        can_delete: req.can_delete,
        extension: req.extension,
    };
    let user = users::add(&state, &admin, member).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user (admins).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(users::get(&state, &admin, id).await?))
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
    let change = MemberChange {
        name: req.name,
        role: req.role,
        scope: req.scope,
        can_download: req.can_download,
        can_delete: req.can_delete,
        disabled: req.disabled,
        password: req.password,
        extension: req.extension,
    };
    let user = users::change(&state, &admin, id, change).await?;
    Ok(Json(user))
}

/// A user's API tokens, without their secrets (admins).
#[utoipa::path(get, path = "/api/v1/users/{id}/tokens", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = Vec<TokenInfo>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn member_tokens(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list(&state, &admin, id).await?))
}

/// Revokes one of a user's API tokens (admins).
#[utoipa::path(delete, path = "/api/v1/users/{id}/tokens/{token_id}", tag = "users",
    params(("id" = UserId, Path), ("token_id" = TokenId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_member_token(
    State(state): State<AppState>,
    CurrentUser(admin): CurrentUser,
    ApiPath((id, token_id)): ApiPath<(UserId, TokenId)>,
) -> ApiResult<StatusCode> {
    tokens::revoke(&state, &admin, id, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
