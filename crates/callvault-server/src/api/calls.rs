//! Calls reported by a phone system (PBX), and reading a call back.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_core::call::{CallStatus, CallTimes, Direction};
use callvault_core::contact::clean_name;
use callvault_core::permissions::{ContactAction, OrgAction};
use callvault_core::user::normalise_email;
use callvault_core::{CallId, ContactId, ConversationId};
use callvault_store::NewCall;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts::parse_phone;
use super::fields::MAX_ID_CHARS;
use super::views::CallView;
use crate::auth::{CurrentUser, require, require_org};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(get))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportCall {
    /// The business's number the call was on (must be configured).
    #[schema(schema_with = super::fields::phone)]
    pub number: String,
    /// The other party's number, in any common format.
    #[schema(schema_with = super::fields::phone)]
    pub contact_phone: String,
    /// Name for the contact if this number is new (caller ID name, say).
    #[schema(schema_with = super::fields::optional_name)]
    pub contact_name: Option<String>,
    pub direction: Direction,
    pub status: CallStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// The team member who took the call.
    #[schema(schema_with = super::fields::optional_email)]
    pub handled_by_email: Option<String>,
    /// The phone system's id for the call; a repeated report with the same id changes nothing.
    #[schema(schema_with = super::fields::external_id)]
    pub external_id: Option<String>,
    /// Which phone system reports (default `pbx`); external ids are unique per source.
    #[schema(schema_with = super::fields::source)]
    pub source: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReportedCallView {
    pub id: CallId,
    pub conversation_id: ConversationId,
    /// The contact the call was filed under (found by number, or made for it).
    pub contact_id: ContactId,
    /// Whether the number recorded calls when this one started; an upload is refused otherwise.
    pub recording_allowed: bool,
}

fn check_source(raw: Option<&str>) -> ApiResult<String> {
    let source = raw.unwrap_or("pbx");
    let ok = !source.is_empty()
        && source.len() <= 40
        && source
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(source.to_owned())
    } else {
        Err(ApiError::invalid(
            "invalid_source",
            "source must be 1 to 40 of a-z, 0-9, - and _",
        ))
    }
}

fn check_external_id(raw: Option<String>) -> ApiResult<Option<String>> {
    match raw {
        Some(id)
            if id.is_empty()
                || id.chars().count() > MAX_ID_CHARS
                || id.chars().any(char::is_control) =>
        {
            Err(ApiError::invalid(
                "invalid_external_id",
                "external_id must be 1 to 200 printable characters",
            ))
        }
        other => Ok(other),
    }
}

/// Reports a call from a phone system. Whether it may be recorded is decided by the number's
/// setting at `started_at` and stays with the call. 201 for a new call, 200 for a repeat.
#[utoipa::path(post, path = "/api/v1/calls", tag = "calls", request_body = ReportCall,
    responses((status = 201, body = ReportedCallView), (status = 200, body = ReportedCallView),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<ReportCall>,
) -> ApiResult<(StatusCode, Json<ReportedCallView>)> {
    require_org(&user, OrgAction::ReportCalls)?;
    let now = state.now();
    let times = CallTimes::new(
        req.status,
        req.started_at,
        req.answered_at,
        req.ended_at,
        now,
    )
    .map_err(|e| ApiError::invalid("invalid_times", e.to_string()))?;
    let handled_by = match req.handled_by_email.as_deref() {
        Some(raw) => {
            let email = normalise_email(raw).ok_or_else(|| {
                ApiError::invalid("invalid_email", "handled_by_email is not an email address")
            })?;
            let handler = state.store.user_by_email(&email).await?.ok_or_else(|| {
                ApiError::invalid("unknown_user", "no user has that handled_by_email")
            })?;
            Some(handler.id)
        }
        None => None,
    };
    let contact_name = match req.contact_name.as_deref() {
        Some(raw) => Some(clean_name(raw).ok_or_else(|| {
            ApiError::invalid("invalid_name", "contact_name must be 1 to 200 characters")
        })?),
        None => None,
    };
    let new = NewCall {
        number: parse_phone(&req.number, &state)?,
        contact_phone: parse_phone(&req.contact_phone, &state)?,
        contact_phone_raw: req.contact_phone.trim().to_owned(),
        contact_name,
        direction: req.direction,
        status: req.status,
        times,
        handled_by,
        source: check_source(req.source.as_deref())?,
        external_id: check_external_id(req.external_id)?,
    };
    let reported = state.store.report_call(new, now).await?;
    let call = &reported.record.call;
    if reported.created {
        callvault_app::webhooks::call_completed(&state, call).await;
    }
    let status = if reported.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(ReportedCallView {
            id: call.id,
            contact_id: call.contact_id,
            conversation_id: call.conversation_id,
            recording_allowed: call.recording_allowed,
        }),
    ))
}

/// One call: direction, status, times, talk duration, who handled it, and its recording.
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "calls", params(("id" = CallId, Path)),
    responses((status = 200, body = CallView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<CallId>,
) -> ApiResult<Json<CallView>> {
    let record = state
        .store
        .call(id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    require(&user, ContactAction::View, &record.access.assigned, "call")?;
    Ok(Json(record.into()))
}
