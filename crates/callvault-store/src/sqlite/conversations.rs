//! Conversations: the inbox list, the timeline, and deletion with its audio cleanup.

use callvault_core::call::Direction;
use callvault_core::conversation::Channel;
use callvault_core::phone::E164;
use callvault_core::{ContactId, ConversationId, EventId, JobId, UserId};
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use time::OffsetDateTime;

use super::calls::call_records_of_conversation;
use super::codec::{RowExt, enum_col, ms, opt_enum_col, opt_ms, scope_user, text_patterns};
use super::contacts::assigned_from_row;
use super::contacts::{contact_for_phone, contact_in};
use super::jobs::enqueue_in;
use crate::{
    Access, ContactRef, ConversationCursor, ConversationDetail, ConversationPage,
    ConversationQuery, ConversationSummary, EventKind, NewSms, StoreError, StoreResult,
    TimelineEvent, UserRef, collect_blob_job,
};

/// The contact's conversation, created if it has none.
pub(super) async fn ensure_conversation(
    tx: &mut Transaction<'static, Sqlite>,
    contact: ContactId,
    now: OffsetDateTime,
) -> StoreResult<ConversationId> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = ?")
            .bind(contact.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(id) = existing {
        return id
            .parse()
            .map_err(|_| StoreError::corrupt("bad conversation id"));
    }
    let id = ConversationId::new();
    sqlx::query(
        "INSERT INTO conversations (id, contact_id, activity_at, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(contact.to_string())
    .bind(ms(now))
    .bind(ms(now))
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Makes an event at `at` on `channel` the conversation's latest message, unless a later one
/// is already there (events may be reported out of order).
pub(super) async fn touch(
    tx: &mut Transaction<'static, Sqlite>,
    conversation: ConversationId,
    channel: Channel,
    at: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE conversations SET
            last_message_channel = CASE WHEN last_message_at IS NULL OR ?1 >= last_message_at
                                        THEN ?2 ELSE last_message_channel END,
            activity_at = CASE WHEN last_message_at IS NULL OR ?1 >= last_message_at
                               THEN ?1 ELSE activity_at END,
            last_message_at = CASE WHEN last_message_at IS NULL OR ?1 >= last_message_at
                                   THEN ?1 ELSE last_message_at END
         WHERE id = ?3",
    )
    .bind(ms(at))
    .bind(channel.as_str())
    .bind(conversation.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a text message in its contact's conversation; `false` if it was already there.
pub(super) async fn record_sms(
    tx: &mut Transaction<'static, Sqlite>,
    sms: &NewSms,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let number: Option<String> = sqlx::query_scalar("SELECT id FROM phone_numbers WHERE e164 = ?")
        .bind(sms.number.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if number.is_none() {
        return Err(StoreError::MissingReference("number"));
    }
    let seen: Option<String> = sqlx::query_scalar("SELECT id FROM events WHERE external_id = ?")
        .bind(&sms.external_id)
        .fetch_optional(&mut **tx)
        .await?;
    if seen.is_some() {
        return Ok(false);
    }
    let contact =
        contact_for_phone(tx, &sms.contact_phone, &sms.contact_phone_raw, None, now).await?;
    let conversation = ensure_conversation(tx, contact, now).await?;
    sqlx::query(
        "INSERT INTO events (id, conversation_id, channel, occurred_at, direction, body, external_id)
         VALUES (?, ?, 'sms', ?, ?, ?, ?)",
    )
    .bind(EventId::new().to_string())
    .bind(conversation.to_string())
    .bind(ms(sms.at))
    .bind(sms.direction.as_str())
    .bind(&sms.body)
    .bind(&sms.external_id)
    .execute(&mut **tx)
    .await?;
    touch(tx, conversation, Channel::Sms, sms.at).await?;
    Ok(true)
}

pub(super) async fn add_note(
    tx: &mut Transaction<'static, Sqlite>,
    conversation: ConversationId,
    author: UserId,
    body: &str,
    now: OffsetDateTime,
) -> StoreResult<TimelineEvent> {
    let author_name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
        .bind(author.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    let author_name = author_name.ok_or(StoreError::MissingReference("user"))?;
    let id = EventId::new();
    sqlx::query(
        "INSERT INTO events (id, conversation_id, channel, occurred_at, body, author_user_id)
         VALUES (?, ?, 'note', ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(conversation.to_string())
    .bind(ms(now))
    .bind(body)
    .bind(author.to_string())
    .execute(&mut **tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::backend(e),
    })?;
    touch(tx, conversation, Channel::Note, now).await?;
    Ok(TimelineEvent {
        id,
        channel: Channel::Note,
        occurred_at: now,
        kind: EventKind::Note {
            body: body.to_owned(),
            author: Some(UserRef {
                id: author,
                name: author_name,
            }),
        },
    })
}

/// Deletes a conversation and everything in it, and enqueues removal of its audio objects in
/// the same transaction.
pub(super) async fn purge_conversation(
    tx: &mut Transaction<'static, Sqlite>,
    id: ConversationId,
    now: OffsetDateTime,
) -> StoreResult<Vec<JobId>> {
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT r.blob_key FROM recordings r JOIN calls k ON k.id = r.call_id
         WHERE k.conversation_id = ? ORDER BY r.blob_key",
    )
    .bind(id.to_string())
    .fetch_all(&mut **tx)
    .await?;
    // Events, calls, recordings, transcripts and segments go by ON DELETE CASCADE.
    let done = sqlx::query("DELETE FROM conversations WHERE id = ?")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let mut jobs = Vec::with_capacity(keys.len());
    for key in keys {
        jobs.push(enqueue_in(tx, collect_blob_job(&key, now), now).await?);
    }
    Ok(jobs)
}

fn summary_from_row(row: &SqliteRow) -> StoreResult<ConversationSummary> {
    let phone =
        E164::try_from(row.text("phone_e164")?).map_err(|e| StoreError::corrupt(e.to_string()))?;
    Ok(ConversationSummary {
        id: row.parsed("id")?,
        contact: ContactRef {
            id: row.parsed("contact_id")?,
            name: row.text("name")?,
            phone,
        },
        last_message_channel: opt_enum_col(row, "last_message_channel", Channel::parse)?,
        last_message_at: row.opt_time("last_message_at")?,
        activity_at: row.time("activity_at")?,
        created_at: row.time("created_at")?,
    })
}

pub(super) async fn list(
    pool: &SqlitePool,
    query: ConversationQuery,
) -> StoreResult<ConversationPage> {
    let limit = query.limit.clamp(1, 500);
    let (name, digits) = text_patterns(query.name.as_deref(), query.digits.as_deref());
    let rows = sqlx::query(
        r"SELECT v.id, v.last_message_channel, v.last_message_at, v.activity_at, v.created_at,
                 c.id AS contact_id, c.name, c.phone_e164
          FROM conversations v JOIN contacts c ON c.id = v.contact_id
          WHERE (?1 IS NULL OR EXISTS (SELECT 1 FROM contact_assignments a
                                       WHERE a.contact_id = c.id AND a.user_id = ?1))
            AND (?2 IS NULL OR v.last_message_channel = ?2)
            AND ((?3 IS NULL AND ?4 IS NULL)
                 OR c.name_folded LIKE ?3 ESCAPE '\'
                 OR c.phone_digits LIKE ?4)
            AND (?5 IS NULL OR v.activity_at < ?5 OR (v.activity_at = ?5 AND v.id < ?6))
          ORDER BY v.activity_at DESC, v.id DESC
          LIMIT ?7",
    )
    .bind(scope_user(query.scope))
    .bind(query.channel.map(Channel::as_str))
    .bind(name)
    .bind(digits)
    .bind(opt_ms(query.after.map(|c| c.activity_at)))
    .bind(query.after.map(|c| c.id.to_string()))
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let mut items = rows
        .iter()
        .map(summary_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|last| ConversationCursor {
            activity_at: last.activity_at,
            id: last.id,
        })
    } else {
        None
    };
    Ok(ConversationPage { items, next })
}

/// The contact behind a conversation and who it is assigned to.
pub(super) async fn access(pool: &SqlitePool, id: ConversationId) -> StoreResult<Option<Access>> {
    let row = sqlx::query(
        "SELECT v.contact_id,
                (SELECT json_group_array(a.user_id) FROM contact_assignments a
                 WHERE a.contact_id = v.contact_id) AS assigned
         FROM conversations v WHERE v.id = ?",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Access {
            contact_id: row.parsed("contact_id")?,
            assigned: assigned_from_row(&row)?,
        })
    })
    .transpose()
}

pub(super) async fn detail(
    conn: &mut SqliteConnection,
    id: ConversationId,
) -> StoreResult<Option<ConversationDetail>> {
    let Some(row) = sqlx::query(
        "SELECT id, contact_id, last_message_channel, last_message_at, created_at
         FROM conversations WHERE id = ?",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let contact_id: ContactId = row.parsed("contact_id")?;
    let contact = contact_in(conn, contact_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut calls = call_records_of_conversation(conn, id).await?;
    let event_rows = sqlx::query(
        "SELECT e.id, e.channel, e.occurred_at, e.call_id, e.direction, e.body,
                e.author_user_id, u.name AS author_name
         FROM events e LEFT JOIN users u ON u.id = e.author_user_id
         WHERE e.conversation_id = ? ORDER BY e.occurred_at, e.id",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut events = Vec::with_capacity(event_rows.len());
    for row in &event_rows {
        let channel = enum_col(row, "channel", Channel::parse)?;
        let kind = match channel {
            Channel::Call => {
                let call_id: callvault_core::CallId = row.parsed("call_id")?;
                let record = calls
                    .remove(&call_id)
                    .ok_or_else(|| StoreError::corrupt("event without call"))?;
                EventKind::Call(Box::new(record))
            }
            Channel::Sms => EventKind::Sms {
                direction: enum_col(row, "direction", Direction::parse)?,
                body: row.opt_text("body")?.unwrap_or_default(),
            },
            Channel::Note => EventKind::Note {
                body: row.opt_text("body")?.unwrap_or_default(),
                author: match (
                    row.opt_parsed("author_user_id")?,
                    row.opt_text("author_name")?,
                ) {
                    (Some(id), Some(name)) => Some(UserRef { id, name }),
                    _ => None,
                },
            },
        };
        events.push(TimelineEvent {
            id: row.parsed("id")?,
            channel,
            occurred_at: row.time("occurred_at")?,
            kind,
        });
    }
    Ok(Some(ConversationDetail {
        id,
        last_message_channel: opt_enum_col(&row, "last_message_channel", Channel::parse)?,
        last_message_at: row.opt_time("last_message_at")?,
        created_at: row.time("created_at")?,
        contact,
        events,
    }))
}
