//! Recordings: the rows that own audio objects.

use async_trait::async_trait;
use callvault_core::recording::{Peaks, Recording};
use callvault_core::{ContactId, JobId, RecordingId};
use time::OffsetDateTime;

use callvault_store::{
    Access, Conflict, Deleted, JobSpec, NewRecording, RecordingMedia, RecordingRecord,
    RecordingStore, StoreError, StoreResult,
};

use crate::SqliteStore;
use crate::codec::{Db, RowExt, ms};
use crate::rows::{assigned_from_row, parse_id};
use crate::steps::{
    adopt_guard_in, enqueue_in, refuse_if_held, request_transcript_in, transcript_status,
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
        let call: Option<(i64, String)> =
            sqlx::query_as("SELECT recording_allowed, contact_id FROM calls WHERE id = ?")
                .bind(new.call_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        let contact: ContactId = match call {
            None => return Err(StoreError::NotFound),
            Some((0, _)) => return Err(Conflict::RecordingDisabled.into()),
            Some((_, contact)) => {
                parse_id(Some(contact), "contact")?.ok_or(StoreError::NotFound)?
            }
        };
        let mut cleanup_jobs = Vec::new();
        let mut replaced = Vec::new();
        let existing: Option<(String, String)> =
            sqlx::query_as("SELECT id, blob_key FROM recordings WHERE call_id = ?")
                .bind(new.call_id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .db()?;
        if let Some((old_id, old_key)) = existing {
            if !replace {
                return Err(Conflict::RecordingExists.into());
            }
            // Replacing deletes the old audio, which a hold keeps.
            refuse_if_held(&mut tx, contact).await?;
            sqlx::query("DELETE FROM recordings WHERE call_id = ?")
                .bind(new.call_id.to_string())
                .execute(&mut *tx)
                .await
                .db()?;
            cleanup_jobs.push(
                enqueue_in(&mut tx, JobSpec::CollectBlob { key: old_key }.at(now), now).await?,
            );
            replaced.extend(parse_id::<RecordingId>(Some(old_id), "recording")?);
        }
        let peaks = serde_json::to_string(&new.peaks).map_err(StoreError::backend)?;
        // What the call's number asks of its recordings: a transcript, a redaction pass (which
        // needs the transcript, and keeps the audio from listeners until it has run).
        let (transcribe, redact): (i64, i64) = sqlx::query_as(
            "SELECT n.transcribe_automatically, n.redact_sensitive
             FROM calls k JOIN phone_numbers n ON n.id = k.number_id WHERE k.id = ?",
        )
        .bind(new.call_id.to_string())
        .fetch_optional(&mut *tx)
        .await
        .db()?
        .unwrap_or((0, 0));
        sqlx::query(
            "INSERT INTO recordings (id, call_id, blob_key, duration_ms, channels, sample_rate, bytes, sha256, peaks, created_at, source_ref, redaction_pending)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .bind(redact)
        .execute(&mut *tx)
        .await
        .map_err(|e| crate::codec::conflict_on_unique(e, Conflict::RecordingExists))?;
        if let Some(guard) = guard {
            adopt_guard_in(&mut tx, guard).await?;
        }
        // In the same transaction, so a crash cannot keep the recording and lose its transcript.
        if transcribe == 1 || redact == 1 {
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
            redaction_pending: redact == 1,
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
        let mut conn = self.reader.begin().await.db()?;
        let row = sqlx::query(
            "SELECT r.id, r.call_id, r.blob_key, r.duration_ms, r.channels, r.sample_rate, r.bytes,
                    r.sha256, r.peaks, r.created_at, r.redactions, r.redaction_pending,
                    k.conversation_id, k.contact_id, k.started_at AS call_started_at,
                    c.name AS contact_name,
                    (SELECT json_group_array(a.user_id) FROM contact_assignments a
                     WHERE a.contact_id = k.contact_id) AS assigned
             FROM recordings r
             JOIN calls k ON k.id = r.call_id
             JOIN contacts c ON c.id = k.contact_id
             WHERE r.id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .db()?;
        let Some(row) = row else { return Ok(None) };
        let transcript_status = transcript_status(&mut conn, id).await?;
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
                redactions: serde_json::from_str(&row.text("redactions")?)
                    .map_err(|e| StoreError::corrupt(e.to_string()))?,
                redaction_pending: row.flag("redaction_pending")?,
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

    async fn recording_media(&self, id: RecordingId) -> StoreResult<Option<RecordingMedia>> {
        self.point.row(
            "SELECT r.id, r.blob_key, r.bytes, r.sha256, r.redaction_pending,
                    k.conversation_id, k.contact_id, k.started_at AS call_started_at,
                    c.name AS contact_name,
                    (SELECT json_group_array(a.user_id) FROM contact_assignments a
                     WHERE a.contact_id = k.contact_id) AS assigned
             FROM recordings r
             JOIN calls k ON k.id = r.call_id
             JOIN contacts c ON c.id = k.contact_id
             WHERE r.id = ?1",
            [id.to_string()],
            |row| {
                Ok(RecordingMedia {
                    id: row.parsed("id")?,
                    blob_key: row.text("blob_key")?,
                    redaction_pending: row.flag("redaction_pending")?,
                    bytes: row.unsigned("bytes")?,
                    sha256: row.text("sha256")?,
                    conversation_id: row.parsed("conversation_id")?,
                    contact_name: row.text("contact_name")?,
                    call_started_at: row.time("call_started_at")?,
                    access: Access {
                        contact_id: row.parsed("contact_id")?,
                        assigned: assigned_from_row(row)?,
                    },
                })
            },
        )
    }

    async fn recording_by_source_ref(&self, source_ref: &str) -> StoreResult<Option<RecordingId>> {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM recordings WHERE source_ref = ?")
                .bind(source_ref)
                .fetch_optional(&self.reader)
                .await
                .db()?;
        parse_id(id, "recording")
    }

    async fn blob_in_use(&self, key: &str) -> StoreResult<bool> {
        // Asked on the writer so the answer reflects every committed change, in order.
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recordings WHERE blob_key = ?")
            .bind(key)
            .fetch_one(&self.writer)
            .await
            .db()?;
        Ok(n > 0)
    }
}
