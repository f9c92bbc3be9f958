//! Calls: storing what phone systems report (the rules decide, this persists) and reading
//! them back.

use async_trait::async_trait;
use callvault_core::call::CallStatus;
use callvault_core::conversation::Channel;
use callvault_core::{CallId, ContactId, EventId, NumberId};
use callvault_store::rules::plan_call;
use callvault_store::{
    CallRecord, CallStore, CallUpdate, Missing, NewCall, ReportedCall, StoreError, StoreResult,
};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::{Db, missing_on_fk};
use crate::rows::{call_record_in, recording_history_in};
use crate::steps::{
    contact_for_phone, ensure_conversation, let_handler_see, lock, lock_contact, touch,
};

async fn existing_call(
    conn: &mut PgConnection,
    source: &str,
    external_id: &str,
) -> StoreResult<Option<CallId>> {
    let id: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM calls WHERE source = $1 AND external_id = $2")
            .bind(source)
            .bind(external_id)
            .fetch_optional(conn)
            .await
            .db()?;
    Ok(id.map(CallId::from))
}

#[async_trait]
impl CallStore for PostgresStore {
    async fn report_call(&self, new: NewCall, now: OffsetDateTime) -> StoreResult<ReportedCall> {
        let mut tx = self.write().await?;
        if let Some(external_id) = &new.external_id {
            // A provider retrying a webhook while the first delivery is still being stored
            // waits here, then finds the call.
            lock(&mut tx, &format!("call:{}:{external_id}", new.source)).await?;
            if let Some(id) = existing_call(&mut tx, &new.source, external_id).await? {
                let record = call_record_in(&mut tx, id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                return Ok(ReportedCall {
                    record,
                    created: false,
                });
            }
        }
        let number: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM phone_numbers WHERE e164 = $1")
                .bind(new.number.as_str())
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let number = NumberId::from(number.ok_or(Missing::Number)?);
        let plan = plan_call(&new, &recording_history_in(&mut tx, number).await?, now);

        let contact = contact_for_phone(
            &mut tx,
            &new.contact_phone,
            &new.contact_phone_raw,
            &plan.contact_name,
            now,
        )
        .await?;
        let conversation = ensure_conversation(&mut tx, contact, now).await?;
        if let Some(handler) = new.handled_by {
            let_handler_see(&mut tx, contact, handler).await?;
        }
        let id = CallId::new();
        sqlx::query(
            "INSERT INTO calls (id, conversation_id, contact_id, number_id, source, external_id,
                direction, status, from_addr, to_addr, started_at, answered_at, ended_at, handled_by,
                recording_allowed, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(id.0)
        .bind(conversation.0)
        .bind(contact.0)
        .bind(number.0)
        .bind(&new.source)
        .bind(&new.external_id)
        .bind(new.direction.as_str())
        .bind(new.status.as_str())
        .bind(&plan.from)
        .bind(&plan.to)
        .bind(new.times.started_at)
        .bind(new.times.answered_at)
        .bind(new.times.ended_at)
        .bind(new.handled_by.map(|u| u.0))
        .bind(plan.recording_allowed)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| missing_on_fk(e, Missing::User))?;
        sqlx::query(
            "INSERT INTO events (id, conversation_id, channel, occurred_at, call_id)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(EventId::new().0)
        .bind(conversation.0)
        .bind(Channel::Call.as_str())
        .bind(new.times.started_at)
        .bind(id.0)
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
        let mut conn = self.pool.acquire().await.db()?;
        call_record_in(&mut conn, id).await
    }

    async fn call_by_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<CallRecord>> {
        let mut conn = self.pool.acquire().await.db()?;
        match existing_call(&mut conn, source, external_id).await? {
            Some(id) => call_record_in(&mut conn, id).await,
            None => Ok(None),
        }
    }

    async fn update_call(&self, id: CallId, update: CallUpdate) -> StoreResult<CallRecord> {
        let mut tx = self.write().await?;
        // The contact, then the conversation, then the call: the order every writer takes.
        let owner: Option<(Uuid, Uuid)> =
            sqlx::query_as("SELECT contact_id, conversation_id FROM calls WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let (contact, conversation) = owner.ok_or(StoreError::NotFound)?;
        let contact = ContactId::from(contact);
        if !lock_contact(&mut tx, contact).await? {
            return Err(StoreError::NotFound);
        }
        sqlx::query("SELECT 1 FROM conversations WHERE id = $1 FOR SHARE")
            .bind(conversation)
            .execute(&mut *tx)
            .await
            .db()?;
        let updated: Option<Uuid> = sqlx::query_scalar(
            "UPDATE calls SET
                status = CASE WHEN $1::text IS NULL OR $1 = 'ringing' THEN status ELSE $1 END,
                answered_at = COALESCE(answered_at, $2),
                ended_at = COALESCE(ended_at, $3),
                handled_by = COALESCE($7, handled_by, $4),
                recording_note = COALESCE($5, recording_note)
             WHERE id = $6
             RETURNING id",
        )
        .bind(update.status.map(CallStatus::as_str))
        .bind(update.answered_at)
        .bind(update.ended_at)
        .bind(update.handled_by.map(|u| u.0))
        .bind(&update.recording_note)
        .bind(id.0)
        .bind(update.handed_to.map(|u| u.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| missing_on_fk(e, Missing::User))?;
        if updated.is_none() {
            return Err(StoreError::NotFound);
        }
        for handler in [update.handled_by, update.handed_to].into_iter().flatten() {
            let_handler_see(&mut tx, contact, handler).await?;
        }
        let record = call_record_in(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(record)
    }
}
