//! Transcripts, their segments, and full-text search over them (FTS5, kept in step with the
//! segments by triggers, so deleting a conversation leaves nothing searchable behind).

use async_trait::async_trait;
use callvault_core::RecordingId;
use time::OffsetDateTime;

use super::SqliteStore;
use super::codec::{RowExt, ms, scope_user};
use super::jobs::enqueue_in;
use crate::{
    NewJob, SearchHit, SearchQuery, StoreError, StoreResult, TRANSCRIBE, TranscriptRecord,
    TranscriptRequest, TranscriptSegment, TranscriptStatus, TranscriptStore,
};

/// Attempts at transcribing before the failure is kept.
const ATTEMPTS: u32 = 5;

fn seconds(ms: i64) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "milliseconds of a call")]
    let s = ms as f64 / 1000.0;
    s
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "seconds of a call in milliseconds"
)]
fn millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// A phrase as FTS5 reads it: quoted, so nothing typed is taken as query syntax.
fn phrase(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    (!words.is_empty()).then(|| format!("\"{}\"", words.join(" ").replace('"', "\"\"")))
}

/// Whether a transcribe job for the recording is queued or running.
async fn job_alive(conn: &mut sqlx::SqliteConnection, recording: RecordingId) -> StoreResult<bool> {
    let alive: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM jobs WHERE kind = ? AND state IN ('queued', 'running')
           AND json_extract(payload, '$.recording_id') = ? LIMIT 1",
    )
    .bind(TRANSCRIBE)
    .bind(recording.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(alive.is_some())
}

/// A transcript's status as users should see it: one queued or running whose job is gone
/// (buried after its worker kept dying, say) is as good as failed, so asking again queues it
/// anew rather than leaving it waiting forever.
pub(super) async fn effective_status(
    conn: &mut sqlx::SqliteConnection,
    recording: RecordingId,
    stored: TranscriptStatus,
) -> StoreResult<TranscriptStatus> {
    Ok(match stored {
        TranscriptStatus::Queued | TranscriptStatus::Running
            if !job_alive(conn, recording).await? =>
        {
            TranscriptStatus::Failed
        }
        other => other,
    })
}

/// Asks for a recording's transcript inside the caller's transaction (see
/// `TranscriptStore::request_transcript`).
pub(super) async fn request_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    recording: RecordingId,
    now: OffsetDateTime,
) -> StoreResult<TranscriptRequest> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM recordings WHERE id = ?")
        .bind(recording.to_string())
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM transcripts WHERE recording_id = ?")
            .bind(recording.to_string())
            .fetch_optional(&mut **tx)
            .await?;
    let status = match status.as_deref().and_then(TranscriptStatus::parse) {
        Some(stored) => Some(effective_status(tx, recording, stored).await?),
        None => None,
    };
    match status {
        Some(
            status
            @ (TranscriptStatus::Queued | TranscriptStatus::Running | TranscriptStatus::Done),
        ) => {
            return Ok(TranscriptRequest { status, job: None });
        }
        Some(TranscriptStatus::Failed) => {
            sqlx::query(
                "UPDATE transcripts SET status = 'queued', progress = 0, error = NULL, updated_at = ?
                 WHERE recording_id = ?",
            )
            .bind(ms(now))
            .bind(recording.to_string())
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO transcripts (id, recording_id, status, progress, created_at, updated_at)
                 VALUES (?, ?, 'queued', 0, ?, ?)",
            )
            .bind(callvault_core::TranscriptId::new().to_string())
            .bind(recording.to_string())
            .bind(ms(now))
            .bind(ms(now))
            .execute(&mut **tx)
            .await?;
        }
    }
    let job = NewJob {
        kind: TRANSCRIBE.to_owned(),
        payload: serde_json::json!({"recording_id": recording}),
        run_at: now,
        max_attempts: ATTEMPTS,
        // The transcript's status already keeps it to one live job; a key would also refuse
        // a new request in the moment between a job's last failure and its burial.
        dedupe_key: None,
    };
    let job = enqueue_in(tx, job, now).await?;
    Ok(TranscriptRequest {
        status: TranscriptStatus::Queued,
        job: Some(job),
    })
}

