//! Retention (admins): the installation's default policy and the audit log's own period
//! (`/settings/retention`; each number's policy is a field of the number), a dry run of any
//! plan, and a run on demand (it also runs daily).

use axum::Json;
use axum::extract::State;
use callvault_app::retention::{Plan, Preview, RunSummary, human_bytes};
use callvault_core::retention::RetentionPolicy;
use callvault_core::{ContactId, ConversationId, NumberId, RecordingId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(preview_days, preview))
        .routes(routes!(run))
}

/// The installation's retention settings.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RetentionSettings {
    /// Recordings are deleted this many days after their call, for numbers without a policy of
    /// their own; `null` when the default keeps them (forever, or by conversation, as `default`
    /// says).
    pub default_days: Option<u32>,
    /// The default policy in full.
    pub default: RetentionPolicy,
    /// Audit entries are kept this many days; `null`: forever.
    pub audit_days: Option<u32>,
}

/// Any of the settings; what is left out stays.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettingsChange {
    /// Delete recordings this many days after their call (1–36500); `null`: keep forever.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 36500)]
    pub default_days: Option<Option<u32>>,
    /// The default policy in full (instead of `default_days`).
    pub default: Option<RetentionPolicy>,
    /// Keep audit entries this many days (1–36500); `null`: forever.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 36500)]
    pub audit_days: Option<Option<u32>>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PreviewDays {
    /// A period: recordings whose call started more than this many days ago (1–36500).
    #[param(minimum = 1, maximum = 36500)]
    pub days: u32,
    /// The number it would apply to; without it, the installation's default.
    pub number_id: Option<NumberId>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberChange {
    pub number_id: NumberId,
    /// `null`: follow the default.
    pub policy: Option<RetentionPolicy>,
}

/// A plan to try: the one in force with these changes.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    pub default: Option<RetentionPolicy>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub numbers: Vec<NumberChange>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ExampleView {
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    /// The recording that would go; absent when the whole conversation would.
    pub recording_id: Option<RecordingId>,
    /// The call's start, or the conversation's last activity.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub bytes: u64,
}

/// What a plan would delete if it ran now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    /// For people: "1204 recordings (3.1 GB) and 2 conversations with 5 recordings (1.2 MB)".
    pub summary: String,
    /// Recordings that would go: on their own, and inside whole conversations.
    pub recordings: u64,
    /// Their audio, in bytes.
    pub bytes: u64,
    /// The oldest call (or conversation's last activity) among them.
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest: Option<OffsetDateTime>,
    /// Calls whose recording would go while the call stays in the timeline.
    pub calls: u64,
    /// Whole conversations that would go, with their calls.
    pub conversations: u64,
    pub conversation_calls: u64,
    /// Kept by legal holds though past their time.
    pub held_recordings: u64,
    pub held_conversations: u64,
    /// The oldest few of what would go.
    pub examples: Vec<ExampleView>,
}

impl From<Preview> for PreviewView {
    fn from(p: Preview) -> Self {
        Self {
            summary: p.describe(),
            recordings: p.recordings.count + p.conversation_recordings,
            bytes: p.recordings.bytes + p.conversations.bytes,
            oldest: [p.recordings.oldest, p.conversations.oldest]
                .into_iter()
                .flatten()
                .min(),
            calls: p.recordings.count,
            conversations: p.conversations.count,
            conversation_calls: p.conversation_calls,
            held_recordings: p.held_recordings,
            held_conversations: p.held_conversations,
            examples: p
                .examples
                .into_iter()
                .map(|e| ExampleView {
                    conversation_id: e.conversation_id,
                    contact_id: e.contact_id,
                    recording_id: e.recording_id,
                    at: e.at,
                    bytes: e.bytes,
                })
                .collect(),
        }
    }
}

/// What a run deleted.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RunView {
    pub summary: String,
    pub recordings: u64,
    pub conversations: u64,
    pub bytes: u64,
    pub held_recordings: u64,
    pub held_conversations: u64,
}

impl From<&RunSummary> for RunView {
    fn from(s: &RunSummary) -> Self {
        Self {
            summary: format!(
                "deleted {} recording{} and {} conversation{} ({})",
                s.recordings,
                if s.recordings == 1 { "" } else { "s" },
                s.conversations,
                if s.conversations == 1 { "" } else { "s" },
                human_bytes(s.bytes)
            ),
            recordings: s.recordings,
            conversations: s.conversations,
            bytes: s.bytes,
            held_recordings: s.held_recordings,
            held_conversations: s.held_conversations,
        }
    }
}

fn admin_only(user: &callvault_core::user::User) -> ApiResult<()> {
    Ok(callvault_app::access::require_org(
        user,
        callvault_core::permissions::OrgAction::ManageRetention,
    )?)
}

fn settings_view(plan: &Plan, audit_days: Option<u32>) -> RetentionSettings {
    RetentionSettings {
        default_days: match plan.default {
            RetentionPolicy::DeleteRecordings { after_days } => Some(after_days),
            _ => None,
        },
        default: plan.default,
        audit_days,
    }
}

