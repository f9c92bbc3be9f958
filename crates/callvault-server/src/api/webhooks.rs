//! Outgoing webhooks (admins): register a URL for events, list them, remove one, and see each
//! delivery with its receiver's answer. Deliveries are signed with `Callvault-Signature:
//! t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, keyed by the webhook's secret (shown once).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_core::WebhookId;
use callvault_core::webhook::WebhookEvent;
use callvault_store::{Delivery, DeliveryState, Webhook};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete))
        .routes(routes!(deliveries))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    /// Where events are POSTed: http or https, not a private or local address (unless the
    /// server runs with `--webhook-allow-private`).
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    #[schema(min_items = 1, max_items = 4)]
    pub events: Vec<WebhookEvent>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events,
            created_at: w.created_at,
        }
    }
}

/// A webhook just made: with its signing secret, which is never shown again.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// Verifies `Callvault-Signature`; keep it where the receiver can read it.
    pub secret: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: callvault_core::DeliveryId,
    pub event: WebhookEvent,
    pub state: DeliveryState,
    pub attempts: u32,
    /// The receiver's last status code, when it answered.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    /// The JSON body as sent.
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event: d.event,
            state: d.state,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            body: d.body,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// The webhooks (admins).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "admin",
    responses((status = 200, body = Vec<WebhookView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<WebhookView>>> {
    let hooks = callvault_app::webhooks::list(&state, &user).await?;
    Ok(Json(hooks.into_iter().map(Into::into).collect()))
}

/// Registers a URL for events (admins). The answer carries the signing secret, once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "admin", request_body = NewWebhookBody,
    responses((status = 201, body = CreatedWebhook), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<NewWebhookBody>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    let webhook = callvault_app::webhooks::create(&state, &user, &req.url, &req.events).await?;
    let secret = webhook.secret.clone();
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: webhook.into(),
            secret,
        }),
    ))
}

/// Removes a webhook with its deliveries (admins).
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "admin", params(("id" = WebhookId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<StatusCode> {
    callvault_app::webhooks::delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A webhook's latest deliveries, newest first, each with its receiver's last answer.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "admin", params(("id" = WebhookId, Path)),
    responses((status = 200, body = Vec<DeliveryView>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<WebhookId>,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    let list = callvault_app::webhooks::deliveries(&state, &user, id).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}
