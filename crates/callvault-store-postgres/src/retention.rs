//! Retention: the installation's default policy, the walks that find what a policy would
//! delete, and the deletions themselves (each checking again, in its transaction, that the
//! thing is still due and not held; a conversation's lock keeps a call arriving meanwhile
//! either before the check, which then finds it active, or after the deletion).

use async_trait::async_trait;
use callvault_core::retention::RetentionPolicy;
use callvault_core::{ConversationId, NumberId, RecordingId};
use callvault_store::{
    AgedRecording, CallAgeCursor, ConversationCursor, Deleted, IdleConversation, JobSpec,
    RetentionStore, StoreError, StoreResult,
};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::{Db, RowExt};
use crate::rows::retention_of;
use crate::steps::{
    enqueue_in, lock_contact, lock_conversation, purge_conversation, refuse_if_held,
};

/// Whether a hold in force covers the contact in `contact_col`.
macro_rules! held_test {
    ($contact_col:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM legal_holds h WHERE h.released_at IS NULL
                AND (h.contact_id = ",
            $contact_col,
            " OR h.scope = 'installation'))"
        )
    };
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[async_trait]
impl RetentionStore for PostgresStore {
    async fn retention_default(&self) -> StoreResult<RetentionPolicy> {
        let row = sqlx::query(
            "SELECT retention_action, retention_days FROM installation_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await
        .db()?;
        // No row yet, or one without a policy: the default (keep forever).
        Ok(match row {
            Some(row) => retention_of(&row)?.unwrap_or_default(),
            None => RetentionPolicy::default(),
        })
    }

    async fn set_retention_default(
        &self,
        policy: RetentionPolicy,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO installation_settings (id, retention_action, retention_days, updated_at)
             VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET retention_action = $1, retention_days = $2,
                 updated_at = $3",
        )
        .bind(policy.kind())
        .bind(policy.days().map(|d| i32::try_from(d).unwrap_or(i32::MAX)))
        .bind(now)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn audit_retention_days(&self) -> StoreResult<Option<u32>> {
        let days: Option<Option<i32>> = sqlx::query_scalar(
            "SELECT audit_retention_days FROM installation_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await
        .db()?;
        days.flatten()
            .map(u32::try_from)
            .transpose()
            .map_err(|_| StoreError::corrupt("bad audit retention"))
    }

    async fn set_audit_retention_days(
        &self,
        days: Option<u32>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO installation_settings (id, audit_retention_days, updated_at)
             VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET audit_retention_days = $1, updated_at = $2",
        )
        .bind(days.map(|d| i32::try_from(d).unwrap_or(i32::MAX)))
        .bind(now)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn recordings_started_before(
        &self,
        number: NumberId,
        before: OffsetDateTime,
        after: Option<CallAgeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<AgedRecording>> {
        let rows = sqlx::query(concat!(
            "SELECT r.id, r.call_id, k.conversation_id, k.contact_id, k.started_at, r.bytes, ",
            held_test!("k.contact_id"),
            " AS held
             FROM calls k JOIN recordings r ON r.call_id = k.id
             WHERE k.number_id = $1 AND k.started_at < $2
               AND ($3::timestamptz IS NULL OR (k.started_at, k.id) > ($3, $4))
             ORDER BY k.started_at, k.id LIMIT $5"
        ))
        .bind(number.0)
        .bind(before)
        .bind(after.map(|a| a.started_at))
        .bind(after.map_or(Uuid::nil(), |a| a.call_id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.iter()
            .map(|row| {
                Ok(AgedRecording {
                    id: row.id("id")?,
                    call_id: row.id("call_id")?,
                    conversation_id: row.id("conversation_id")?,
                    contact_id: row.id("contact_id")?,
                    call_started_at: row.time("started_at")?,
                    bytes: row.unsigned("bytes")?,
                    held: row.flag("held")?,
                })
            })
            .collect()
    }

    async fn conversations_idle_since(
        &self,
        before: OffsetDateTime,
        after: Option<ConversationCursor>,
        limit: u32,
    ) -> StoreResult<Vec<IdleConversation>> {
        let rows = sqlx::query(concat!(
            "SELECT v.id, v.contact_id, v.activity_at,
                ARRAY(SELECT DISTINCT k.number_id FROM calls k WHERE k.conversation_id = v.id)
                    AS numbers,
                (SELECT count(*) FROM calls k WHERE k.conversation_id = v.id) AS calls,
                (SELECT count(*) FROM recordings r JOIN calls k ON k.id = r.call_id
                 WHERE k.conversation_id = v.id) AS recordings,
                (SELECT coalesce(sum(r.bytes), 0)::bigint FROM recordings r
                 JOIN calls k ON k.id = r.call_id WHERE k.conversation_id = v.id) AS bytes, ",
            held_test!("v.contact_id"),
            " AS held
             FROM conversations v
             WHERE v.activity_at < $1
               AND ($2::timestamptz IS NULL OR (v.activity_at, v.id) > ($2, $3))
             ORDER BY v.activity_at, v.id LIMIT $4"
        ))
        .bind(before)
        .bind(after.map(|a| a.activity_at))
        .bind(after.map_or(Uuid::nil(), |a| a.id.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.iter()
            .map(|row| {
                let numbers: Vec<Uuid> = row.try_get("numbers").db()?;
                Ok(IdleConversation {
                    id: row.id("id")?,
                    contact_id: row.id("contact_id")?,
                    activity_at: row.time("activity_at")?,
                    numbers: numbers.into_iter().map(NumberId::from).collect(),
                    calls: count(row.int("calls")?),
                    recordings: count(row.int("recordings")?),
                    bytes: count(row.int("bytes")?),
                    held: row.flag("held")?,
                })
            })
            .collect()
    }

    async fn expire_recording(&self, id: RecordingId, now: OffsetDateTime) -> StoreResult<Deleted> {
        let mut tx = self.write().await?;
        let owner: Option<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT k.contact_id, k.conversation_id FROM recordings r
             JOIN calls k ON k.id = r.call_id WHERE r.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let (contact, conversation) = owner.ok_or(StoreError::NotFound)?;
        // The order every writer takes: the contact, the conversation, then the call.
        if !lock_contact(&mut tx, contact.into()).await?
            || !lock_conversation(&mut tx, conversation.into()).await?
        {
            return Err(StoreError::NotFound);
        }
        refuse_if_held(&mut tx, contact.into()).await?;
        // The transcript and its search entries go by ON DELETE CASCADE.
        let gone: Option<(Uuid, String)> =
            sqlx::query_as("DELETE FROM recordings WHERE id = $1 RETURNING call_id, blob_key")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let (call, key) = gone.ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE calls SET recording_expired_at = $1 WHERE id = $2")
            .bind(now)
            .bind(call)
            .execute(&mut *tx)
            .await
            .db()?;
        let job = enqueue_in(&mut tx, JobSpec::CollectBlob { key }.at(now), now).await?;
        tx.commit().await.db()?;
        Ok(Deleted {
            cleanup_jobs: vec![job],
            recordings: vec![id],
        })
    }

    async fn expire_conversation(
        &self,
        id: ConversationId,
        numbers: &[NumberId],
        idle_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Deleted>> {
        let mut tx = self.write().await?;
        if !lock_conversation(&mut tx, id).await? {
            return Ok(None);
        }
        // Read under the lock: a call added meanwhile has moved it.
        let activity: Option<OffsetDateTime> =
            sqlx::query_scalar("SELECT activity_at FROM conversations WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        if activity.is_none_or(|at| at >= idle_before) {
            return Ok(None);
        }
        // A call reported late, on a number whose policy was not judged, may keep it.
        let mut now_on: Vec<Uuid> =
            sqlx::query_scalar("SELECT DISTINCT number_id FROM calls WHERE conversation_id = $1")
                .bind(id.0)
                .fetch_all(&mut *tx)
                .await
                .db()?;
        now_on.sort();
        let mut judged: Vec<Uuid> = numbers.iter().map(|n| n.0).collect();
        judged.sort();
        judged.dedup();
        if now_on != judged {
            return Ok(None);
        }
        let deleted = purge_conversation(&mut tx, id, now).await?;
        tx.commit().await.db()?;
        Ok(Some(deleted))
    }
}
