//! The JSON API under `/api/v1`, and its OpenAPI document, generated from the handlers
//! themselves so the two cannot drift apart.

mod audit;
pub(crate) mod auth;
mod calls;
pub mod common_errors;
mod contacts;
pub(crate) mod conversations;
mod fields;
mod holds;
mod numbers;
pub(crate) mod paging;
mod recordings;
mod retention;
pub(crate) mod transcripts;
mod users;
pub mod views;
mod webhooks;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "callvault",
        description = "Call recordings for teams: contacts, conversations, calls, recordings.\n\n\
            Authenticate with `Authorization: Bearer <token>` (create one with `callvault token create` \
            or `POST /api/v1/tokens`) or the session cookie set by `POST /api/v1/auth/login`. \
            Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// Every API route, with the document describing them.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::routes())
        .merge(users::routes())
        .merge(contacts::routes())
        .merge(numbers::routes())
        .merge(conversations::routes())
        .merge(calls::routes())
        .merge(recordings::routes())
        .merge(transcripts::routes())
        .merge(audit::routes())
        .merge(holds::routes())
        .merge(retention::routes())
        .merge(webhooks::routes())
}
