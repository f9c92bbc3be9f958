//! Transcripts: asked for per recording, made by the workers, and searched across every call
//! the user may see.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_app::listening::{self, Access};
use callvault_core::RecordingId;
use callvault_core::contact::clean_name;
use callvault_core::permissions::contact_scope;
use callvault_core::user::User;
use callvault_store::{
    MAX_SEARCH_HITS, SearchHit, SearchQuery, TranscriptSegment, TranscriptStatus,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::recordings::visible;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request, get))
        .routes(routes!(search))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TranscriptView {
    pub recording_id: RecordingId,
    /// `none` (never asked for), `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// 0 to 1 while running.
    pub progress: f64,
    pub language: Option<String>,
    /// Why it failed, for people to read.
    pub error: Option<String>,
    /// In order of time; the speaker is the contact (left channel) or the team member (right).
    pub segments: Vec<TranscriptSegment>,
}

async fn view(state: &AppState, recording_id: RecordingId) -> ApiResult<TranscriptView> {
    Ok(match state.store.transcript(recording_id).await? {
        Some(t) => TranscriptView {
            recording_id,
            status: t.status.as_str().to_owned(),
            progress: t.progress,
            language: t.language,
            error: t.error,
            segments: t.segments,
        },
        None => TranscriptView {
            recording_id,
            status: super::views::NO_TRANSCRIPT.to_owned(),
            progress: 0.0,
            language: None,
            error: None,
            segments: Vec::new(),
        },
    })
}

/// Asks for the recording's transcript: 202 while it is queued or running (asking again
/// changes nothing), 200 with the transcript when it is done. A failed one is tried again.
#[utoipa::path(post, path = "/api/v1/recordings/{id}/transcript", tag = "transcripts", params(("id" = RecordingId, Path)),
    responses((status = 202, body = TranscriptView), (status = 200, body = TranscriptView), (status = 404, body = ErrorBody)))]
async fn request(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<RecordingId>,
) -> ApiResult<(StatusCode, Json<TranscriptView>)> {
    visible(&state, &user, id).await?;
    let asked = state.store.request_transcript(id, state.now()).await?;
    if asked.job.is_some() {
        state.jobs.wake();
    }
    let code = if asked.status == TranscriptStatus::Done {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, Json(view(&state, id).await?)))
}

/// The recording's transcript and where it stands.
#[utoipa::path(get, path = "/api/v1/recordings/{id}/transcript", tag = "transcripts", params(("id" = RecordingId, Path)),
    responses((status = 200, body = TranscriptView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<RecordingId>,
) -> ApiResult<Json<TranscriptView>> {
    let record = visible(&state, &user, id).await?;
    let transcript = view(&state, id).await?;
    // Read once there is something to read: a page asking while it is made reads nothing.
    if !transcript.segments.is_empty() {
        listening::accessed(
            &state,
            &user,
            Access::TranscriptView(id),
            record.conversation_id,
            record.access.contact_id,
        )
        .await;
    }
    Ok(Json(transcript))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words spoken, found as a phrase, ignoring case and accents.
    pub q: String,
    /// At most this many hits (1 to 200, 50 by default).
    pub limit: Option<u32>,
}

// Written out: the derive leaves a parameter with its own schema (`schema_with`) optional.
impl utoipa::IntoParams for SearchParams {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::Required;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        vec![
            ParameterBuilder::new()
                .name("q")
                .parameter_in(ParameterIn::Query)
                .required(Required::True)
                .description(Some(
                    "Words spoken, found as a phrase, ignoring case and accents.",
                ))
                .schema(Some(super::fields::search_text()))
                .build(),
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some("At most this many hits (1 to 200, 50 by default)."))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(MAX_SEARCH_HITS)),
                ))
                .build(),
        ]
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// Newest call first; within a call, in order of time.
    pub hits: Vec<SearchHit>,
}

/// Finds words in the transcripts of the calls you may see.
#[utoipa::path(get, path = "/api/v1/search", tag = "transcripts", params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 400, body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    let hits = transcript_hits(&state, &user, &params.q, params.limit.unwrap_or(50)).await?;
    Ok(Json(SearchResults { hits }))
}

/// Where the words `q` were said, in the calls `user` may see; the Inbox's Transcripts search
/// shows the same.
pub(crate) async fn transcript_hits(
    state: &AppState,
    user: &User,
    q: &str,
    limit: u32,
) -> ApiResult<Vec<SearchHit>> {
    // The rule for a name: not blank, at most 200 characters, nothing unprintable.
    let Some(text) = clean_name(q) else {
        return Err(ApiError::bad_request(
            "invalid_query",
            "say what to search for, in at most 200 characters",
        ));
    };
    if !(1..=MAX_SEARCH_HITS).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_SEARCH_HITS}"),
        ));
    }
    Ok(state
        .store
        .search_transcripts(SearchQuery {
            scope: contact_scope(user),
            text,
            limit,
        })
        .await?)
}
