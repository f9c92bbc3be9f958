//! Conversations: the inbox, the timeline, text messages, notes, and deletion with its audio
//! cleanup.

use async_trait::async_trait;
use callvault_core::call::Direction;
use callvault_core::conversation::Channel;
use std::collections::HashMap;

use callvault_core::{CallId, ContactId, ConversationId, EventId, UserId};
use callvault_store::{
    Access, CallRecord, ConversationDetail, ConversationPage, ConversationQuery, ConversationStore,
    Deleted, EventCursor, EventKind, Missing, NewSms, StoreError, StoreResult, TimelineEvent,
    TimelineWindow, UserRef,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{Db, RowExt, enum_col, ms, opt_enum_col};
use crate::rows::{assigned_from_row, call_records_by_ids, contact_in};
use crate::steps::{Tx, contact_for_phone, ensure_conversation, purge_conversation, touch};

/// Stores a text message in its contact's conversation; `false` if it was already there.
async fn record_sms(tx: &mut Tx, sms: &NewSms, now: OffsetDateTime) -> StoreResult<bool> {
    let number: Option<String> = sqlx::query_scalar("SELECT id FROM phone_numbers WHERE e164 = ?")
        .bind(sms.number.as_str())
        .fetch_optional(&mut **tx)
        .await
        .db()?;
    if number.is_none() {
        return Err(Missing::Number.into());
    }
    let seen: Option<String> = sqlx::query_scalar("SELECT id FROM events WHERE external_id = ?")
        .bind(&sms.external_id)
        .fetch_optional(&mut **tx)
        .await
        .db()?;
    if seen.is_some() {
        return Ok(false);
    }
    let name = sms.contact_phone.to_string();
    let contact =
        contact_for_phone(tx, &sms.contact_phone, &sms.contact_phone_raw, &name, now).await?;
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
    .await
    .db()?;
    touch(tx, conversation, Channel::Sms, sms.at).await?;
    Ok(true)
}

async fn add_note(
    tx: &mut Tx,
    conversation: ConversationId,
    author: UserId,
    body: &str,
    now: OffsetDateTime,
) -> StoreResult<TimelineEvent> {
    let author_name: Option<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
        .bind(author.to_string())
        .fetch_optional(&mut **tx)
        .await
        .db()?;
    let author_name = author_name.ok_or(StoreError::Missing(Missing::User))?;
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

/// The columns `event_from_row` reads, from `events e` and `users u` (the note's author).
const EVENT_COLUMNS: &str = "e.id, e.conversation_id, e.channel, e.occurred_at, e.call_id,
    e.direction, e.body, e.author_user_id, u.name AS author_name";

/// An event, its call (if it is one) taken from `calls`.
fn event_from_row(
    row: &SqliteRow,
    calls: &mut HashMap<CallId, CallRecord>,
) -> StoreResult<TimelineEvent> {
    let channel = enum_col(row, "channel", Channel::parse)?;
    let kind = match channel {
        Channel::Call => {
            let call_id: CallId = row.parsed("call_id")?;
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
    Ok(TimelineEvent {
        id: row.parsed("id")?,
        channel,
        occurred_at: row.time("occurred_at")?,
        kind,
    })
}

/// The calls of these event rows, as records.
async fn calls_of(
    conn: &mut SqliteConnection,
    rows: &[SqliteRow],
) -> StoreResult<HashMap<CallId, CallRecord>> {
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.opt_text("call_id").ok().flatten())
        .collect();
    call_records_by_ids(conn, &ids).await
}

/// Each conversation's newest event (for the inbox's rows), in one statement.
pub(crate) async fn latest_events(
    conn: &mut SqliteConnection,
    ids: &[ConversationId],
) -> StoreResult<HashMap<ConversationId, TimelineEvent>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM json_each(?) v
         JOIN events e ON e.id = (SELECT n.id FROM events n WHERE n.conversation_id = v.value
                                  ORDER BY n.occurred_at DESC, n.id DESC LIMIT 1)
         LEFT JOIN users u ON u.id = e.author_user_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(serde_json::to_string(&ids).unwrap_or_default())
        .fetch_all(&mut *conn)
        .await
        .db()?;
    let mut calls = calls_of(conn, &rows).await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.parsed("conversation_id")?,
                event_from_row(row, &mut calls)?,
            ))
        })
        .collect()
}

