//! Retention (admins): the installation's default policy and each number's own, a dry run of
//! any change, and a run on demand (it also runs daily). A change that would delete something
//! at once is taken only with `confirm: true`.

use axum::Json;
use axum::extract::State;
use callvault_app::retention::{Plan, Preview, RunSummary, Tally, human_bytes};
use callvault_core::retention::RetentionPolicy;
use callvault_core::{ContactId, ConversationId, NumberId, RecordingId};
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
        .routes(routes!(get))
        .routes(routes!(set_default))
        .routes(routes!(set_number))
        .routes(routes!(preview))
        .routes(routes!(run))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NumberRetention {
    pub number_id: NumberId,
    pub e164: String,
    pub label: String,
    /// Its own policy; `null` follows the installation's default.
    pub policy: Option<RetentionPolicy>,
    /// The policy its calls are kept by.
    pub effective: RetentionPolicy,
}

/// The retention plan: the default and every number's policy.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RetentionView {
    pub default: RetentionPolicy,
    pub numbers: Vec<NumberRetention>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDefault {
    pub policy: RetentionPolicy,
    /// Required when the change would delete something at once (see the preview).
    #[serde(default)]
    pub confirm: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetNumber {
    /// `null`: follow the installation's default.
    pub policy: Option<RetentionPolicy>,
    /// Required when the change would delete something at once (see the preview).
    #[serde(default)]
    pub confirm: bool,
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
pub struct TallyView {
    pub count: u64,
    pub bytes: u64,
    /// The oldest call's start (recordings) or last activity (conversations).
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest: Option<OffsetDateTime>,
}

impl From<Tally> for TallyView {
    fn from(t: Tally) -> Self {
        Self {
            count: t.count,
            bytes: t.bytes,
            oldest: t.oldest,
        }
    }
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
    /// Recordings deleted on their own; their calls stay.
    pub recordings: TallyView,
    /// Whole conversations, with their calls and recordings.
    pub conversations: TallyView,
    pub conversation_calls: u64,
    pub conversation_recordings: u64,
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
            recordings: p.recordings.into(),
            conversations: p.conversations.into(),
            conversation_calls: p.conversation_calls,
            conversation_recordings: p.conversation_recordings,
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

async fn view(state: &AppState, plan: &Plan) -> ApiResult<RetentionView> {
    let numbers = state.store.numbers().await?;
    Ok(RetentionView {
        default: plan.default,
        numbers: numbers
            .into_iter()
            .map(|n| NumberRetention {
                number_id: n.id,
                e164: n.e164.as_str().to_owned(),
                label: n.label,
                policy: plan.numbers.get(&n.id).copied().flatten(),
                effective: plan.effective(n.id),
            })
            .collect(),
    })
}

fn admin_only(user: &callvault_core::user::User) -> ApiResult<()> {
    Ok(callvault_app::access::require_org(
        user,
        callvault_core::permissions::OrgAction::ManageRetention,
    )?)
}

/// The retention plan in force.
#[utoipa::path(get, path = "/api/v1/retention", tag = "admin",
    responses((status = 200, body = RetentionView), (status = 403, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<RetentionView>> {
    admin_only(&user)?;
    let plan = callvault_app::retention::plan(&state).await?;
    Ok(Json(view(&state, &plan).await?))
}

/// Sets the installation's default policy, which every number without its own follows.
#[utoipa::path(put, path = "/api/v1/retention/default", tag = "admin", request_body = SetDefault,
    responses((status = 200, body = RetentionView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 409, description = "`confirm_retention`: it would delete something now; preview it, then send `confirm: true`", body = ErrorBody)))]
async fn set_default(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(req): ApiJson<SetDefault>,
) -> ApiResult<Json<RetentionView>> {
    let plan =
        callvault_app::retention::set_default(&state, &user, req.policy, req.confirm).await?;
    Ok(Json(view(&state, &plan).await?))
}

/// Gives a number its own policy, or makes it follow the default again.
#[utoipa::path(put, path = "/api/v1/retention/numbers/{id}", tag = "admin", params(("id" = NumberId, Path)), request_body = SetNumber,
    responses((status = 200, body = RetentionView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 409, description = "`confirm_retention`: it would delete something now; preview it, then send `confirm: true`", body = ErrorBody)))]
async fn set_number(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<NumberId>,
    ApiJson(req): ApiJson<SetNumber>,
) -> ApiResult<Json<RetentionView>> {
    let plan =
        callvault_app::retention::set_number(&state, &user, id, req.policy, req.confirm).await?;
    Ok(Json(view(&state, &plan).await?))
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