impl SqliteStore {
    /// Moves a transcript that is queued or running to `status`, setting its progress and
    /// error where given. A done transcript stays done.
    async fn move_unfinished(
        &self,
        recording: RecordingId,
        status: &str,
        progress: Option<f64>,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE transcripts SET status = ?, progress = COALESCE(?, progress),
                    error = COALESCE(?, error), updated_at = ?
             WHERE recording_id = ? AND status IN ('queued', 'running')",
        )
        .bind(status)
        .bind(progress)
        .bind(error)
        .bind(ms(now))
        .bind(recording.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl TranscriptStore for SqliteStore {
    async fn request_transcript(
        &self,
        recording: RecordingId,
        now: OffsetDateTime,
    ) -> StoreResult<TranscriptRequest> {
        let mut tx = self.write().await?;
        let asked = request_in(&mut tx, recording, now).await?;
        tx.commit().await?;
        Ok(asked)
    }

    async fn transcript(&self, recording: RecordingId) -> StoreResult<Option<TranscriptRecord>> {
        // One snapshot: the transcript and its job as they were at the same moment.
        let mut conn = self.reader.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT id, status, progress, language, error FROM transcripts WHERE recording_id = ?",
        )
        .bind(recording.to_string())
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Ok(None);
        };
        let status = super::codec::enum_col(&row, "status", TranscriptStatus::parse)?;
        let rows = sqlx::query(
            "SELECT start_ms, end_ms, speaker, text FROM transcript_segments WHERE transcript_id = ? ORDER BY idx",
        )
        .bind(row.text("id")?)
        .fetch_all(&mut *conn)
        .await?;
        let segments = rows
            .iter()
            .map(|r| {
                Ok(TranscriptSegment {
                    start: seconds(r.int("start_ms")?),
                    end: seconds(r.int("end_ms")?),
                    speaker: r.text("speaker")?,
                    text: r.text("text")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let progress: f64 = sqlx::Row::try_get(&row, "progress")?;
        let mut error = row.opt_text("error")?;
        let effective = effective_status(&mut conn, recording, status).await?;
        if effective != status {
            // Its job is gone without a word: say so.
            error = Some(error.unwrap_or_else(|| {
                "the transcription stopped before it finished; ask for it again".to_owned()
            }));
        }
        let status = effective;
        conn.commit().await?;
        Ok(Some(TranscriptRecord {
            status,
            progress,
            language: row.opt_text("language")?,
            error,
            segments,
        }))
    }

    async fn transcript_running(
        &self,
        recording: RecordingId,
        progress: f64,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.move_unfinished(
            recording,
            "running",
            Some(progress.clamp(0.0, 1.0)),
            None,
            now,
        )
        .await
    }

    async fn transcript_done(
        &self,
        recording: RecordingId,
        language: &str,
        segments: &[TranscriptSegment],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.write().await?;
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM transcripts WHERE recording_id = ?")
                .bind(recording.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let id = id.ok_or(StoreError::NotFound)?;
        sqlx::query("DELETE FROM transcript_segments WHERE transcript_id = ?")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        for (idx, s) in segments.iter().enumerate() {
            sqlx::query(
                "INSERT INTO transcript_segments (transcript_id, idx, start_ms, end_ms, speaker, text) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&id)
            .bind(i64::try_from(idx).unwrap_or(i64::MAX))
            .bind(millis(s.start))
            .bind(millis(s.end))
            .bind(&s.speaker)
            .bind(&s.text)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE transcripts SET status = 'done', progress = 1, language = ?, error = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(language)
        .bind(ms(now))
        .bind(&id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transcript_retrying(
        &self,
        recording: RecordingId,
        error: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.move_unfinished(recording, "queued", Some(0.0), Some(error), now)
            .await
    }

    async fn transcript_failed(
        &self,
        recording: RecordingId,
        error: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.move_unfinished(recording, "failed", None, Some(error), now)
            .await
    }

    async fn search_transcripts(&self, query: SearchQuery) -> StoreResult<Vec<SearchHit>> {
        let Some(phrase) = phrase(&query.text) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT r.id AS recording_id, k.conversation_id, k.id AS call_id, c.name AS contact_name,
                    k.started_at, s.start_ms, s.end_ms, s.speaker,
                    snippet(transcript_segments_fts, 0, '[', ']', '…', 16) AS snippet
             FROM transcript_segments_fts f
             JOIN transcript_segments s ON s.id = f.rowid
             JOIN transcripts t ON t.id = s.transcript_id
             JOIN recordings r ON r.id = t.recording_id
             JOIN calls k ON k.id = r.call_id
             JOIN contacts c ON c.id = k.contact_id
             WHERE transcript_segments_fts MATCH ?1
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM contact_assignments a
                                          WHERE a.contact_id = c.id AND a.user_id = ?2))
             ORDER BY k.started_at DESC, s.start_ms
             LIMIT ?3",
        )
        .bind(phrase)
        .bind(scope_user(query.scope))
        .bind(i64::from(query.limit.clamp(1, crate::MAX_SEARCH_HITS)))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SearchHit {
                    recording_id: r.parsed("recording_id")?,
                    conversation_id: r.parsed("conversation_id")?,
                    call_id: r.parsed("call_id")?,
                    contact_name: r.text("contact_name")?,
                    call_started_at: r.time("started_at")?,
                    start: seconds(r.int("start_ms")?),
                    end: seconds(r.int("end_ms")?),
                    speaker: r.text("speaker")?,
                    snippet: r.text("snippet")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::phrase;

    #[test]
    fn typed_text_becomes_a_quoted_phrase() {
        assert_eq!(
            phrase("  look up  your \"account\" ").as_deref(),
            Some("\"look up your \"\"account\"\"\"")
        );
        assert_eq!(phrase("   "), None);
        assert_eq!(
            phrase("NEAR(a b) OR c*").as_deref(),
            Some("\"NEAR(a b) OR c*\"")
        );
    }
}
