//! The background workers: they take due jobs from the store's queue, run them, and retry
//! failures with backoff. Jobs survive restarts because they live in the store; a worker that
//! dies mid-job loses its lease and another picks the job up.

mod collect_blob;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use callvault_blob::BlobStore;
use callvault_core::{Clock, JobId};
use callvault_store::{COLLECT_BLOB, Job, JobState, Store};
use time::Duration;
use tokio::sync::Notify;

use crate::metrics::Metrics;

/// Every kind of job this server runs.
const KINDS: &[&str] = &[COLLECT_BLOB];

/// How long a worker holds a job before others may assume it died.
const LEASE: Duration = Duration::minutes(5);

/// Longest a worker sleeps before looking at the queue again, in case a job was enqueued by
/// another process.
const IDLE_POLL: StdDuration = StdDuration::from_secs(5);

#[derive(Clone)]
pub struct JobRunner(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    blobs: BlobStore,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    wake: Notify,
    name: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    message: String,
    /// Retrying cannot help (a malformed job, say): the job is buried at once.
    permanent: bool,
}

impl JobError {
    /// A failure that may pass: the job is retried with backoff while attempts remain.
    fn new(e: impl std::fmt::Display) -> Self {
        Self {
            message: e.to_string(),
            permanent: false,
        }
    }

    fn permanent(e: impl std::fmt::Display) -> Self {
        Self {
            message: e.to_string(),
            permanent: true,
        }
    }
}

/// Wait before attempt `n + 1`: 2^n seconds, at most an hour.
fn backoff(attempts: u32) -> Duration {
    Duration::seconds(1_i64 << attempts.min(12)).min(Duration::hours(1))
}

impl JobRunner {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: BlobStore,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
    ) -> Self {
        let name = format!("{}-{}", std::process::id(), callvault_core::JobId::new());
        Self(Arc::new(Inner {
            store,
            blobs,
            clock,
            metrics,
            wake: Notify::new(),
            name,
        }))
    }

    /// Tells idle workers there is new work.
    pub fn wake(&self) {
        self.0.wake.notify_waiters();
    }

    /// Runs these jobs now, or waits (up to five seconds) for a worker already running them;
    /// what fails stays queued for the workers.
    pub async fn run_now(&self, ids: &[JobId]) {
        for id in ids {
            match self
                .0
                .store
                .claim(*id, &self.0.name, self.0.clock.now(), LEASE)
                .await
            {
                Ok(Some(job)) => self.execute(job).await,
                // Another worker got there first: give it a moment, so the caller can still
                // answer once the work is done.
                Ok(None) => self.wait_while_running(*id).await,
                Err(e) => tracing::warn!(error = %e, job = %id, "could not claim job"),
            }
        }
        self.wake();
    }

    async fn wait_while_running(&self, id: JobId) {
        for _ in 0..100 {
            match self.0.store.job(id).await {
                Ok(Some(job)) if job.state == JobState::Running => {
                    tokio::time::sleep(StdDuration::from_millis(50)).await;
                }
                _ => return,
            }
        }
    }

    /// Works through the queue until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        tracing::info!(worker = %self.0.name, "worker started");
        loop {
            let next = self
                .0
                .store
                .claim_next(KINDS, &self.0.name, self.0.clock.now(), LEASE)
                .await;
            match next {
                Ok(Some(job)) => {
                    self.execute(job).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not read the job queue"),
            }
            let wait = self.idle_wait().await;
            tokio::select! {
                () = &mut shutdown => break,
                () = self.0.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!(worker = %self.0.name, "worker stopped");
    }

    async fn idle_wait(&self) -> StdDuration {
        let due = self.0.store.next_due(KINDS).await.ok().flatten();
        due.map_or(IDLE_POLL, |due| {
            let until = due - self.0.clock.now();
            StdDuration::try_from(until)
                .unwrap_or(StdDuration::ZERO)
                .min(IDLE_POLL)
        })
        .max(StdDuration::from_millis(20))
    }

    async fn execute(&self, job: Job) {
        let inner = &self.0;
        let work = async {
            match job.kind.as_str() {
                COLLECT_BLOB => collect_blob::run(&*inner.store, &inner.blobs, &job.payload).await,
                other => Err(JobError::permanent(format!("unknown job kind {other:?}"))),
            }
        };
        // Keep the lease while the work runs, so no other worker takes the job meanwhile.
        let outcome = tokio::select! {
            outcome = work => outcome,
            () = self.keep_lease(&job) => Err(JobError::new("lost the job's lease")),
        };
        let now = inner.clock.now();
        let recorded = match &outcome {
            Ok(()) => {
                inner.metrics.job_finished(&job.kind, "done");
                inner.store.complete(job.id, &inner.name).await
            }
            Err(e) => {
                // The store buries the job when no attempts are left.
                let retry = (!e.permanent).then(|| now + backoff(job.attempts));
                let last = e.permanent || job.attempts >= job.max_attempts;
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e,
                    retry = !last, "job failed");
                inner
                    .metrics
                    .job_finished(&job.kind, if last { "dead" } else { "retry" });
                inner
                    .store
                    .fail(job.id, &inner.name, &e.to_string(), retry, now)
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(job = %job.id, error = %e, "could not record the job's outcome (another worker may hold it)");
        }
    }

    /// Renews the job's lease every third of its length; returns only if the lease is lost.
    async fn keep_lease(&self, job: &Job) {
        let every = StdDuration::try_from(LEASE / 3).unwrap_or(StdDuration::from_secs(60));
        loop {
            tokio::time::sleep(every).await;
            let until = self.0.clock.now() + LEASE;
            if let Err(e) = self.0.store.heartbeat(job.id, &self.0.name, until).await {
                tracing::warn!(job = %job.id, error = %e, "could not renew the job's lease");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(2));
        assert_eq!(backoff(3), Duration::seconds(8));
        assert_eq!(backoff(30), Duration::hours(1));
    }
}
