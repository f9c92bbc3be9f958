//! Transcripts, their segments, and full-text search over them: each segment stores its words
//! without accents as a `tsvector` (GIN-indexed); a search is a phrase of the typed words.

use async_trait::async_trait;
use callvault_core::JobId;
use callvault_core::RecordingId;
use callvault_core::permissions::ContactScope;
use callvault_store::rules::STOPPED_TRANSCRIPT;
use callvault_store::{
    Conflict, JobSpec, MAX_SEARCH_HITS, RedactedAudio, SearchHit, SearchQuery, StoreError,
    StoreResult, TranscriptRecord, TranscriptRequest, TranscriptSegment, TranscriptStatus,
    TranscriptStore, mark_phrase,
};
use sqlx::{AssertSqlSafe, PgConnection, Postgres, QueryBuilder, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::{Db, RowExt, enum_col};
use crate::inbox::push_assigned;
use crate::planning::{estimated_rows, fetch_planned, pin_plan_with};
use crate::steps::{adopt_guard_in, enqueue_in, request_transcript_in, transcript_status};

/// Stores a transcript's segments (replacing any) and marks it done, in `tx`.
async fn store_transcript_in(
    tx: &mut PgConnection,
    recording: RecordingId,
    language: &str,
    segments: &[TranscriptSegment],
    now: OffsetDateTime,
) -> StoreResult<()> {
    let id: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM transcripts WHERE recording_id = $1 FOR UPDATE")
            .bind(recording.0)
            .fetch_optional(&mut *tx)
            .await
            .db()?;
    let id = id.ok_or(StoreError::NotFound)?;
    sqlx::query("DELETE FROM transcript_segments WHERE transcript_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .db()?;
    if !segments.is_empty() {
        // One statement for the whole transcript.
        let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
            "INSERT INTO transcript_segments (transcript_id, idx, start_ms, end_ms, channel, speaker, text, search) ",
        );
        sql.push_values(segments.iter().enumerate(), |mut row, (idx, s)| {
            row.push_bind(id)
                .push_bind(i32::try_from(idx).unwrap_or(i32::MAX))
                .push_bind(TranscriptSegment::millis(s.start))
                .push_bind(TranscriptSegment::millis(s.end))
                .push_bind(s.channel.map(i32::from))
                .push_bind(s.speaker.clone())
                .push_bind(s.text.clone())
                .push("to_tsvector('simple', unaccent(")
                .push_bind_unseparated(s.text.clone())
                .push_unseparated("))");
        });
        sql.build().execute(&mut *tx).await.db()?;
    }
    sqlx::query(
        "UPDATE transcripts SET status = 'done', progress = 1, language = $1, error = NULL,
                    updated_at = $2
             WHERE id = $3",
    )
    .bind(language)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await
    .db()?;
    Ok(())
}

/// Up to this many hits (estimated) are ordered from the index; a phrase with more is found
/// walking the segments newest first.
const FEW_HITS: i64 = 2_000;

/// How a walk joins: each segment to its call by index, never a hash or merge of all of them.
const WALK_JOINS: &str = "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";

/// The newest segments tested to estimate how many a phrase is in.
const SAMPLE_SEGMENTS: i64 = 2_000;

/// Opens the phrase's query, closed by the phrase and `)))`: a subquery, so it is made once per
/// statement, where inline it was made again for every segment tested (3 µs each, most of a
/// walk's time).
const PHRASE_ONCE: &str = "(SELECT phraseto_tsquery('simple', unaccent(";

/// Whether a phrase is in few enough segments to order them all from the index, estimated
/// from the newest segments. Counting the hits themselves costs more than either plan: the
/// index cannot tell a phrase from its words in any order, so each counted hit is read and
/// tested (15 ms to count 2,000 of a common phrase's). The planner's count of segments comes
/// in the same round trip.
async fn phrase_is_rare(conn: &mut PgConnection, phrase: &str) -> StoreResult<bool> {
    let (tested, matched, estimate): (i64, i64, f32) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE s.search @@ {PHRASE_ONCE}$1)))),
                (SELECT reltuples FROM pg_class WHERE oid = 'transcript_segments'::regclass)
         FROM (SELECT search FROM transcript_segments
               ORDER BY call_started_at DESC, start_ms, transcript_id, idx LIMIT $2) s"
    )))
    .bind(phrase)
    .bind(SAMPLE_SEGMENTS)
    .persistent(false)
    .fetch_one(&mut *conn)
    .await
    .db()?;
    if tested < SAMPLE_SEGMENTS {
        // The sample was every segment.
        return Ok(matched <= FEW_HITS);
    }
    let total = if estimate >= 0.0 {
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a row count far below i64::MAX"
        )]
        let total = estimate as i64;
        total
    } else {
        // Never analysed yet.
        estimated_rows(conn, "transcript_segments").await?
    };
    let total = total.max(tested);
    Ok(matched.saturating_mul(total) / tested <= FEW_HITS)
}

