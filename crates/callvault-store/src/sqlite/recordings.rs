//! Recordings: the rows that own audio objects.

use async_trait::async_trait;
use callvault_core::recording::{Peaks, Recording};
use callvault_core::{JobId, RecordingId};
use time::OffsetDateTime;

use super::SqliteStore;
use super::codec::{RowExt, ms};
use super::contacts::assigned_from_row;
use super::jobs::enqueue_in;
use crate::{
    Access, Deleted, NewRecording, RecordingRecord, RecordingStore, StoreError, StoreResult,
    TranscriptStatus, collect_blob_job,
};

#[async_trait]
impl RecordingStore for SqliteStore {
    async fn add_recording(
        &self,
        new: NewRecording,
        replace: bool,
        guard: Option<JobId>,
        now: OffsetDateTime,
    ) -> StoreResult<(Recording, Deleted)> {
        let mut tx = self.write().await?;
        let allowed: Option<i64> =
            sqlx::query_scalar("SELECT recording_allowed FROM calls WHERE id = ?")
                .bind(new.call_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        match allowed {
            None => return Err(StoreError::NotFound),
            Some(0) => return Err(StoreError::Conflict("recording_disabled")),
            Some(_) => {}
        }
        let mut cleanup_jobs = Vec::new();
        let existing: Option<String> =
            sqlx::query_scalar("SELECT blob_key FROM recordings WHERE call_id = ?")
                .bind(new.call_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(old_key) = existing {
            if !replace {
                return Err(StoreError::Conflict("recording_exists"));
            }
            sqlx::query("DELETE FROM recordings WHERE call_id = ?")
                .bind(new.call_id.to_string())
                .execute(&mut *tx)
                .await?;
            cleanup_jobs.push(enqueue_in(&mut tx, collect_blob_job(&old_key, now), now).await?);
        }
        let peaks = serde_json::to_string(&new.peaks).map_err(StoreError::backend)?;
        sqlx::query(
            "INSERT INTO recordings (id, call_id, blob_key, duration_ms, channels, sample_rate, bytes, sha256, peaks, created_at, source_ref)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(new.id.to_string())
        .bind(new.call_id.to_string())
        .bind(&new.blob_key)
        .bind(i64::try_from(new.duration_ms).unwrap_or(i64::MAX))
        .bind(i64::from(new.channels))
        .bind(i64::from(new.sample_rate))
        .bind(i64::try_from(new.bytes).unwrap_or(i64::MAX))
        .bind(&new.sha256)
        .bind(peaks)
        .bind(ms(now))
        .bind(&new.source_ref)
        .execute(&mut *tx)
        .await
        .map_err(|e| super::conflict_on_unique(e, "recording_exists"))?;
        if let Some(guard) = guard {
            // If the guard already started, it may be deleting this very object: give up and
            // let the caller clean up, rather than keep a row whose audio may vanish.
            let dropped = sqlx::query("DELETE FROM jobs WHERE id = ? AND state = 'queued'")
                .bind(guard.to_string())
                .execute(&mut *tx)
                .await?;
            if dropped.rows_affected() == 0 {
                return Err(StoreError::Conflict("upload_expired"));
            }
        }
        // In the same transaction, so a crash cannot keep the recording and lose its transcript.
        let transcribe: Option<i64> = sqlx::query_scalar(
            "SELECT n.transcribe_automatically FROM calls k JOIN phone_numbers n ON n.id = k.number_id
             WHERE k.id = ?",
        )
        .bind(new.call_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if transcribe == Some(1) {
            super::transcripts::request_in(&mut tx, new.id, now).await?;
        }
        tx.commit().await?;
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
        };
        Ok((recording, Deleted { cleanup_jobs }))
    }

    async fn recording(&self, id: RecordingId) -> StoreResult<Option<RecordingRecord>> {
        let mut conn = self.reader.acquire().await?;
        let row = sqlx::query(
            "SELECT r.id, r.call_id, r.blob_key, r.duration_ms, r.channels, r.sample_rate, r.bytes,
                    r.sha256, r.peaks, r.created_at,
                    k.conversation_id, k.contact_id, k.started_at AS call_started_at,
                    c.name AS contact_name, t.status AS transcript_status,
                    (SELECT json_group_array(a.user_id) FROM contact_assignments a
                     WHERE a.contact_id = k.contact_id) AS assigned
             FROM recordings r
             JOIN calls k ON k.id = r.call_id
             JOIN contacts c ON c.id = k.contact_id
             LEFT JOIN transcripts t ON t.recording_id = r.id
             WHERE r.id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let transcript_status = match row
            .opt_text("transcript_status")?
            .as_deref()
            .and_then(TranscriptStatus::parse)
        {
            Some(stored) => Some(
                super::transcripts::effective_status(&mut conn, id, stored)
                    .await?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let peaks: Peaks = serde_json::from_str(&row.text("peaks")?)
            .map_err(|e| StoreError::corrupt(e.to_string()))?;
        Ok(Some(RecordingRecord {
            recording: Recording {
                id: row.parsed("id")?,
                call_id: row.parsed("call_id")?,
                blob_key: row.text("blob_key")?,
                duration_ms: row.unsigned("duration_ms")?,
                channels: row.unsigned("channels")?,
                sample_rate: row.unsigned("sample_rate")?,
                bytes: row.unsigned("bytes")?,
                sha256: row.text("sha256")?,
                peaks,
                created_at: row.time("created_at")?,
            },
            conversation_id: row.parsed("conversation_id")?,
            contact_name: row.text("contact_name")?,
            call_started_at: row.time("call_started_at")?,
            transcript_status,
            access: Access {
                contact_id: row.parsed("contact_id")?,
                assigned: assigned_from_row(&row)?,
            },
        }))
    }

    async fn recording_by_source_ref(&self, source_ref: &str) -> StoreResult<Option<RecordingId>> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM recordings WHERE source_ref = ?")
                .bind(source_ref)
                .fetch_optional(&self.reader)
                .await?;
        id.map(|id| {
            id.parse()
                .map_err(|_| StoreError::corrupt("bad recording id"))
        })
        .transpose()
    }

    async fn blob_in_use(&self, key: &str) -> StoreResult<bool> {
        // Asked on the writer so the answer reflects every committed change, in order.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recordings WHERE blob_key = ?")
            .bind(key)
            .fetch_one(&self.writer)
            .await?;
        Ok(n > 0)
    }
}
