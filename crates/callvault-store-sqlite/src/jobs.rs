//! The durable job queue: due jobs are leased to one worker at a time (the single writer makes
//! each claim atomic); a lease that runs out (the worker died) makes the job available again.

use async_trait::async_trait;
use callvault_core::JobId;
use callvault_store::{Job, JobKind, JobSpec, JobState, JobStore, NewJob, StoreError, StoreResult};
use sqlx::sqlite::SqliteRow;
use time::{Duration, OffsetDateTime};

use crate::SqliteStore;
use crate::codec::{Db, RowExt, enum_col, from_ms, json_list, ms};
use crate::steps::{Tx, enqueue_in};

/// The columns `job_from_row` reads.
macro_rules! job_columns {
    () => {
        "id, kind, payload, state, attempts, max_attempts, run_at, last_error"
    };
}

fn job_from_row(row: &SqliteRow) -> StoreResult<Job> {
    Ok(Job {
        id: row.parsed("id")?,
        spec: JobSpec::decode(&row.text("kind")?, &row.text("payload")?)?,
        state: enum_col(row, "state", JobState::parse)?,
        attempts: row.unsigned("attempts")?,
        max_attempts: row.unsigned("max_attempts")?,
        run_at: row.time("run_at")?,
        last_error: row.opt_text("last_error")?,
    })
}

fn names(kinds: &[JobKind]) -> String {
    json_list(&kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>())
}