impl PostgresStore {
    /// Moves a transcript that is queued or running to `status`, setting its progress and
    /// error where given. A done transcript stays done.
    async fn move_unfinished(
        &self,
        recording: RecordingId,
        status: TranscriptStatus,
        progress: Option<f64>,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE transcripts SET status = $1, progress = COALESCE($2, progress),
                    error = COALESCE($3, error), updated_at = $4
             WHERE recording_id = $5 AND status IN ('queued', 'running')",
        )
        .bind(status.as_str())
        .bind(progress)
        .bind(error)
        .bind(now)
        .bind(recording.0)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }
}

#[async_trait]
impl TranscriptStore for PostgresStore {
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
        let mut tx = self.pool.begin().await.db()?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .db()?;
        let Some(row) = sqlx::query(
            "SELECT id, status, progress, language, error FROM transcripts WHERE recording_id = $1",
        )
        .bind(recording.0)
        .fetch_optional(&mut *tx)
        .await
        .db()?
        else {
            return Ok(None);
        };
        let status = enum_col(&row, "status", TranscriptStatus::parse)?;
        let id: Uuid = row.id("id")?;
        let rows = sqlx::query(
            "SELECT start_ms, end_ms, channel, speaker, text FROM transcript_segments
             WHERE transcript_id = $1 ORDER BY idx",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .db()?;
        let segments = rows
            .iter()
            .map(|r| {
                Ok(TranscriptSegment {
                    start: TranscriptSegment::seconds(r.int("start_ms")?),
                    end: TranscriptSegment::seconds(r.int("end_ms")?),
                    channel: r
                        .try_get::<Option<i32>, _>("channel")
                        .db()?
                        .and_then(|c| u16::try_from(c).ok()),
                    speaker: r.text("speaker")?,
                    text: r.text("text")?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let progress: f64 = row.try_get("progress").db()?;
        let mut error = row.opt_text("error")?;
        let effective = transcript_status(&mut tx, recording)
            .await?
            .unwrap_or(status);
        if effective != status {
            // Its job is gone without a word: say so.
            error = Some(error.unwrap_or_else(|| STOPPED_TRANSCRIPT.to_owned()));
        }
        Ok(Some(TranscriptRecord {
            status: effective,
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
            TranscriptStatus::Running,
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
        sqlx::query("UPDATE recordings SET redaction_pending = false WHERE id = $1")
            .bind(recording.0)
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
            "UPDATE recordings SET blob_key = $1, bytes = $2, sha256 = $3, peaks = $4,
                    redactions = $5, redaction_pending = false
             WHERE id = $6 AND blob_key = $7",
        )
        .bind(&audio.blob_key)
        .bind(i64::try_from(audio.bytes).unwrap_or(i64::MAX))
        .bind(&audio.sha256)
        .bind(peaks)
        .bind(spans)
        .bind(recording.0)
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
        self.move_unfinished(
            recording,
            TranscriptStatus::Queued,
            Some(0.0),
            Some(error),
            now,
        )
        .await
    }

    async fn transcript_failed(
        &self,
        recording: RecordingId,
        error: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.move_unfinished(recording, TranscriptStatus::Failed, None, Some(error), now)
            .await
    }

    async fn search_transcripts(&self, query: SearchQuery) -> StoreResult<Vec<SearchHit>> {
        if query.text.split_whitespace().next().is_none() {
            return Ok(Vec::new());
        }
        // Every plan here reads from an index, the sample too. (The BEGIN and this setting go
        // with the sample's statement, in one round trip.)
        let mut tx = self
            .pool
            .begin_with("BEGIN READ ONLY; SET LOCAL enable_seqscan = off")
            .await
            .db()?;
        let few = phrase_is_rare(&mut tx, &query.text).await?;
        // A walk: newest first, or, for a restricted user, through their contacts' segments.
        // Left to itself the planner reads every hit and sorts them (90 ms for a phrase in 5%
        // of 200,000 segments, against 3 ms walking).
        pin_plan_with(&mut tx, few, (!few).then_some(WALK_JOINS)).await?;
        // The hits are chosen and ordered from the segments alone (each carries its call's
        // start and contact); only the page is joined. A phrase with few hits is ordered from
        // the GIN index; one with many is found walking the segments newest call first (a
        // restricted user's: theirs), where a page fills soon. The plan is pinned: the
        // planner's guess at a phrase's frequency is too rough to choose between them.
        let mut sql: QueryBuilder<Postgres> = QueryBuilder::new(
            "SELECT r.id AS recording_id, k.conversation_id, k.id AS call_id, c.name AS contact_name,
                    k.started_at, s.start_ms, s.end_ms, s.speaker, s.text
             FROM (SELECT s.transcript_id, s.idx, s.start_ms, s.end_ms, s.speaker, s.text,
                          s.call_started_at",
        );
        let phrase = |sql: &mut QueryBuilder<Postgres>| {
            sql.push(" AND s.search @@ ")
                .push(PHRASE_ONCE)
                .push_bind(query.text.clone())
                .push(")))");
        };
        match (few, query.scope) {
            (false, ContactScope::AssignedTo(user)) => {
                // Their contacts' segments, in one scan of the contact index for the array of
                // their contacts: a join would search the index once per contact (15 ms for
                // 5,000 against 6 ms), and walking everyone's segments tests each against the
                // assignments, slow when the user has few contacts.
                sql.push(
                    " FROM transcript_segments s
                      WHERE s.contact_id = ANY(ARRAY(
                          SELECT contact_id FROM contact_assignments WHERE user_id = ",
                )
                .push_bind(user.0)
                .push("))");
                phrase(&mut sql);
            }
            (false, ContactScope::All) => {
                sql.push(" FROM transcript_segments s WHERE true");
                phrase(&mut sql);
            }
            (true, scope) => {
                // Every hit, from the index, first (a CTE kept as it is): with the phrase's
                // query made in a subquery the planner cannot guess how many there are, and
                // may walk every segment in order instead.
                sql.push(
                    " FROM (WITH hits AS MATERIALIZED (
                          SELECT s.transcript_id, s.idx, s.start_ms, s.end_ms, s.speaker, s.text,
                                 s.call_started_at, s.contact_id
                          FROM transcript_segments s WHERE true",
                );
                phrase(&mut sql);
                sql.push(") SELECT * FROM hits) s WHERE true");
                if let ContactScope::AssignedTo(user) = scope {
                    push_assigned(&mut sql, "s.contact_id", user);
                }
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
        let rows = fetch_planned(&mut sql, &mut tx).await?;
        tx.commit().await.db()?;
        rows.iter()
            .map(|r| {
                Ok(SearchHit {
                    recording_id: r.id("recording_id")?,
                    conversation_id: r.id("conversation_id")?,
                    call_id: r.id("call_id")?,
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
