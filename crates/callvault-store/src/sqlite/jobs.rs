//! The durable job queue: due jobs are leased to one worker at a time; a lease that runs out
//! (the worker died) makes the job available again.

use async_trait::async_trait;
use callvault_core::JobId;
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, Transaction};
use time::{Duration, OffsetDateTime};

use super::SqliteStore;
use super::codec::{RowExt, json_list, ms};
use crate::{Job, JobState, JobStore, NewJob, StoreError, StoreResult};

fn job_from_row(row: &SqliteRow) -> StoreResult<Job> {
    let state = match row.text("state")?.as_str() {
        "queued" => JobState::Queued,
        "running" => JobState::Running,
        "dead" => JobState::Dead,
        other => return Err(StoreError::corrupt(format!("bad job state {other:?}"))),
    };
    Ok(Job {
        id: row.parsed("id")?,
        kind: row.text("kind")?,
        payload: serde_json::from_str(&row.text("payload")?)
            .map_err(|e| StoreError::corrupt(e.to_string()))?,
        state,
        attempts: row.unsigned("attempts")?,
        max_attempts: row.unsigned("max_attempts")?,
        run_at: row.time("run_at")?,
        last_error: row.opt_text("last_error")?,
    })
}

/// Enqueues a job inside a caller's transaction, so it exists exactly when the caller's
/// change does.
pub(super) async fn enqueue_in(
    tx: &mut Transaction<'static, Sqlite>,
    job: NewJob,
    now: OffsetDateTime,
) -> StoreResult<JobId> {
    let id = JobId::new();
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, max_attempts, run_at, created_at, updated_at, dedupe_key)
         VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(&job.kind)
    .bind(job.payload.to_string())
    .bind(i64::from(job.max_attempts.max(1)))
    .bind(ms(job.run_at))
    .bind(ms(now))
    .bind(ms(now))
    .bind(&job.dedupe_key)
    .execute(&mut **tx)
    .await
    .map_err(|e| super::conflict_on_unique(e, "duplicate_job"))?;
    Ok(id)
}

/// `NotFound` when an update touched no job: it was not (or no longer) in the state asked for.
fn found(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue(&self, job: NewJob, now: OffsetDateTime) -> StoreResult<JobId> {
        let mut tx = self.write().await?;
        let id = enqueue_in(&mut tx, job, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn claim_next(
        &self,
        kinds: &[&str],
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> StoreResult<Option<Job>> {
        let mut tx = self.write().await?;
        // A job whose worker keeps dying (its lease runs out) must not be retried forever.
        sqlx::query(
            "UPDATE jobs SET state = 'dead', lease_until = NULL, worker = NULL, updated_at = ?1, dedupe_key = NULL,
                             last_error = COALESCE(last_error || '; ', '') ||
                                          'the worker stopped while running it, ' || attempts || ' times'
             WHERE state = 'running' AND lease_until <= ?1 AND attempts >= max_attempts
               AND kind IN (SELECT value FROM json_each(?2))",
        )
        .bind(ms(now))
        .bind(json_list(kinds))
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?1,
                             worker = ?2, updated_at = ?3
             WHERE id = (SELECT id FROM jobs
                         WHERE kind IN (SELECT value FROM json_each(?4))
                           AND ((state = 'queued' AND run_at <= ?3)
                                OR (state = 'running' AND lease_until <= ?3))
                         ORDER BY run_at, id LIMIT 1)
             RETURNING id, kind, payload, state, attempts, max_attempts, run_at, last_error",
        )
        .bind(ms(now + lease))
        .bind(worker)
        .bind(ms(now))
        .bind(json_list(kinds))
        .fetch_optional(&mut *tx)
        .await?;
        let job = row.as_ref().map(job_from_row).transpose()?;
        tx.commit().await?;
        Ok(job)
    }

    async fn claim(
        &self,
        id: JobId,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> StoreResult<Option<Job>> {
        let row = sqlx::query(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = ?1,
                             worker = ?2, updated_at = ?3
             WHERE id = ?4 AND attempts < max_attempts
               AND ((state = 'queued' AND run_at <= ?3) OR (state = 'running' AND lease_until <= ?3))
             RETURNING id, kind, payload, state, attempts, max_attempts, run_at, last_error",
        )
        .bind(ms(now + lease))
        .bind(worker)
        .bind(ms(now))
        .bind(id.to_string())
        .fetch_optional(&self.writer)
        .await?;
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
        .await?;
        found(done.rows_affected())
    }

    async fn complete(&self, id: JobId, worker: &str) -> StoreResult<()> {
        let done =
            sqlx::query("DELETE FROM jobs WHERE id = ? AND worker = ? AND state = 'running'")
                .bind(id.to_string())
                .bind(worker)
                .execute(&self.writer)
                .await?;
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
        .await?;
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
        .await?;
        found(done.rows_affected())
    }

    async fn cancel(&self, id: JobId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM jobs WHERE id = ? AND state = 'queued'")
            .bind(id.to_string())
            .execute(&self.writer)
            .await?;
        found(done.rows_affected())
    }

    async fn job(&self, id: JobId) -> StoreResult<Option<Job>> {
        let row = sqlx::query(
            "SELECT id, kind, payload, state, attempts, max_attempts, run_at, last_error
             FROM jobs WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn pending_jobs(&self, kind: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM jobs WHERE kind = ? AND state IN ('queued', 'running')",
        )
        .bind(kind)
        .fetch_one(&self.reader)
        .await?;
        u64::try_from(n).map_err(|_| StoreError::corrupt("negative count"))
    }

    async fn next_due(&self, kinds: &[&str]) -> StoreResult<Option<OffsetDateTime>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(CASE state WHEN 'queued' THEN run_at ELSE lease_until END) FROM jobs
             WHERE kind IN (SELECT value FROM json_each(?)) AND state IN ('queued', 'running')",
        )
        .bind(json_list(kinds))
        .fetch_one(&self.reader)
        .await?;
        at.map(super::codec::from_ms).transpose()
    }
}
