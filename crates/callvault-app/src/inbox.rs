//! The Inbox and the conversations behind it, as one user may see them: their scope applied to
//! every list, a conversation they may not see answered as "not found", notes checked, and a
//! deletion's audio removed now (or by the queue) and audited.

use callvault_core::ConversationId;
use callvault_core::conversation::{Channel, clean_note};
use callvault_core::permissions::{ContactAction, contact_scope};
use callvault_core::user::User;
use callvault_store::{
    Access, ActivityFilter, ConversationCursor, ConversationDetail, ConversationQuery,
    ConversationSummary, SearchText, TimelineEvent, TimelineWindow,
};

use crate::access::require;
use crate::error::{AppError, AppResult, Invalid};
use crate::{App, audit};

/// What one page of the Inbox holds.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// The contact's name or number, as typed in the search box.
    pub text: Option<SearchText>,
    /// Quick Filters: the channel of the latest message.
    pub channel: Option<Channel>,
    /// Quick Filters: a call of this kind, or activity in this time.
    pub activity: ActivityFilter,
    /// Quick Filters: only what this user has not seen.
    pub unread: bool,
    /// Where the previous page ended.
    pub after: Option<ConversationCursor>,
    pub limit: u32,
}

/// A row of the Inbox as one user sees it.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub conversation: ConversationSummary,
    /// Something happened since this user last opened it (or they never have).
    pub unread: bool,
    /// A legal hold keeps it (the contact's own or the installation's).
    pub on_hold: bool,
}

/// One page of the Inbox as `user` sees it.
#[derive(Debug, Clone)]
pub struct InboxPage {
    pub rows: Vec<InboxRow>,
    pub next: Option<ConversationCursor>,
}

/// One page of the Inbox, newest activity first, within what `user` may see.
pub async fn page(app: &App, user: &User, filter: InboxFilter) -> AppResult<InboxPage> {
    let page = app
        .store
        .conversations(ConversationQuery {
            scope: contact_scope(user),
            text: filter.text,
            channel: filter.channel,
            activity: filter.activity,
            unread_by: filter.unread.then_some(user.id),
            after: filter.after,
            limit: filter.limit,
        })
        .await?;
    let ids: Vec<ConversationId> = page.items.iter().map(|c| c.id).collect();
    let read = app.store.read_marks(user.id, &ids).await?;
    // Holds in force are few (a handful of matters at a time): one read for the page.
    let holds = app.store.legal_holds(false).await?;
    let rows = page
        .items
        .into_iter()
        .map(|conversation| {
            let unread = match (conversation.last_message_at, read.get(&conversation.id)) {
                (Some(last), Some(seen)) => last > *seen,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let on_hold = holds
                .iter()
                .any(|h| h.scope.covers(conversation.contact.id));
            InboxRow {
                conversation,
                unread,
                on_hold,
            }
        })
        .collect();
    Ok(InboxPage {
        rows,
        next: page.next,
    })
}

/// Notes that `user` has seen `conversation`, loaded for them, as they open it: a read when
/// nothing is new to them (the page asks again every few seconds), a write only when it is.
pub async fn seen(app: &App, user: &User, conversation: &ConversationDetail) -> AppResult<()> {
    let Some(last) = conversation.last_message_at else {
        return Ok(());
    };
    let marks = app.store.read_marks(user.id, &[conversation.id]).await?;
    if marks
        .get(&conversation.id)
        .is_some_and(|seen| *seen >= last)
    {
        return Ok(());
    }
    Ok(app
        .store
        .mark_read(user.id, conversation.id, app.now())
        .await?)
}

/// Notes that `user` has seen the conversation, as of now (opening it, or "Mark as read").
pub async fn mark_read(app: &App, user: &User, id: ConversationId) -> AppResult<()> {
    allowed(app, user, id, ContactAction::View).await?;
    Ok(app.store.mark_read(user.id, id, app.now()).await?)
}

/// The conversation with its timeline, if `user` may see it.
pub async fn conversation(
    app: &App,
    user: &User,
    id: ConversationId,
) -> AppResult<ConversationDetail> {
    conversation_window(app, user, id, TimelineWindow::All).await
}

/// The conversation with the part of its timeline `window` names, if `user` may see it.
pub async fn conversation_window(
    app: &App,
    user: &User,
    id: ConversationId,
    window: TimelineWindow,
) -> AppResult<ConversationDetail> {
    let conversation = app
        .store
        .conversation_window(id, window)
        .await?
        .ok_or(AppError::NotFound("conversation"))?;
    require(
        user,
        ContactAction::View,
        &conversation.contact.assigned_user_ids,
        "conversation",
    )?;
    Ok(conversation)
}

/// Checks `action` on a conversation without loading its timeline.
async fn allowed(
    app: &App,
    user: &User,
    id: ConversationId,
    action: ContactAction,
) -> AppResult<Access> {
    let access = app
        .store
        .conversation_access(id)
        .await?
        .ok_or(AppError::NotFound("conversation"))?;
    require(user, action, &access.assigned, "conversation")?;
    Ok(access)
}

/// Adds `user`'s note to the conversation's timeline.
pub async fn add_note(
    app: &App,
    user: &User,
    id: ConversationId,
    body: &str,
) -> AppResult<TimelineEvent> {
    allowed(app, user, id, ContactAction::View).await?;
    let body = clean_note(body).ok_or(AppError::Invalid(Invalid::Note))?;
    let note = app
        .store
        .add_note(id, user.id, &body, app.now())
        .await
        .map_err(|e| AppError::named(e, "conversation"))?;
    // Their own note is nothing new to its author.
    app.store.mark_read(user.id, id, note.occurred_at).await?;
    Ok(note)
}

/// Deletes the conversation with its calls, recordings (and their audio) and transcripts; the
/// contact stays.
pub async fn delete(app: &App, user: &User, id: ConversationId) -> AppResult<()> {
    let access = allowed(app, user, id, ContactAction::Delete).await?;
    let deleted = app
        .store
        .delete_conversation(id, app.now())
        .await
        .map_err(|e| AppError::named(e, "conversation"))?;
    // The audio goes now; should that fail, the queued jobs finish it later.
    app.jobs.run_now(app, &deleted.cleanup_jobs).await;
    crate::webhooks::recordings_deleted(
        app,
        &deleted.recordings,
        id,
        access.contact_id,
        "conversation_deleted",
    )
    .await;
    audit::record_about(
        app,
        Some(user),
        callvault_store::AuditAction::Delete,
        "conversation",
        Some(id.to_string()),
        access.contact_id,
        // Ids and counts only: the person's details go with the conversation.
        serde_json::json!({"contact_id": access.contact_id, "recordings": deleted.cleanup_jobs.len()}),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_error_names_the_limit() {
        assert!(
            Invalid::Note
                .message()
                .contains(&callvault_core::conversation::MAX_NOTE_CHARS.to_string())
        );
    }
}
