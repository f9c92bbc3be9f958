//! Retention: the installation's default policy, the walks that find what a policy would
//! delete, and the deletions themselves (each checking again, in its transaction, that the
//! thing is still due and not held).

use async_trait::async_trait;
use callvault_core::retention::RetentionPolicy;
use callvault_core::{ConversationId, NumberId, RecordingId};
use callvault_store::{
    AgedRecording, CallAgeCursor, ConversationCursor, Deleted, IdleConversation, JobSpec,
    RetentionStore, StoreError, StoreResult,
};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{Db, RowExt, ms, opt_ms};
use crate::rows::retention_of;
use crate::steps::{enqueue_in, purge_conversation, refuse_if_held};

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

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn retention_default(&self) -> StoreResult<RetentionPolicy> {
        let row = sqlx::query(
            "SELECT retention_action, retention_days FROM installation_settings WHERE id = 1",
        )
        .fetch_optional(&self.reader)
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
             VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET retention_action = ?1, retention_days = ?2,
                 updated_at = ?3",
        )
        .bind(policy.kind())
        .bind(policy.days().map(i64::from))
        .bind(ms(now))
        .execute(&self.writer)
        .await
        .db()?;
        Ok(())
    }

    async fn audit_retention_days(&self) -> StoreResult<Option<u32>> {
        let days: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT audit_retention_days FROM installation_settings WHERE id = 1",
        )
        .fetch_optional(&self.reader)
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
             VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET audit_retention_days = ?1, updated_at = ?2",
        )
        .bind(days.map(i64::from))
        .bind(ms(now))
        .execute(&self.writer)
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
             WHERE k.number_id = ?1 AND k.started_at < ?2
               AND (?3 IS NULL OR (k.started_at, k.id) > (?3, ?4))
             ORDER BY k.started_at, k.id LIMIT ?5"
        ))
        .bind(number.to_string())
        .bind(ms(before))
        .bind(opt_ms(after.map(|a| a.started_at)))
        .bind(after.map(|a| a.call_id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .db()?;
        rows.iter()
            .map(|row| {
                Ok(AgedRecording {
                    id: row.parsed("id")?,
                    call_id: row.parsed("call_id")?,
                    conversation_id: row.parsed("conversation_id")?,
                    contact_id: row.parsed("contact_id")?,
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
                (SELECT json_group_array(DISTINCT k.number_id) FROM calls k
                 WHERE k.conversation_id = v.id) AS numbers,
                (SELECT count(*) FROM calls k WHERE k.conversation_id = v.id) AS calls,
                (SELECT count(*) FROM recordings r JOIN calls k ON k.id = r.call_id
                 WHERE k.conversation_id = v.id) AS recordings,
                (SELECT coalesce(sum(r.bytes), 0) FROM recordings r JOIN calls k ON k.id = r.call_id
                 WHERE k.conversation_id = v.id) AS bytes, ",
            held_test!("v.contact_id"),
            " AS held
             FROM conversations v
             WHERE v.activity_at < ?1 AND (?2 IS NULL OR (v.activity_at, v.id) > (?2, ?3))
             ORDER BY v.activity_at, v.id LIMIT ?4"
        ))
        .bind(ms(before))
        .bind(opt_ms(after.map(|a| a.activity_at)))
        .bind(after.map(|a| a.id.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .db()?;
        rows.iter()
            .map(|row| {
                let numbers: Vec<String> = serde_json::from_str(&row.text("numbers")?)
                    .map_err(|e| StoreError::corrupt(e.to_string()))?;
                Ok(IdleConversation {
                    id: row.parsed("id")?,
                    contact_id: row.parsed("contact_id")?,
                    activity_at: row.time("activity_at")?,
                    numbers: numbers
                        .into_iter()
                        .map(|n| {
                            n.parse::<NumberId>()
                                .map_err(|_| StoreError::corrupt(format!("bad number id {n:?}")))
                        })
                        .collect::<StoreResult<_>>()?,
                    calls: row.unsigned("calls")?,
                    recordings: row.unsigned("recordings")?,
                    bytes: row.unsigned("bytes")?,
                    held: row.flag("held")?,
                })
            })
            .collect()
    }

    async fn expire_recording(&self, id: RecordingId, now: OffsetDateTime) -> StoreResult<Deleted> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "SELECT r.call_id, r.blob_key, k.contact_id FROM recordings r
             JOIN calls k ON k.id = r.call_id WHERE r.id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .db()?
        .ok_or(StoreError::NotFound)?;
        refuse_if_held(&mut tx, row.parsed("contact_id")?).await?;
        // The transcript and its search entries go by ON DELETE CASCADE and their triggers.
        sqlx::query("DELETE FROM recordings WHERE id = ?")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
        sqlx::query("UPDATE calls SET recording_expired_at = ? WHERE id = ?")
            .bind(ms(now))
            .bind(row.text("call_id")?)
            .execute(&mut *tx)
            .await
            .db()?;
        let job = enqueue_in(
            &mut tx,
            JobSpec::CollectBlob {
                key: row.text("blob_key")?,
            }
            .at(now),
            now,
        )
        .await?;
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
        let activity: Option<i64> =
            sqlx::query_scalar("SELECT activity_at FROM conversations WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        if activity.is_none_or(|at| at >= ms(idle_before)) {
            return Ok(None);
        }
        // A call reported late, on a number whose policy was not judged, may keep it.
        let now_on: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT number_id FROM calls WHERE conversation_id = ? ORDER BY number_id",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await
        .db()?;
        let mut judged: Vec<String> = numbers.iter().map(ToString::to_string).collect();
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
