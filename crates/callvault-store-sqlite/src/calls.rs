//! Calls: storing what phone systems report (the rules decide, this persists) and reading
//! them back.

use async_trait::async_trait;
use callvault_core::call::CallStatus;
use callvault_core::conversation::Channel;
use callvault_core::{CallId, EventId, NumberId};
use callvault_store::rules::plan_call;
use callvault_store::{
    CallRecord, CallStore, CallUpdate, Missing, NewCall, ReportedCall, StoreError, StoreResult,
};
use sqlx::SqliteConnection;
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{Db, flag, missing_on_fk, ms, opt_ms};
use crate::rows::{call_record_in, parse_id, recording_history_in};
use crate::steps::{contact_for_phone, ensure_conversation, let_handler_see, touch};

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
            .await
            .db()?;
    parse_id(id, "call")
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
            return Ok(ReportedCall {
                record,
                created: false,
            });
        }
        let number: Option<String> =
            sqlx::query_scalar("SELECT id FROM phone_numbers WHERE e164 = ?")
                .bind(new.number.as_str())
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let number: NumberId = parse_id(number, "number")?.ok_or(Missing::Number)?;
        let plan = plan_call(&new, &recording_history_in(&mut tx, number).await?, now);

        let contact = contact_for_phone(
            &mut tx,
            &new.contact_phone,
            &new.contact_phone_raw,
            &plan.contact_name,
            now,
        )
        .await?;
        if let Some(handler) = new.handled_by {
            let_handler_see(&mut tx, contact, handler).await?;
        }
        let conversation = ensure_conversation(&mut tx, contact, now).await?;
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
        .bind(&plan.from)
        .bind(&plan.to)
        .bind(ms(new.times.started_at))
        .bind(opt_ms(new.times.answered_at))
        .bind(opt_ms(new.times.ended_at))
        .bind(new.handled_by.map(|u| u.to_string()))
        .bind(flag(plan.recording_allowed))
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| missing_on_fk(e, Missing::User))?;
        sqlx::query(
            "INSERT INTO events (id, conversation_id, channel, occurred_at, call_id) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(EventId::new().to_string())
        .bind(conversation.to_string())
        .bind(Channel::Call.as_str())
        .bind(ms(new.times.started_at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .db()?;
        touch(&mut tx, conversation, Channel::Call, new.times.started_at).await?;
        let record = call_record_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(ReportedCall {
            record,
            created: true,
        })
    }

    async fn call(&self, id: CallId) -> StoreResult<Option<CallRecord>> {
        let mut conn = self.reader.acquire().await.db()?;
        call_record_in(&mut conn, id).await
    }

    async fn call_by_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<CallRecord>> {
        let mut conn = self.reader.acquire().await.db()?;
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
                handled_by = COALESCE(?7, handled_by, ?4),
                recording_note = COALESCE(?5, recording_note)
             WHERE id = ?6",
        )
        .bind(update.status.map(CallStatus::as_str))
        .bind(opt_ms(update.answered_at))
        .bind(opt_ms(update.ended_at))
        .bind(update.handled_by.map(|u| u.to_string()))
        .bind(&update.recording_note)
        .bind(id.to_string())
        .bind(update.handed_to.map(|u| u.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(|e| missing_on_fk(e, Missing::User))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for handler in [update.handled_by, update.handed_to].into_iter().flatten() {
            let contact: String = sqlx::query_scalar("SELECT contact_id FROM calls WHERE id = ?")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await
                .db()?;
            let contact = parse_id(Some(contact), "contact")?.ok_or(StoreError::NotFound)?;
            let_handler_see(&mut tx, contact, handler).await?;
        }
        let record = call_record_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(record)
    }
}
