//! The business's phone numbers and their Edit Configuration: call recording, the consent
//! announcement, and who calls ring.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_core::NumberId;
use callvault_core::UserId;
use callvault_core::contact::clean_name;
use callvault_core::number::{ForwardTarget, PhoneNumber, Provider, clean_announcement};
use callvault_core::permissions::OrgAction;
use callvault_core::retention::RetentionPolicy;
use callvault_store::AuditAction;
use callvault_store::{NewNumber, NumberPatch};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit;
use super::contacts::parse_phone;
use crate::auth::{CurrentUser, require_org};
use crate::error::{ApiError, ApiResult, ErrorBody, NotFoundAs};
use crate::extract::{ApiJson, ApiPath, nullable};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update))
}

/// A number as the API shows it: its configuration, and its retention period in days for
/// clients that only set one.
#[derive(Serialize, utoipa::ToSchema)]
pub struct NumberView {
    #[serde(flatten)]
    pub number: PhoneNumber,
    /// Its recordings are deleted this many days after the call; `null` when its policy keeps
    /// them (its own, or the installation's default, as `retention` says).
    pub retention_days: Option<u32>,
}

impl From<PhoneNumber> for NumberView {
    fn from(number: PhoneNumber) -> Self {
        Self {
            retention_days: match number.retention {
                Some(RetentionPolicy::DeleteRecordings { after_days }) => Some(after_days),
                _ => None,
            },
            number,
        }
    }
}

/// The retention a request sets: `retention_days` (recordings after N days, `null` keep
/// forever) or `retention` (a policy, `null` the installation's default).
fn retention_change(
    days: Option<Option<u32>>,
    policy: Option<Option<RetentionPolicy>>,
) -> ApiResult<Option<Option<RetentionPolicy>>> {
    let change = match (days, policy) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "invalid_body",
                "retention_days and retention say the same thing: send one",
            ));
        }
        (Some(Some(after_days)), None) => {
            Some(Some(RetentionPolicy::DeleteRecordings { after_days }))
        }
        (Some(None), None) => Some(Some(RetentionPolicy::KeepForever)),
        (None, policy) => policy,
    };
    if let Some(Some(p)) = change {
        p.checked().map_err(|e| {
            ApiError::invalid(
                callvault_app::Invalid::RetentionPeriod.code(),
                e.to_string(),
            )
        })?;
    }
    Ok(change)
}

