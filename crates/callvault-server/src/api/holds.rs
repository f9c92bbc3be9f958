//! Legal holds (admins): place one on a contact or on the whole installation, list them,
//! release them. While one is in force, every deletion it covers answers 409 `legal_hold`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_core::hold::HoldScope;
use callvault_core::{ContactId, HoldId};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{HoldScopeKind, HoldView};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, place))
        .routes(routes!(get))
        .routes(routes!(release))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoldListQuery {
    /// Released holds too (default: only those in force).
    pub include_released: Option<bool>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHoldBody {
    pub scope: HoldScopeKind,
    /// The contact to hold: required with `contact`, refused with `installation`.
    pub contact_id: Option<ContactId>,
    #[schema(schema_with = super::fields::hold_reason)]
    pub reason: String,
}

/// Legal holds, newest first.
#[utoipa::path(get, path = "/api/v1/legal-holds", tag = "admin", params(HoldListQuery),
    responses((status = 200, body = Vec<HoldView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<HoldListQuery>,
) -> ApiResult<Json<Vec<HoldView>>> {
    let holds =
        callvault_app::holds::list(&state, &user, q.include_released.unwrap_or(false)).await?;
    Ok(Json(holds.into_iter().map(Into::into).collect()))
}

/// Places a legal hold on a contact (everything in their conversation) or on the whole
/// installation: nothing it covers can be deleted, by anyone or by the retention policy,
/// until it is released.
#[utoipa::path(post, path = "/api/v1/legal-holds", tag = "admin", request_body = NewHoldBody,
    responses((status = 201, body = HoldView), (status = 403, body = ErrorBody),
        (status = 404, description = "no such contact", body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn place(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<NewHoldBody>,
) -> ApiResult<(StatusCode, Json<HoldView>)> {
    let scope = match (req.scope, req.contact_id) {
        (HoldScopeKind::Installation, None) => HoldScope::Installation,
        (HoldScopeKind::Contact, Some(contact)) => HoldScope::Contact(contact),
        (HoldScopeKind::Contact, None) => {
            return Err(ApiError::invalid(
                "invalid_body",
                "contact_id: a contact's hold names the contact",
            ));
        }
        (HoldScopeKind::Installation, Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_body",
                "contact_id: a hold on the installation names no contact",
            ));
        }
    };
    let hold = callvault_app::holds::place(&state, &user, scope, &req.reason).await?;
    Ok((StatusCode::CREATED, Json(hold.into())))
}

/// One legal hold.
#[utoipa::path(get, path = "/api/v1/legal-holds/{id}", tag = "admin", params(("id" = HoldId, Path)),
    responses((status = 200, body = HoldView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<HoldId>,
) -> ApiResult<Json<HoldView>> {
    Ok(Json(
        callvault_app::holds::get(&state, &user, id).await?.into(),
    ))
}

/// Releases a legal hold: what it kept may be deleted again, and the retention policy catches
/// up at its next run. The hold stays listed as released.
#[utoipa::path(post, path = "/api/v1/legal-holds/{id}/release", tag = "admin", params(("id" = HoldId, Path)),
    responses((status = 200, body = HoldView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`hold_released`: it was released already", body = ErrorBody)))]
async fn release(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<HoldId>,
) -> ApiResult<Json<HoldView>> {
    Ok(Json(
        callvault_app::holds::release(&state, &user, id)
            .await?
            .into(),
    ))
}
