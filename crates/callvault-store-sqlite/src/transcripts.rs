//! Transcripts, their segments, and full-text search over them (FTS5, kept in step with the
//! segments by triggers, so deleting a conversation leaves nothing searchable behind).

use async_trait::async_trait;
use callvault_core::RecordingId;
use time::OffsetDateTime;

use callvault_core::JobId;
use callvault_core::permissions::ContactScope;
use callvault_store::rules::STOPPED_TRANSCRIPT;
use callvault_store::{
    Conflict, JobSpec, MAX_SEARCH_HITS, RedactedAudio, SearchHit, SearchQuery, StoreError,
    StoreResult, TranscriptRecord, TranscriptRequest, TranscriptSegment, TranscriptStatus,
    TranscriptStore, mark_phrase,
};
use sqlx::{QueryBuilder, Sqlite};

use crate::SqliteStore;
use crate::codec::{Db, RowExt, enum_col, ms};
use crate::steps::{adopt_guard_in, enqueue_in, request_transcript_in, transcript_status};

/// Up to this many hits are ordered from the index; a phrase with more is found walking the
/// segments newest first, where a page fills soon.
const FEW_HITS: i64 = 2_000;

/// A phrase as FTS5 reads it: quoted, so nothing typed is taken as query syntax.
fn phrase(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    (!words.is_empty()).then(|| format!("\"{}\"", words.join(" ").replace('"', "\"\"")))
}

