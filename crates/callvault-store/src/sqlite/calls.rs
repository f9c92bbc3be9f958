//! Calls: reporting them (with the not-retroactive recording rule) and reading them back.

use std::collections::HashMap;

use async_trait::async_trait;
use callvault_core::call::{Call, CallStatus, CallTimes, Direction};
use callvault_core::conversation::Channel;
use callvault_core::number::recording_allowed_at;
use callvault_core::{CallId, ConversationId, EventId, NumberId};
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use super::SqliteStore;
use super::codec::{RowExt, enum_col, flag, missing_on_fk, ms, opt_ms};
use super::contacts::{assigned_from_row, contact_for_phone, let_handler_see};
use super::conversations::{ensure_conversation, touch};
use super::numbers::recording_history_in;
use crate::{
    Access, CallRecord, CallStore, CallUpdate, NewCall, RecordingRef, ReportedCall, StoreError,
    StoreResult, UserRef,
};

/// The columns `record_from_row` reads, from `calls k`.
macro_rules! call_columns {
    () => {
        "k.id, k.conversation_id, k.contact_id, k.number_id, k.source, k.external_id, k.direction,
         k.status, k.from_addr, k.to_addr, k.started_at, k.answered_at, k.ended_at, k.handled_by,
         k.recording_allowed, k.recording_note,
         h.name AS handled_by_name,
         r.id AS recording_id, r.duration_ms AS recording_duration_ms, r.channels AS recording_channels,
         (SELECT json_group_array(a.user_id) FROM contact_assignments a
          WHERE a.contact_id = k.contact_id) AS assigned
         FROM calls k
         LEFT JOIN users h ON h.id = k.handled_by
         LEFT JOIN recordings r ON r.call_id = k.id"
    };
}

fn call_from_row(row: &SqliteRow) -> StoreResult<Call> {
    Ok(Call {
        id: row.parsed("id")?,
        conversation_id: row.parsed("conversation_id")?,
        contact_id: row.parsed("contact_id")?,
        number_id: row.parsed("number_id")?,
        direction: enum_col(row, "direction", Direction::parse)?,
        status: enum_col(row, "status", CallStatus::parse)?,
        from: row.text("from_addr")?,
        to: row.text("to_addr")?,
        times: CallTimes {
            started_at: row.time("started_at")?,
            answered_at: row.opt_time("answered_at")?,
            ended_at: row.opt_time("ended_at")?,
        },
        handled_by: row.opt_parsed("handled_by")?,
        recording_allowed: row.flag("recording_allowed")?,
        recording_id: row.opt_parsed("recording_id")?,
        source: row.text("source")?,
        external_id: row.opt_text("external_id")?,
        recording_note: row.opt_text("recording_note")?,
    })
}

fn record_from_row(row: &SqliteRow) -> StoreResult<CallRecord> {
    let call = call_from_row(row)?;
    let handled_by = match (call.handled_by, row.opt_text("handled_by_name")?) {
        (Some(id), Some(name)) => Some(UserRef { id, name }),
        _ => None,
    };
    let recording = match call.recording_id {
        Some(id) => Some(RecordingRef {
            id,
            duration_ms: row.unsigned("recording_duration_ms")?,
            channels: row.unsigned("recording_channels")?,
        }),
        None => None,
    };
    let access = Access {
        contact_id: call.contact_id,
        assigned: assigned_from_row(row)?,
    };
    Ok(CallRecord {
        call,
        handled_by,
        recording,
        access,
    })
}

pub(super) async fn call_record_in(
    conn: &mut SqliteConnection,
    id: CallId,
) -> StoreResult<Option<CallRecord>> {
    let sql = concat!("SELECT ", call_columns!(), " WHERE k.id = ?");
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(record_from_row).transpose()
}

pub(super) async fn call_records_of_conversation(
    conn: &mut SqliteConnection,
    id: ConversationId,
) -> StoreResult<HashMap<CallId, CallRecord>> {
    let sql = concat!("SELECT ", call_columns!(), " WHERE k.conversation_id = ?");
    let rows = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| record_from_row(row).map(|r| (r.call.id, r)))
        .collect()
}

async fn existing_call(
    conn: &mut SqliteConnection,
    source: &str,
    external_id: &str,
) -> StoreResult<Option<CallId>> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM calls WHERE source = ? AND external_id = ?")
            .bind(source)
            .bind(external_id)
            .fetch_optional(conn)
            .await?;
    id.map(|id| id.parse().map_err(|_| StoreError::corrupt("bad call id")))
        .transpose()
}

