//! The Inbox and the conversation behind each entry: the link people share.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_app::inbox::InboxFilter;
use callvault_core::call::Direction;
use callvault_core::conversation::Channel;
use callvault_core::user::User;
use callvault_core::{ConversationId, NumberId, UserId};
use callvault_store::{ActivityFilter, ConversationCursor, ConversationDetail, StatusFilter};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging;
use super::views::{ConversationListItem, ConversationView, EventView};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get, delete))
        .routes(routes!(add_note))
        .routes(routes!(mark_read))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Part of the contact's name, or their phone number in any format.
    #[param(schema_with = super::fields::filter_text)]
    pub q: Option<String>,
    /// Quick Filters: only conversations whose last message was on this channel.
    pub channel: Option<Channel>,
    /// Only conversations with a call in this direction.
    pub direction: Option<Direction>,
    /// Only conversations with an answered call, or a missed one (inbound: no answer, busy,
    /// failed).
    #[param(inline)]
    pub status: Option<CallOutcome>,
    /// Only conversations with a call this team member took.
    pub handled_by: Option<UserId>,
    /// Only conversations with a call on this number.
    pub number: Option<NumberId>,
    /// Only conversations with a call (or, with no other call filter, any activity) from this
    /// moment on (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// … and before this moment (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    /// Only conversations with something you have not seen.
    pub unread: Option<bool>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// How a call went, as the Inbox filters by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Answered,
    Missed,
}

impl CallOutcome {
    /// As in the query: `answered`, `missed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Missed => "missed",
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InboxPage {
    /// Newest activity first.
    pub items: Vec<ConversationListItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// The Inbox: conversations you may see, newest activity first.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations", params(InboxQuery),
    responses((status = 200, body = InboxPage), (status = 400, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<Json<InboxPage>> {
    Ok(Json(inbox(&state, &user, q).await?))
}

/// One page of the Inbox as `user` sees it; the web UI renders the same page.
pub(crate) async fn inbox(state: &AppState, user: &User, q: InboxQuery) -> ApiResult<InboxPage> {
    let text = paging::text_filter(q.q.as_deref(), state.settings.default_region)?;
    let after = paging::decode_cursor::<(i128, ConversationId)>(q.cursor.as_deref())?
        .map(|(nanos, id)| {
            OffsetDateTime::from_unix_timestamp_nanos(nanos)
                .map(|activity_at| ConversationCursor { activity_at, id })
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_cursor",
                        "the cursor is not one this server gave out",
                    )
                })
        })
        .transpose()?;
    let limit = paging::limit(q.limit)?;
    let filter = InboxFilter {
        text,
        channel: q.channel,
        activity: ActivityFilter {
            direction: q.direction,
            status: q.status.map(|s| match s {
                CallOutcome::Answered => StatusFilter::Answered,
                CallOutcome::Missed => StatusFilter::Missed,
            }),
            handled_by: q.handled_by,
            number: q.number,
            since: q.since,
            until: q.until,
        },
        unread: q.unread.unwrap_or(false),
        after,
        limit,
    };
    let page = callvault_app::inbox::page(state, user, filter).await?;
    Ok(InboxPage {
        items: page.rows.into_iter().map(Into::into).collect(),
        next_cursor: page
            .next
            .map(|c| paging::encode_cursor(&(c.activity_at.unix_timestamp_nanos(), c.id))),
    })
}

/// A conversation: the contact and the timeline of calls and messages, oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = ConversationId, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<Json<ConversationView>> {
    let detail = conversation(&state, &user, id).await?;
    let holds = callvault_app::holds::covering(
        &state,
        &user,
        detail.contact.id,
        &detail.contact.assigned_user_ids,
    )
    .await?;
    Ok(Json(ConversationView::new(detail, holds)))
}

/// The conversation if `user` may see it; 404 otherwise, whether it exists or not.
pub(crate) async fn conversation(
    state: &AppState,
    user: &User,
    id: ConversationId,
) -> ApiResult<ConversationDetail> {
    Ok(callvault_app::inbox::conversation(state, user, id).await?)
}

/// `conversation` with the part of the timeline `window` names.
pub(crate) async fn conversation_window(
    state: &AppState,
    user: &User,
    id: ConversationId,
    window: callvault_store::TimelineWindow,
) -> ApiResult<ConversationDetail> {
    Ok(callvault_app::inbox::conversation_window(state, user, id, window).await?)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    #[schema(schema_with = super::fields::note)]
    pub body: String,
}

/// Marks the conversation as read by you, as of now (opening it in the web UI does too).
#[utoipa::path(post, path = "/api/v1/conversations/{id}/read", tag = "conversations", params(("id" = ConversationId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn mark_read(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<StatusCode> {
    callvault_app::inbox::mark_read(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a note to the conversation's timeline, signed by you.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/notes", tag = "conversations", params(("id" = ConversationId, Path)),
    request_body = NewNote, responses((status = 201, body = EventView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_note(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ConversationId>,
    ApiJson(req): ApiJson<NewNote>,
) -> ApiResult<(StatusCode, Json<EventView>)> {
    let event = callvault_app::inbox::add_note(&state, &user, id, &req.body).await?;
    Ok((StatusCode::CREATED, Json(event.into())))
}

/// Deletes the conversation with its calls, recordings (audio files included) and transcripts.
/// The contact stays.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = ConversationId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`legal_hold`: a legal hold keeps it; the error's `hold` says who placed it and why", body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<StatusCode> {
    callvault_app::inbox::delete(&state, &user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