/// Stores a transcript's segments (replacing any) and marks it done, in `tx`.
async fn store_transcript_in(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    recording: RecordingId,
    language: &str,
    segments: &[TranscriptSegment],
    now: OffsetDateTime,
) -> StoreResult<()> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT id FROM transcripts WHERE recording_id = ?")
            .bind(recording.to_string())
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    let id = id.ok_or(StoreError::NotFound)?;
    sqlx::query("DELETE FROM transcript_segments WHERE transcript_id = ?")
        .bind(&id)
        .execute(&mut **tx)
        .await
        .db()?;
    for (idx, s) in segments.iter().enumerate() {
        sqlx::query(
                "INSERT INTO transcript_segments (transcript_id, idx, start_ms, end_ms, channel, speaker, text) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&id)
            .bind(i64::try_from(idx).unwrap_or(i64::MAX))
            .bind(TranscriptSegment::millis(s.start))
            .bind(TranscriptSegment::millis(s.end))
            .bind(s.channel.map(i64::from))
            .bind(&s.speaker)
            .bind(&s.text)
            .execute(&mut **tx)
            .await.db()?;
    }
    sqlx::query(
            "UPDATE transcripts SET status = 'done', progress = 1, language = ?, error = NULL, updated_at = ? WHERE id = ?",
        )
        .bind(language)
        .bind(ms(now))
        .bind(&id)
        .execute(&mut **tx)
        .await.db()?;
    Ok(())
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
        .await
        .db()?;
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
        let asked = request_transcript_in(&mut tx, recording, now).await?;
        tx.commit().await.db()?;
        Ok(asked)
    }

    async fn transcript(&self, recording: RecordingId) -> StoreResult<Option<TranscriptRecord>> {
        // One snapshot: the transcript and its job as they were at the same moment.
        let mut conn = self.reader.begin().await.db()?;
        let Some(row) = sqlx::query(
            "SELECT id, status, progress, language, error FROM transcripts WHERE recording_id = ?",
        )
        .bind(recording.to_string())
        .fetch_optional(&mut *conn)
        .await
        .db()?
        else {
            return Ok(None);
        };
        let status = enum_col(&row, "status", TranscriptStatus::parse)?;
        let rows = sqlx::query(
            "SELECT start_ms, end_ms, channel, speaker, text FROM transcript_segments WHERE transcript_id = ? ORDER BY idx",
        )
        .bind(row.text("id")?)
        .fetch_all(&mut *conn)
        .await.db()?;
        let segments = rows
            .iter()
            .map(|r| {
                Ok(TranscriptSegment {
                    start: TranscriptSegment::seconds(r.int("start_ms")?),
                    end: TranscriptSegment::seconds(r.int("end_ms")?),
                    channel: r.opt_int("channel")?.and_then(|c| u16::try_from(c).ok()),
                    speaker: r.text("speaker")?,
                    text: r.text("text")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let progress: f64 = sqlx::Row::try_get(&row, "progress").db()?;
        let mut error = row.opt_text("error")?;
        let effective = transcript_status(&mut conn, recording)
            .await?
            .unwrap_or(status);
        if effective != status {
            // Its job is gone without a word: say so.
            error = Some(error.unwrap_or_else(|| STOPPED_TRANSCRIPT.to_owned()));
        }
        let status = effective;
        conn.commit().await.db()?;
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
        store_transcript_in(&mut tx, recording, language, segments, now).await?;
        // The pass that redaction waited for found nothing to hide.
        sqlx::query("UPDATE recordings SET redaction_pending = 0 WHERE id = ?")
            .bind(recording.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(())
    }

    async fn transcript_redacted(
        &self,
        recording: RecordingId,
        language: &str,
        segments: &[TranscriptSegment],
        audio: RedactedAudio,
        now: OffsetDateTime,
    ) -> StoreResult<JobId> {
        let mut tx = self.write().await?;
        store_transcript_in(&mut tx, recording, language, segments, now).await?;
        let spans = serde_json::to_string(&audio.spans).map_err(StoreError::backend)?;
        let peaks = serde_json::to_string(&audio.peaks).map_err(StoreError::backend)?;
        let swapped = sqlx::query(
            "UPDATE recordings SET blob_key = ?, bytes = ?, sha256 = ?, peaks = ?, redactions = ?,
                    redaction_pending = 0
             WHERE id = ? AND blob_key = ?",
        )
        .bind(&audio.blob_key)
        .bind(i64::try_from(audio.bytes).unwrap_or(i64::MAX))
        .bind(&audio.sha256)
        .bind(peaks)
        .bind(spans)
        .bind(recording.to_string())
        .bind(&audio.replaces)
        .execute(&mut *tx)
        .await
        .db()?;
        if swapped.rows_affected() == 0 {
            return Err(Conflict::UploadExpired.into());
        }
        adopt_guard_in(&mut tx, audio.guard).await?;
        let cleanup = enqueue_in(
            &mut tx,
            JobSpec::CollectBlob {
                key: audio.replaces,
            }
            .at(now),
            now,
        )
        .await?;
        tx.commit().await.db()?;
        Ok(cleanup)
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
        let mut conn = self.reader.acquire().await.db()?;
        let hits: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT rowid FROM transcript_segments_fts
                                   WHERE transcript_segments_fts MATCH ? LIMIT ?)",
        )
        .bind(&phrase)
        .bind(FEW_HITS + 1)
        .fetch_one(&mut *conn)
        .await
        .db()?;
        // The hits are chosen and ordered from the segments alone (each carries its call's
        // start and contact); only the page is joined to its call and contact. A phrase with
        // few hits is ordered from them; one with many is found walking the segments newest
        // call first (a restricted user's: theirs), testing each against the hits, which the
        // unary + keeps SQLite from using to look rows up instead.
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT r.id AS recording_id, k.conversation_id, k.id AS call_id, c.name AS contact_name,
                    k.started_at, s.start_ms, s.end_ms, s.speaker, s.text
             FROM (SELECT s.id, s.transcript_id, s.idx, s.start_ms, s.end_ms, s.speaker, s.text,
                          s.call_started_at",
        );
        match (hits <= FEW_HITS, query.scope) {
            (true, scope) => {
                sql.push(
                    " FROM transcript_segments_fts f
                      JOIN transcript_segments s ON s.id = f.rowid
                      WHERE transcript_segments_fts MATCH ",
                )
                .push_bind(phrase);
                if let ContactScope::AssignedTo(user) = scope {
                    sql.push(
                        " AND EXISTS (SELECT 1 FROM contact_assignments a
                                      WHERE a.contact_id = s.contact_id AND a.user_id = ",
                    )
                    .push_bind(user.to_string())
                    .push(")");
                }
            }
            (false, ContactScope::AssignedTo(user)) => {
                sql.push(
                    " FROM contact_assignments a CROSS JOIN transcript_segments s
                      WHERE s.contact_id = a.contact_id AND a.user_id = ",
                )
                .push_bind(user.to_string())
                .push(
                    " AND +s.id IN (SELECT rowid FROM transcript_segments_fts
                                    WHERE transcript_segments_fts MATCH ",
                )
                .push_bind(phrase)
                .push(")");
            }
            (false, ContactScope::All) => {
                sql.push(
                    " FROM transcript_segments s
                      WHERE +s.id IN (SELECT rowid FROM transcript_segments_fts
                                      WHERE transcript_segments_fts MATCH ",
                )
                .push_bind(phrase)
                .push(")");
            }
        }
        sql.push(" ORDER BY s.call_started_at DESC, s.start_ms, s.transcript_id, s.idx LIMIT ")
            .push_bind(i64::from(query.limit.clamp(1, MAX_SEARCH_HITS)))
            .push(
                ") s
                 JOIN transcripts t ON t.id = s.transcript_id
                 JOIN recordings r ON r.id = t.recording_id
                 JOIN calls k ON k.id = r.call_id
                 JOIN contacts c ON c.id = k.contact_id
                 ORDER BY s.call_started_at DESC, s.start_ms, s.transcript_id, s.idx",
            );
        let rows = sql.build().fetch_all(&mut *conn).await.db()?;
        rows.iter()
            .map(|r| {
                Ok(SearchHit {
                    recording_id: r.parsed("recording_id")?,
                    conversation_id: r.parsed("conversation_id")?,
                    call_id: r.parsed("call_id")?,
                    contact_name: r.text("contact_name")?,
                    call_started_at: r.time("started_at")?,
                    start: TranscriptSegment::seconds(r.int("start_ms")?),
                    end: TranscriptSegment::seconds(r.int("end_ms")?),
                    speaker: r.text("speaker")?,
                    snippet: mark_phrase(&r.text("text")?, &query.text),
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