/// `NotFound` when an update touched no job: it was not (or no longer) in the state asked for.
fn found(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Keeps a job that cannot be read (written by a newer build, say) as dead, with why.
async fn bury(tx: &mut Tx, id: &str, why: &str, now: OffsetDateTime) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'dead', lease_until = NULL, worker = NULL, dedupe_key = NULL,
                         last_error = ?, updated_at = ? WHERE id = ?",
    )
    .bind(why)
    .bind(ms(now))
    .bind(id)
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(())
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue(&self, job: NewJob, now: OffsetDateTime) -> StoreResult<JobId> {
        let mut tx = self.write().await?;
        let id = enqueue_in(&mut tx, job, now).await?;
        tx.commit().await.db()?;
        Ok(id)
    }

    async fn claim_next(
        &self,
        kinds: &[JobKind],
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> StoreResult<Option<Job>> {
        let mut tx = self.write().await?;
        // A job whose worker keeps dying (its lease runs out) must not be retried forever.
        // A transcription buried so says so, rather than staying queued for ever.
        sqlx::query(
            "UPDATE transcripts SET status = 'failed', updated_at = ?1,
                    error = 'the transcription stopped with its worker too many times'
             WHERE status IN ('queued', 'running')
               AND recording_id IN (
                   SELECT json_extract(payload, '$.recording_id') FROM jobs
                    WHERE kind = 'transcribe' AND state = 'running' AND lease_until <= ?1
                      AND attempts >= max_attempts
                      AND kind IN (SELECT value FROM json_each(?2)))",
        )
        .bind(ms(now))
        .bind(names(kinds))
        .execute(&mut *tx)
        .await
        .db()?;
        sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_until = NULL, worker = NULL, updated_at = ?1, dedupe_key = NULL,
                             last_error = COALESCE(last_error || '; ', '') ||
                                          'the worker stopped while running it, ' || attempts || ' times'
             WHERE state = 'running' AND lease_until <= ?1 AND attempts >= max_attempts
               AND kind IN (SELECT value FROM json_each(?2))",
        )
        .bind(ms(now))
        .bind(names(kinds))
        .execute(&mut *tx)
        .await
        .db()?;
        let job = loop {
            let row = sqlx::query(concat!(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?1,
                                 worker = ?2, updated_at = ?3
                 WHERE id = (SELECT id FROM jobs
                             WHERE kind IN (SELECT value FROM json_each(?4))
                               AND ((state = 'queued' AND run_at <= ?3)
                                    OR (state = 'running' AND lease_until <= ?3))
                             ORDER BY run_at, id LIMIT 1)
                 RETURNING ",
                job_columns!()
            ))
            .bind(ms(now + lease))
            .bind(worker)
            .bind(ms(now))
            .bind(names(kinds))
            .fetch_optional(&mut *tx)
            .await
            .db()?;
            let Some(row) = row else { break None };
            match job_from_row(&row) {
                Ok(job) => break Some(job),
                Err(e) => bury(&mut tx, &row.text("id")?, &e.to_string(), now).await?,
            }
        };
        tx.commit().await.db()?;
        Ok(job)
    }

    async fn claim(
        &self,
        id: JobId,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> StoreResult<Option<Job>> {
        let row = sqlx::query(concat!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?1,
                             worker = ?2, updated_at = ?3
             WHERE id = ?4 AND attempts < max_attempts
               AND ((state = 'queued' AND run_at <= ?3) OR (state = 'running' AND lease_until <= ?3))
             RETURNING ",
            job_columns!()
        ))
        .bind(ms(now + lease))
        .bind(worker)
        .bind(ms(now))
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await
        .db()?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn heartbeat(&self, id: JobId, worker: &str, until: OffsetDateTime) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = ? WHERE id = ? AND worker = ? AND state = 'running'",
        )
        .bind(ms(until))
        .bind(id.to_string())
        .bind(worker)
        .execute(&self.writer)
        .await
        .db()?;
        found(done.rows_affected())
    }

    async fn complete(&self, id: JobId, worker: &str) -> StoreResult<()> {
        let done =
            sqlx::query("DELETE FROM jobs WHERE id = ? AND worker = ? AND state = 'running'")
                .bind(id.to_string())
                .bind(worker)
                .execute(&self.writer)
                .await
                .db()?;
        found(done.rows_affected())
    }

    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE jobs SET
                state = CASE WHEN ?1 IS NULL OR attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                dedupe_key = CASE WHEN ?1 IS NULL OR attempts >= max_attempts THEN NULL ELSE dedupe_key END,
                run_at = COALESCE(?1, run_at),
                lease_until = NULL, worker = NULL, last_error = ?2, updated_at = ?3
             WHERE id = ?4 AND worker = ?5 AND state = 'running'",
        )
        .bind(retry_at.map(ms))
        .bind(error)
        .bind(ms(now))
        .bind(id.to_string())
        .bind(worker)
        .execute(&self.writer)
        .await
        .db()?;
        found(done.rows_affected())
    }

    async fn release(&self, id: JobId, worker: &str, now: OffsetDateTime) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), run_at = ?1,
                             lease_until = NULL, worker = NULL, updated_at = ?1
             WHERE id = ?2 AND worker = ?3 AND state = 'running'",
        )
        .bind(ms(now))
        .bind(id.to_string())
        .bind(worker)
        .execute(&self.writer)
        .await
        .db()?;
        found(done.rows_affected())
    }

    async fn cancel(&self, id: JobId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM jobs WHERE id = ? AND state = 'queued'")
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .db()?;
        found(done.rows_affected())
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .db()?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn pending_jobs(&self, kind: JobKind) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = ? AND state IN ('queued', 'running')",
        )
        .bind(kind.as_str())
        .fetch_one(&self.reader)
        .await
        .db()?;
        u64::try_from(n).map_err(|_| StoreError::corrupt("negative count"))
    }

    async fn next_due(&self, kinds: &[JobKind]) -> StoreResult<Option<OffsetDateTime>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE state WHEN 'queued' THEN run_at ELSE lease_until END) FROM jobs
             WHERE kind IN (SELECT value FROM json_each(?)) AND state IN ('queued', 'running')",
        )
        .bind(names(kinds))
        .fetch_one(&self.reader)
        .await
        .db()?;
        at.map(from_ms).transpose()
    }
}
