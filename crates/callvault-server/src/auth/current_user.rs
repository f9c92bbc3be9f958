//! The signed-in user, from an API token (`Authorization: Bearer …`) or the session cookie.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use callvault_app::secrets::hash_secret;
use callvault_core::user::User;

use super::origin::from_this_site;
use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "callvault_session";

#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// The token of an `Authorization: Bearer <token>` header; `None` for any other scheme or an
/// empty token.
pub fn bearer(value: &HeaderValue) -> Option<&str> {
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

/// The session id the request carries in its cookie, if any.
pub fn session_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The answer to a change asked for with the session cookie from another site's page.
pub fn cross_site() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "cross_site_request",
        "this request came from another site's page, so it was not accepted (if callvault is \
         opened at another address than its public URL, set --public-url to that address)",
    )
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(AUTHORIZATION) {
            let token = bearer(value).ok_or_else(ApiError::unauthenticated)?;
            let user = state.store.token_user(&hash_secret(token)).await?;
            return user.map(CurrentUser).ok_or_else(ApiError::unauthenticated);
        }
        if let Some(session) = session_from_headers(&parts.headers) {
            // The cookie goes with any site's request; a change needs our own pages' origin.
            if !parts.method.is_safe()
                && !from_this_site(&parts.headers, &state.settings.public_url, true)
            {
                return Err(cross_site());
            }
            let user = state
                .store
                .session_user(&hash_secret(&session), state.now())
                .await?;
            return user.map(CurrentUser).ok_or_else(ApiError::unauthenticated);
        }
        Err(ApiError::unauthenticated())
    }
}
