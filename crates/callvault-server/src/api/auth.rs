//! Signing in and out, the signed-in user, their password and their API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use callvault_app::{sign_in, tokens};
use callvault_core::TokenId;
use callvault_core::user::User;
use callvault_store::TokenInfo;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{
    ClientAddress, CurrentUser, SESSION_COOKIE, cross_site, from_this_site, session_from_headers,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(delete_token))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

fn session_cookie(state: &AppState, value: &str, max_age_s: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    );
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookie that carries a session just started.
fn cookie_for(state: &AppState, session: &sign_in::Session) -> HeaderValue {
    session_cookie(state, &session.secret, session.lasts.whole_seconds())
}

/// Signs in with email and password and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest, security(()),
    responses((status = 200, body = User), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 429, description = "Too many failed sign-ins; see Retry-After", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    // Scripts send no Origin; a browser on another site's page does, and is refused.
    if !from_this_site(&headers, &state.settings.public_url, false) {
        return Err(cross_site());
    }
    let (user, cookie) = sign_in(&state, req, client).await?;
    Ok((AppendHeaders([(SET_COOKIE, cookie)]), Json(user)).into_response())
}

/// Checks the credentials and starts a session; the web UI's sign-in form uses it too.
pub(crate) async fn sign_in(
    state: &AppState,
    req: LoginRequest,
    client: Option<std::net::IpAddr>,
) -> ApiResult<(User, HeaderValue)> {
    let (user, session) = sign_in::sign_in(state, &req.email, req.password, client).await?;
    Ok((user, cookie_for(state, &session)))
}

/// Ends the session and clears its cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security((), ("session" = [])), responses((status = 204), (status = 403, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if session_from_headers(&headers).is_some()
        && !from_this_site(&headers, &state.settings.public_url, true)
    {
        return Err(cross_site());
    }
    let cleared = sign_out(&state, &headers).await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(SET_COOKIE, cleared)]),
    )
        .into_response())
}

/// Ends the request's session, if any, and returns the cookie that clears it.
pub(crate) async fn sign_out(state: &AppState, headers: &HeaderMap) -> ApiResult<HeaderValue> {
    sign_in::sign_out(state, session_from_headers(headers).as_deref()).await?;
    Ok(session_cookie(state, "", 0))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    #[schema(schema_with = super::fields::password)]
    pub new_password: String,
    /// Also revoke every API token of yours (when the old password may have been known).
    #[serde(default)]
    pub revoke_tokens: bool,
}

/// Changes your own password. Every session ends; the one making the change gets a new one.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePassword,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 429, description = "Too many wrong current passwords; see Retry-After", body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<ChangePassword>,
) -> ApiResult<Response> {
    let session = sign_in::change_password(
        &state,
        &user,
        req.current_password,
        req.new_password,
        req.revoke_tokens,
    )
    .await?;
    Ok((
        StatusCode::NO_CONTENT,
        AppendHeaders([(SET_COOKIE, cookie_for(&state, &session))]),
    )
        .into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = User)))]
async fn me(CurrentUser(user): CurrentUser) -> Json<User> {
    Json(user)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for ("PBX", "backup script").
    #[schema(schema_with = super::fields::name)]
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    /// Shown once; only its hash is kept.
    pub token: String,
}

/// Your API tokens (without their secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200, body = Vec<TokenInfo>)))]
async fn list_tokens(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    Ok(Json(tokens::list(&state, &user, user.id).await?))
}

/// Creates an API token acting as you; the secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = ErrorBody),
              (status = 429, description = "Too many tokens made; see Retry-After", body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let created = tokens::create(&state, &user, &req.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            info: created.info,
            token: created.secret,
        }),
    ))
}

/// Revokes one of your API tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = TokenId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<TokenId>,
) -> ApiResult<StatusCode> {
    tokens::revoke(&state, &user, user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