/// The installation's retention settings.
#[utoipa::path(get, path = "/api/v1/settings/retention", tag = "admin",
    responses((status = 200, body = RetentionSettings), (status = 403, body = ErrorBody)))]
async fn get_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<RetentionSettings>> {
    admin_only(&user)?;
    let plan = callvault_app::retention::plan(&state).await?;
    let audit_days = state.store.audit_retention_days().await?;
    Ok(Json(settings_view(&plan, audit_days)))
}

/// Changes the installation's default policy (every number without its own follows it) and
/// how long audit entries are kept. What a shorter period deletes goes at the next run (daily,
/// or `POST /api/v1/retention/run`); `GET /api/v1/retention/preview` says what that is.
#[utoipa::path(put, path = "/api/v1/settings/retention", tag = "admin", request_body = RetentionSettingsChange,
    responses((status = 200, body = RetentionSettings), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<RetentionSettingsChange>,
) -> ApiResult<Json<RetentionSettings>> {
    admin_only(&user)?;
    let default = match (req.default_days, req.default) {
        (Some(_), Some(_)) => {
            return Err(crate::error::ApiError::invalid(
                "invalid_body",
                "default_days and default say the same thing: send one",
            ));
        }
        (Some(Some(after_days)), None) => Some(RetentionPolicy::DeleteRecordings { after_days }),
        (Some(None), None) => Some(RetentionPolicy::KeepForever),
        (None, default) => default,
    };
    // Both checked before either is written: a bad one changes nothing.
    if let Some(default) = default {
        checked(default)?;
    }
    if req
        .audit_days
        .flatten()
        .is_some_and(|d| !(1..=callvault_core::retention::MAX_DAYS).contains(&d))
    {
        return Err(crate::error::ApiError::invalid(
            callvault_app::Invalid::RetentionPeriod.code(),
            "audit_days is 1 to 36500 days, or null",
        ));
    }
    if let Some(days) = req.audit_days {
        callvault_app::audit::set_retention(&state, &user, days).await?;
    }
    if let Some(default) = default {
        callvault_app::retention::set_default(&state, &user, default).await?;
    }
    let plan = callvault_app::retention::plan(&state).await?;
    let audit_days = state.store.audit_retention_days().await?;
    Ok(Json(settings_view(&plan, audit_days)))
}

/// A dry run of a period: what deleting recordings more than `days` old would delete now, on
/// one number or (without `number_id`) as the installation's default, everything else as it
/// is.
#[utoipa::path(get, path = "/api/v1/retention/preview", tag = "admin", params(PreviewDays),
    responses((status = 200, body = PreviewView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn preview_days(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<PreviewDays>,
) -> ApiResult<Json<PreviewView>> {
    admin_only(&user)?;
    let policy = RetentionPolicy::DeleteRecordings { after_days: q.days }
        .checked()
        .map_err(|e| crate::error::ApiError::bad_request("invalid_query", e.to_string()))?;
    let mut plan = callvault_app::retention::plan(&state).await?;
    match q.number_id {
        Some(number) => {
            let own = plan
                .numbers
                .get_mut(&number)
                .ok_or_else(|| crate::error::ApiError::not_found("number"))?;
            *own = Some(policy);
        }
        None => plan.default = policy,
    }
    let preview = callvault_app::retention::preview(&state, &user, &plan).await?;
    Ok(Json(preview.into()))
}

/// A dry run: what the plan in force, with these changes, would delete if it ran now.
#[utoipa::path(post, path = "/api/v1/retention/preview", tag = "admin", request_body = PreviewRequest,
    responses((status = 200, body = PreviewView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn preview(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> ApiResult<Json<PreviewView>> {
    admin_only(&user)?;
    let mut plan = callvault_app::retention::plan(&state).await?;
    if let Some(default) = req.default {
        plan.default = checked(default)?;
    }
    for change in req.numbers {
        let own = plan
            .numbers
            .get_mut(&change.number_id)
            .ok_or_else(|| crate::error::ApiError::not_found("number"))?;
        *own = change.policy.map(checked).transpose()?;
    }
    let preview = callvault_app::retention::preview(&state, &user, &plan).await?;
    Ok(Json(preview.into()))
}

fn checked(policy: RetentionPolicy) -> ApiResult<RetentionPolicy> {
    policy.checked().map_err(|e| {
        crate::error::ApiError::invalid(
            callvault_app::Invalid::RetentionPeriod.code(),
            e.to_string(),
        )
    })
}

/// Runs the policy now (it also runs daily): deletes what is past its time, except what legal
/// holds keep; the audio is gone when this answers.
#[utoipa::path(post, path = "/api/v1/retention/run", tag = "admin",
    responses((status = 200, body = RunView), (status = 403, body = ErrorBody)))]
async fn run(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<RunView>> {
    let summary = callvault_app::retention::run(&state, Some(&user)).await?;
    state.jobs.run_now(&state, &summary.cleanup_jobs).await;
    Ok(Json((&summary).into()))
}
