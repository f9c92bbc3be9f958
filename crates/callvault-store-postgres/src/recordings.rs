//! Recordings: the rows that own audio objects.

use async_trait::async_trait;
use callvault_core::recording::{Peaks, Recording};
use callvault_core::{JobId, RecordingId};
use callvault_store::{
    Access, Conflict, Deleted, JobSpec, NewRecording, RecordingMedia, RecordingRecord,
    RecordingStore, StoreError, StoreResult,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::{Db, RowExt, big, conflict_on_unique};
use crate::rows::assigned_from_row;
use crate::steps::{
    adopt_guard_in, enqueue_in, lock_contact, refuse_if_held, request_transcript_in,
    transcript_status,
};

#[async_trait]
impl RecordingStore for PostgresStore {
    async fn add_recording(
        &self,
        new: NewRecording,
        replace: bool,
        guard: Option<JobId>,
        now: OffsetDateTime,
    ) -> StoreResult<(Recording, Deleted)> {
        let mut tx = self.write().await?;
        // The contact, the conversation, then the call (the order deletion takes them in): a
        // conversation being deleted either waits for this recording, and collects its object,
        // or is gone before it, and the call with it.
        let owner: Option<(Uuid, Uuid)> =
            sqlx::query_as("SELECT contact_id, conversation_id FROM calls WHERE id = $1")
                .bind(new.call_id.0)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let (contact, conversation) = owner.ok_or(StoreError::NotFound)?;
        if !lock_contact(&mut tx, contact.into()).await? {
            return Err(StoreError::NotFound);
        }
        let conversation: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM conversations WHERE id = $1 FOR SHARE")
                .bind(conversation)
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        if conversation.is_none() {
            return Err(StoreError::NotFound);
        }
        let call: Option<(bool, bool, bool)> = sqlx::query_as(
            "SELECT k.recording_allowed, n.transcribe_automatically, n.redact_sensitive
             FROM calls k JOIN phone_numbers n ON n.id = k.number_id
             WHERE k.id = $1 FOR NO KEY UPDATE OF k",
        )
        .bind(new.call_id.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let (allowed, transcribe, redact) = call.ok_or(StoreError::NotFound)?;
        if !allowed {
            return Err(Conflict::RecordingDisabled.into());
        }
        let mut cleanup_jobs = Vec::new();
        let mut replaced = Vec::new();
        let existing: Option<(Uuid, String)> = sqlx::query_as(
            "DELETE FROM recordings WHERE call_id = $1 AND $2 RETURNING id, blob_key",
        )
        .bind(new.call_id.0)
        .bind(replace)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        if let Some((old_id, old_key)) = existing {
            // Replacing deletes the old audio, which a hold keeps (the delete above is undone).
            refuse_if_held(&mut tx, contact.into()).await?;
            cleanup_jobs.push(
                enqueue_in(&mut tx, JobSpec::CollectBlob { key: old_key }.at(now), now).await?,
            );
            replaced.push(old_id.into());
        }
        let peaks = serde_json::to_string(&new.peaks).map_err(StoreError::backend)?;
        sqlx::query(
            "INSERT INTO recordings (id, call_id, blob_key, duration_ms, channels, sample_rate, bytes,
                sha256, peaks, created_at, source_ref, redaction_pending)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(new.id.0)
        .bind(new.call_id.0)
        .bind(&new.blob_key)
        .bind(big(new.duration_ms))
        .bind(i32::from(new.channels))
        .bind(i32::try_from(new.sample_rate).unwrap_or(i32::MAX))
        .bind(big(new.bytes))
        .bind(&new.sha256)
        .bind(peaks)
        .bind(now)
        .bind(&new.source_ref)
        .bind(redact)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, Conflict::RecordingExists))?;
        if let Some(guard) = guard {
            adopt_guard_in(&mut tx, guard).await?;
        }
        // In the same transaction, so a crash cannot keep the recording and lose its transcript.
        // Redaction reads the transcript: it is asked for too.
        if transcribe || redact {
            request_transcript_in(&mut tx, new.id, now).await?;
        }
        tx.commit().await.db()?;
        let recording = Recording {
            id: new.id,
            call_id: new.call_id,
            blob_key: new.blob_key,
            duration_ms: new.duration_ms,
            channels: new.channels,
            sample_rate: new.sample_rate,
            bytes: new.bytes,
            sha256: new.sha256,
            peaks: new.peaks,
            created_at: now,
            redactions: Vec::new(),
            redaction_pending: redact,
        };
        Ok((
            recording,
            Deleted {
                cleanup_jobs,
                recordings: replaced,
            },
        ))
    }

    async fn recording(&self, id: RecordingId) -> StoreResult<Option<RecordingRecord>> {
        // One snapshot: the recording and its transcript as they were at the same moment.
        let mut tx = self.pool.begin().await.db()?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .db()?;
        let row = sqlx::query(
            "SELECT r.id, r.call_id, r.blob_key, r.duration_ms, r.channels, r.sample_rate, r.bytes,
                    r.sha256, r.peaks, r.created_at, r.redactions, r.redaction_pending,
                    k.conversation_id, k.contact_id, k.started_at AS call_started_at,
                    c.name AS contact_name,
                    ARRAY(SELECT a.user_id FROM contact_assignments a
                          WHERE a.contact_id = k.contact_id ORDER BY a.user_id) AS assigned
             FROM recordings r
             JOIN calls k ON k.id = r.call_id
             JOIN contacts c ON c.id = k.contact_id
             WHERE r.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?;
        let Some(row) = row else { return Ok(None) };
        let transcript_status = transcript_status(&mut tx, id).await?;
        let peaks: Peaks = serde_json::from_str(&row.text("peaks")?)
            .map_err(|e| StoreError::corrupt(e.to_string()))?;
        Ok(Some(RecordingRecord {
            recording: Recording {
                id: row.id("id")?,
                call_id: row.id("call_id")?,
                blob_key: row.text("blob_key")?,
                duration_ms: row.unsigned("duration_ms")?,
                channels: row.unsigned("channels")?,
                sample_rate: row.unsigned("sample_rate")?,
                bytes: row.unsigned("bytes")?,
                sha256: row.text("sha256")?,
                peaks,
                created_at: row.time("created_at")?,
                redactions: serde_json::from_str(&row.text("redactions")?)
                    .map_err(|e| StoreError::corrupt(e.to_string()))?,
                redaction_pending: row.flag("redaction_pending")?,
            },
            conversation_id: row.id("conversation_id")?,
            contact_name: row.text("contact_name")?,
            call_started_at: row.time("call_started_at")?,
            transcript_status,
            access: Access {
                contact_id: row.id("contact_id")?,
                assigned: assigned_from_row(&row)?,
            },
        }))
    }

    async fn recording_media(&self, id: RecordingId) -> StoreResult<Option<RecordingMedia>> {
        let row = sqlx::query(
            "SELECT r.id, r.blob_key, r.bytes, r.sha256, r.redaction_pending,
                    k.conversation_id, k.contact_id, k.started_at AS call_started_at,
                    c.name AS contact_name,
                    ARRAY(SELECT a.user_id FROM contact_assignments a
                          WHERE a.contact_id = k.contact_id ORDER BY a.user_id) AS assigned
             FROM recordings r
             JOIN calls k ON k.id = r.call_id
             JOIN contacts c ON c.id = k.contact_id
             WHERE r.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RecordingMedia {
            id: row.id("id")?,
            blob_key: row.text("blob_key")?,
            redaction_pending: row.flag("redaction_pending")?,
            bytes: row.unsigned("bytes")?,
            sha256: row.text("sha256")?,
            conversation_id: row.id("conversation_id")?,
            contact_name: row.text("contact_name")?,
            call_started_at: row.time("call_started_at")?,
            access: Access {
                contact_id: row.id("contact_id")?,
                assigned: assigned_from_row(&row)?,
            },
        }))
    }

    async fn recording_by_source_ref(&self, source_ref: &str) -> StoreResult<Option<RecordingId>> {
        let id: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM recordings WHERE source_ref = $1")
                .bind(source_ref)
                .fetch_optional(&self.pool)
                .await
                .db()?;
        Ok(id.map(RecordingId::from))
    }

    async fn blob_in_use(&self, key: &str) -> StoreResult<bool> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM recordings WHERE blob_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .db()?;
        Ok(found.is_some())
    }
}