#[async_trait]
impl CallStore for SqliteStore {
    async fn report_call(&self, new: NewCall, now: OffsetDateTime) -> StoreResult<ReportedCall> {
        let mut tx = self.write().await?;
        if let Some(external_id) = &new.external_id
            && let Some(id) = existing_call(&mut tx, &new.source, external_id).await?
        {
            let record = call_record_in(&mut tx, id)
                .await?
                .ok_or(StoreError::NotFound)?;
            tx.commit().await?;
            return Ok(ReportedCall {
                record,
                created: false,
            });
        }
        let number: NumberId =
            match sqlx::query_scalar::<_, String>("SELECT id FROM phone_numbers WHERE e164 = ?")
                .bind(new.number.as_str())
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(id) => id
                    .parse()
                    .map_err(|_| StoreError::corrupt("bad number id"))?,
                None => return Err(StoreError::MissingReference("number")),
            };
        // The rule of the product: the setting in effect when the call started decides, and the
        // answer is frozen on the call.
        let history = recording_history_in(&mut tx, number).await?;
        // A start reported slightly ahead of our clock is judged by the setting known now.
        let recording_allowed = recording_allowed_at(&history, new.times.started_at.min(now));

        let contact = contact_for_phone(
            &mut tx,
            &new.contact_phone,
            &new.contact_phone_raw,
            new.contact_name.as_deref(),
            now,
        )
        .await?;
        if let Some(handler) = new.handled_by {
            let_handler_see(&mut tx, contact, handler).await?;
        }
        let conversation = ensure_conversation(&mut tx, contact, now).await?;

        let (from, to) = match new.direction {
            Direction::Inbound => (new.contact_phone.to_string(), new.number.to_string()),
            Direction::Outbound => (new.number.to_string(), new.contact_phone.to_string()),
        };
        let id = CallId::new();
        sqlx::query(
            "INSERT INTO calls (id, conversation_id, contact_id, number_id, source, external_id,
                direction, status, from_addr, to_addr, started_at, answered_at, ended_at, handled_by,
                recording_allowed, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(conversation.to_string())
        .bind(contact.to_string())
        .bind(number.to_string())
        .bind(&new.source)
        .bind(&new.external_id)
        .bind(new.direction.as_str())
        .bind(new.status.as_str())
        .bind(from)
        .bind(to)
        .bind(ms(new.times.started_at))
        .bind(opt_ms(new.times.answered_at))
        .bind(opt_ms(new.times.ended_at))
        .bind(new.handled_by.map(|u| u.to_string()))
        .bind(flag(recording_allowed))
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| missing_on_fk(e, "user"))?;
        sqlx::query(
            "INSERT INTO events (id, conversation_id, channel, occurred_at, call_id) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(EventId::new().to_string())
        .bind(conversation.to_string())
        .bind(Channel::Call.as_str())
        .bind(ms(new.times.started_at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        touch(&mut tx, conversation, Channel::Call, new.times.started_at).await?;
        let record = call_record_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(ReportedCall {
            record,
            created: true,
        })
    }

    async fn call(&self, id: CallId) -> StoreResult<Option<CallRecord>> {
        let mut conn = self.reader.acquire().await?;
        call_record_in(&mut conn, id).await
    }

    async fn call_by_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<CallRecord>> {
        let mut conn = self.reader.acquire().await?;
        match existing_call(&mut conn, source, external_id).await? {
            Some(id) => call_record_in(&mut conn, id).await,
            None => Ok(None),
        }
    }

    async fn update_call(&self, id: CallId, update: CallUpdate) -> StoreResult<CallRecord> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE calls SET
                status = CASE WHEN ?1 IS NULL OR ?1 = 'ringing' THEN status ELSE ?1 END,
                answered_at = COALESCE(answered_at, ?2),
                ended_at = COALESCE(ended_at, ?3),
                handled_by = COALESCE(handled_by, ?4),
                recording_note = COALESCE(?5, recording_note)
             WHERE id = ?6",
        )
        .bind(update.status.map(CallStatus::as_str))
        .bind(opt_ms(update.answered_at))
        .bind(opt_ms(update.ended_at))
        .bind(update.handled_by.map(|u| u.to_string()))
        .bind(&update.recording_note)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| missing_on_fk(e, "user"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let record = call_record_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(handler) = update.handled_by {
            let_handler_see(&mut tx, record.call.contact_id, handler).await?;
        }
        let record = call_record_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(record)
    }
}
