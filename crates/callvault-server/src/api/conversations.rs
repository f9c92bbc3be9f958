//! The Inbox and the conversation behind each entry: the link people share.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use callvault_core::ConversationId;
use callvault_core::conversation::Channel;
use callvault_core::permissions::{ContactAction, contact_scope};
use callvault_core::user::User;
use callvault_store::{Access, ConversationCursor, ConversationDetail, ConversationQuery};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{ConversationListItem, ConversationView, EventView};
use super::{audit, paging};
use crate::auth::{CurrentUser, require};
use crate::error::{ApiError, ApiResult, ErrorBody, NotFoundAs};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get, delete))
        .routes(routes!(add_note))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Part of the contact's name, or their phone number in any format.
    pub q: Option<String>,
    /// Quick Filters: only conversations whose last message was on this channel.
    pub channel: Option<Channel>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
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
    let page = state
        .store
        .conversations(ConversationQuery {
            scope: contact_scope(user),
            text,
            channel: q.channel,
            after,
            limit: paging::limit(q.limit)?,
        })
        .await?;
    Ok(InboxPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page
            .next
            .map(|c| paging::encode_cursor(&(c.activity_at.unix_timestamp_nanos(), c.id))),
    })
}

/// Checks `action` on a conversation without loading its timeline.
async fn allowed(
    state: &AppState,
    user: &User,
    id: ConversationId,
    action: ContactAction,
) -> ApiResult<Access> {
    let access = state
        .store
        .conversation_access(id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    require(user, action, &access.assigned, "conversation")?;
    Ok(access)
}

/// A conversation: the contact and the timeline of calls and messages, oldest first.
#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = ConversationId, Path)),
    responses((status = 200, body = ConversationView), (status = 404, body = ErrorBody)))]
async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<Json<ConversationView>> {
    Ok(Json(conversation(&state, &user, id).await?.into()))
}

/// The conversation if `user` may see it; 404 otherwise, whether it exists or not.
pub(crate) async fn conversation(
    state: &AppState,
    user: &User,
    id: ConversationId,
) -> ApiResult<ConversationDetail> {
    let conversation = state
        .store
        .conversation(id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))?;
    require(
        user,
        ContactAction::View,
        &conversation.contact.assigned_user_ids,
        "conversation",
    )?;
    Ok(conversation)
}

/// Longest note kept, in characters.
const MAX_NOTE_CHARS: usize = 5000;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub body: String,
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
    allowed(&state, &user, id, ContactAction::View).await?;
    let body = req.body.trim();
    // NUL is no text anyone typed, and PostgreSQL cannot store it.
    if body.is_empty() || body.chars().count() > MAX_NOTE_CHARS || body.contains('\0') {
        return Err(ApiError::invalid(
            "invalid_note",
            format!("a note must be 1 to {MAX_NOTE_CHARS} characters"),
        ));
    }
    let event = state
        .store
        .add_note(id, user.id, body, state.now())
        .await
        .or_not_found("conversation")?;
    Ok((StatusCode::CREATED, Json(event.into())))
}

/// Deletes the conversation with its calls, recordings (audio files included) and transcripts.
/// The contact stays.
#[utoipa::path(delete, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = ConversationId, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiPath(id): ApiPath<ConversationId>,
) -> ApiResult<StatusCode> {
    let access = allowed(&state, &user, id, ContactAction::Delete).await?;
    let deleted = state
        .store
        .delete_conversation(id, state.now())
        .await
        .or_not_found("conversation")?;
    // The audio goes now; should that fail, the queued jobs finish it later.
    state.jobs.run_now(&state, &deleted.cleanup_jobs).await;
    audit::record(
        &state,
        Some(&user),
        "conversation.delete",
        "conversation",
        Some(id.to_string()),
        // Ids and counts only: the person's details go with the conversation.
        serde_json::json!({"contact_id": access.contact_id, "recordings": deleted.cleanup_jobs.len()}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