async fn detail(
    conn: &mut SqliteConnection,
    id: ConversationId,
    window: TimelineWindow,
) -> StoreResult<Option<ConversationDetail>> {
    let Some(row) = sqlx::query(
        "SELECT id, contact_id, last_message_channel, last_message_at, created_at,
                (SELECT COUNT(*) FROM calls k WHERE k.conversation_id = v.id) AS call_count,
                (SELECT COUNT(*) FROM calls k JOIN recordings r ON r.call_id = k.id
                 WHERE k.conversation_id = v.id) AS recording_count
         FROM conversations v WHERE id = ?",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .db()?
    else {
        return Ok(None);
    };
    let contact_id: ContactId = row.parsed("contact_id")?;
    let contact = contact_in(conn, contact_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
        "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN users u ON u.id = e.author_user_id
         WHERE e.conversation_id = "
    ));
    sql.push_bind(id.to_string());
    if let TimelineWindow::Newest {
        before: Some(before),
        ..
    } = window
    {
        sql.push(" AND (e.occurred_at, e.id) < (")
            .push_bind(ms(before.occurred_at))
            .push(", ")
            .push_bind(before.id.to_string())
            .push(")");
    }
    sql.push(" ORDER BY e.occurred_at DESC, e.id DESC");
    if let Some(rows) = window.rows_to_read() {
        sql.push(" LIMIT ").push_bind(rows);
    }
    let mut event_rows = sql.build().fetch_all(&mut *conn).await.db()?;
    let more = window.keep(&mut event_rows);
    let mut calls = calls_of(conn, &event_rows).await?;
    let events = event_rows
        .iter()
        .map(|row| event_from_row(row, &mut calls))
        .collect::<StoreResult<Vec<_>>>()?;
    let earlier = more
        .then(|| events.first().map(EventCursor::before))
        .flatten();
    Ok(Some(ConversationDetail {
        id,
        last_message_channel: opt_enum_col(&row, "last_message_channel", Channel::parse)?,
        last_message_at: row.opt_time("last_message_at")?,
        created_at: row.time("created_at")?,
        call_count: row.unsigned("call_count")?,
        recording_count: row.unsigned("recording_count")?,
        contact,
        events,
        earlier,
    }))
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn conversations(&self, query: ConversationQuery) -> StoreResult<ConversationPage> {
        let mut page = crate::inbox::list(&self.reader, query).await?;
        let ids: Vec<ConversationId> = page.items.iter().map(|c| c.id).collect();
        let mut conn = self.reader.acquire().await.db()?;
        let mut latest = latest_events(&mut conn, &ids).await?;
        for item in &mut page.items {
            item.last_event = latest.remove(&item.id);
        }
        Ok(page)
    }

    async fn conversation_window(
        &self,
        id: ConversationId,
        window: TimelineWindow,
    ) -> StoreResult<Option<ConversationDetail>> {
        // One snapshot: the timeline and its calls as they were at the same moment.
        let mut tx = self.reader.begin().await.db()?;
        detail(&mut tx, id, window).await
    }

    async fn conversation_access(&self, id: ConversationId) -> StoreResult<Option<Access>> {
        let row = sqlx::query(
            "SELECT v.contact_id,
                    (SELECT json_group_array(a.user_id) FROM contact_assignments a
                     WHERE a.contact_id = v.contact_id) AS assigned
             FROM conversations v WHERE v.id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .db()?;
        row.map(|row| {
            Ok(Access {
                contact_id: row.parsed("contact_id")?,
                assigned: assigned_from_row(&row)?,
            })
        })
        .transpose()
    }

    async fn mark_read(
        &self,
        user: UserId,
        conversation: ConversationId,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        // INSERT … SELECT: a conversation (or user) that is gone adds nothing.
        sqlx::query(
            "INSERT INTO conversation_reads (user_id, conversation_id, read_at)
             SELECT u.id, v.id, MAX(?1, COALESCE(v.last_message_at, ?1))
             FROM users u, conversations v WHERE u.id = ?2 AND v.id = ?3
             ON CONFLICT (user_id, conversation_id)
             DO UPDATE SET read_at = MAX(read_at, excluded.read_at)",
        )
        .bind(ms(at))
        .bind(user.to_string())
        .bind(conversation.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn read_marks(
        &self,
        user: UserId,
        conversations: &[ConversationId],
    ) -> StoreResult<HashMap<ConversationId, OffsetDateTime>> {
        if conversations.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<String> = conversations.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(
            "SELECT conversation_id, read_at FROM conversation_reads
             WHERE user_id = ? AND conversation_id IN (SELECT value FROM json_each(?))",
        )
        .bind(user.to_string())
        .bind(serde_json::to_string(&ids).unwrap_or_default())
        .fetch_all(&self.reader)
        .await
        .db()?;
        rows.iter()
            .map(|r| Ok((r.parsed("conversation_id")?, r.time("read_at")?)))
            .collect()
    }

    async fn record_sms(&self, sms: NewSms, now: OffsetDateTime) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        let created = record_sms(&mut tx, &sms, now).await?;
        tx.commit().await.db()?;
        Ok(created)
    }

    async fn add_note(
        &self,
        conversation: ConversationId,
        author: UserId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TimelineEvent> {
        let mut tx = self.write().await?;
        let event = add_note(&mut tx, conversation, author, body, now).await?;
        tx.commit().await.db()?;
        Ok(event)
    }

    async fn delete_conversation(
        &self,
        id: ConversationId,
        now: OffsetDateTime,
    ) -> StoreResult<Deleted> {
        let mut tx = self.write().await?;
        let deleted = purge_conversation(&mut tx, id, now).await?;
        tx.commit().await.db()?;
        Ok(deleted)
    }
}