/// Most phones one number rings.
const MAX_FORWARD_TARGETS: usize = 20;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardTargetInput {
    #[schema(schema_with = super::fields::phone)]
    pub phone: String,
    /// The team member who answers at this phone.
    pub user_id: Option<UserId>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNumber {
    #[schema(schema_with = super::fields::phone)]
    pub e164: String,
    #[schema(schema_with = super::fields::name)]
    pub label: String,
    pub provider: Provider,
    #[serde(default)]
    pub call_recording: bool,
    #[schema(schema_with = super::fields::announcement)]
    pub consent_announcement: Option<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub forward_to: Vec<ForwardTargetInput>,
    /// Transcribe each recording as soon as it is stored.
    #[serde(default)]
    pub transcribe_automatically: bool,
    /// When this number's phone system started recording, if before now (RFC 3339). Lets
    /// calls imported from its history keep their recordings; only when the number is
    /// created, since it has no calls in callvault yet. Calls that started earlier are never
    /// recorded.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub recording_since: Option<OffsetDateTime>,
    /// Delete its recordings this many days after the call (1–36500); `null` or absent: keep
    /// them as the installation's default says.
    #[schema(minimum = 1, maximum = 36500)]
    pub retention_days: Option<u32>,
    /// Its own retention policy in full (instead of `retention_days`).
    pub retention: Option<RetentionPolicy>,
    /// Redact payment and ID details: card numbers (with their expiry and code), SSNs and
    /// bank numbers become `[redacted]` in transcripts and a tone in the audio. Its recordings
    /// are transcribed to find them, and cannot be played until they were checked.
    #[serde(default)]
    pub redact_sensitive: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNumber {
    #[schema(schema_with = super::fields::optional_name)]
    pub label: Option<String>,
    pub provider: Option<Provider>,
    /// Applies to calls that start from now on; calls already started keep what they had.
    pub call_recording: Option<bool>,
    /// `null` removes it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = super::fields::announcement)]
    pub consent_announcement: Option<Option<String>>,
    #[schema(max_items = 20)]
    pub forward_to: Option<Vec<ForwardTargetInput>>,
    pub transcribe_automatically: Option<bool>,
    /// Delete its recordings this many days after the call (1–36500); `null`: keep them
    /// forever. Applies at the next retention run; `GET /api/v1/retention/preview` says what
    /// it would delete.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 36500)]
    pub retention_days: Option<Option<u32>>,
    /// Its own retention policy in full (instead of `retention_days`); `null`: follow the
    /// installation's default.
    #[serde(default, deserialize_with = "nullable")]
    pub retention: Option<Option<RetentionPolicy>>,
    /// Applies to recordings stored from now on (and transcripts asked for again).
    pub redact_sensitive: Option<bool>,
}

fn parse_label(raw: &str) -> ApiResult<String> {
    clean_name(raw)
        .ok_or_else(|| ApiError::invalid("invalid_label", "a label must be 1 to 200 characters"))
}

fn parse_announcement(raw: Option<&str>) -> ApiResult<Option<String>> {
    raw.map_or(Ok(None), clean_announcement)
        .map_err(|e| ApiError::invalid("invalid_announcement", e.to_string()))
}

fn parse_targets(state: &AppState, raw: &[ForwardTargetInput]) -> ApiResult<Vec<ForwardTarget>> {
    if raw.len() > MAX_FORWARD_TARGETS {
        return Err(ApiError::invalid(
            "too_many_targets",
            format!("at most {MAX_FORWARD_TARGETS} forward targets"),
        ));
    }
    raw.iter()
        .map(|t| {
            Ok(ForwardTarget {
                phone: parse_phone(&t.phone, state)?,
                user_id: t.user_id,
            })
        })
        .collect()
}

/// Every configured number.
#[utoipa::path(get, path = "/api/v1/numbers", tag = "numbers", responses((status = 200, body = Vec<NumberView>)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<NumberView>>> {
    require_org(&user, OrgAction::ViewNumbers)?;
    Ok(Json(
        state
            .store
            .numbers()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Configures a number (admins).
#[utoipa::path(post, path = "/api/v1/numbers", tag = "numbers", request_body = CreateNumber,
    responses((status = 201, body = NumberView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<CreateNumber>,
) -> ApiResult<(StatusCode, Json<NumberView>)> {
    require_org(&user, OrgAction::ManageNumbers)?;
    let new = NewNumber {
        e164: parse_phone(&req.e164, &state)?,
        label: parse_label(&req.label)?,
        provider: req.provider,
        call_recording: req.call_recording,
        consent_announcement: parse_announcement(req.consent_announcement.as_deref())?,
        forward_to: parse_targets(&state, &req.forward_to)?,
        transcribe_automatically: req.transcribe_automatically,
        redact_sensitive: req.redact_sensitive,
        recording_since: match req.recording_since {
            Some(_) if !req.call_recording => {
                return Err(ApiError::invalid(
                    "invalid_recording_since",
                    "recording_since needs call_recording on",
                ));
            }
            Some(since) if since > state.now() => {
                return Err(ApiError::invalid(
                    "invalid_recording_since",
                    "recording_since cannot be in the future",
                ));
            }
            since => since,
        },
    };
    let retention = retention_change(req.retention_days.map(Some), req.retention.map(Some))?;
    let mut number = state.store.create_number(new, state.now()).await?;
    if let Some(retention) = retention {
        let patch = NumberPatch {
            retention: Some(retention),
            ..NumberPatch::default()
        };
        number = state
            .store
            .update_number(number.id, patch, state.now())
            .await?;
    }
    audit::record(
        &state,
        Some(&user),
        AuditAction::NumberCreate,
        "number",
        Some(number.id.to_string()),
        serde_json::to_value(&number).unwrap_or_default(),
    )
    .await;
    Ok((StatusCode::CREATED, Json(number.into())))
}

/// One number.
#[utoipa::path(get, path = "/api/v1/numbers/{id}", tag = "numbers", params(("id" = NumberId, Path)),
    responses((status = 200, body = NumberView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<NumberId>,
) -> ApiResult<Json<NumberView>> {
    require_org(&user, OrgAction::ViewNumbers)?;
    state
        .store
        .number(id)
        .await?
        .map(|n| Json(n.into()))
        .ok_or_else(|| ApiError::not_found("number"))
}

/// Edit Configuration (admins): turning Call Recording on or off applies to calls that start
/// afterwards, never to calls already started.
#[utoipa::path(patch, path = "/api/v1/numbers/{id}", tag = "numbers", params(("id" = NumberId, Path)), request_body = UpdateNumber,
    responses((status = 200, body = NumberView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<NumberId>,
    ApiJson(req): ApiJson<UpdateNumber>,
) -> ApiResult<Json<NumberView>> {
    require_org(&user, OrgAction::ManageNumbers)?;
    let patch = NumberPatch {
        label: req.label.as_deref().map(parse_label).transpose()?,
        provider: req.provider,
        call_recording: req.call_recording,
        consent_announcement: match req.consent_announcement {
            Some(text) => Some(parse_announcement(text.as_deref())?),
            None => None,
        },
        forward_to: req
            .forward_to
            .as_deref()
            .map(|t| parse_targets(&state, t))
            .transpose()?,
        transcribe_automatically: req.transcribe_automatically,
        retention: retention_change(req.retention_days, req.retention)?,
        redact_sensitive: req.redact_sensitive,
    };
    let number = state
        .store
        .update_number(id, patch, state.now())
        .await
        .or_not_found("number")?;
    audit::record(
        &state,
        Some(&user),
        AuditAction::NumberUpdate,
        "number",
        Some(id.to_string()),
        serde_json::to_value(&number).unwrap_or_default(),
    )
    .await;
    Ok(Json(number.into()))
}
