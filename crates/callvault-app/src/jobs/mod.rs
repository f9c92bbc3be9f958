//! The background workers: they take due jobs from the store's queue, run them, and retry
//! failures with backoff. Jobs survive restarts because they live in the store; a worker that
//! dies mid-job loses its lease and another picks the job up.

mod collect_blob;
pub mod fetch_twilio_recording;
pub mod redact;
pub mod transcribe;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use callvault_core::JobId;
use callvault_store::{Job, JobKind, JobSpec, JobState, StoreError};
use time::Duration;
use tokio::sync::Notify;

use crate::App;

/// Which jobs a worker process takes: a team may run transcriptions on machines of their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WorkerJobs {
    #[default]
    All,
    /// Fetching recordings from providers and removing audio nobody owns.
    Media,
    /// Transcriptions.
    Transcribe,
}

impl WorkerJobs {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Media => "media",
            Self::Transcribe => "transcribe",
        }
    }

    fn takes(self, lane: &Lane) -> bool {
        self == Self::All || self == lane.group
    }
}

/// Kinds of job run one at a time, side by side with the other lanes.
struct Lane {
    group: WorkerJobs,
    kinds: &'static [JobKind],
    /// Whether a shutdown stops the running job and hands it back to the queue. Short jobs
    /// finish instead: stopping one halfway (a recording stored but its follow-up not queued)
    /// would cost more than the wait; a transcription may have minutes to go.
    stops_on_shutdown: bool,
}

/// The kinds of job this server runs: a long transcription never holds up a recording download
/// or a cleanup.
const LANES: &[Lane] = &[
    Lane {
        group: WorkerJobs::Media,
        kinds: &[
            JobKind::CollectBlob,
            JobKind::FetchTwilioRecording,
            JobKind::DeliverWebhook,
        ],
        stops_on_shutdown: false,
    },
    // A retention run may take a while on a large installation; it must not hold up a
    // recording's download, and stopping it halfway loses nothing (each deletion is whole).
    Lane {
        group: WorkerJobs::Media,
        kinds: &[JobKind::ApplyRetention],
        stops_on_shutdown: true,
    },
    Lane {
        group: WorkerJobs::Transcribe,
        kinds: &[JobKind::Transcribe],
        stops_on_shutdown: true,
    },
];

/// How long after a worker starts the day's retention run is due, when none is queued.
const FIRST_RETENTION_RUN: Duration = Duration::minutes(10);

/// Resolves when the store hears of a job queued by another process (never, when it cannot).
async fn queued_elsewhere(heard: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    if let Some(rx) = heard
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

/// How long a worker holds a job before others may assume it died: short, so a dead worker's
/// job is taken over soon, and renewed every third of it while the job runs.
pub const LEASE: Duration = Duration::seconds(30);

/// Longest a worker sleeps before looking at the queue again, in case a job was enqueued by
/// another process it cannot hear of (SQLite: a CLI command beside the server).
const IDLE_POLL: StdDuration = StdDuration::from_secs(5);

/// This process's worker: its name in leases, and the bell that wakes it.
#[derive(Clone)]
pub struct JobRunner(Arc<Inner>);

struct Inner {
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
    pub(crate) fn new(e: impl std::fmt::Display) -> Self {
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

impl Default for JobRunner {
    fn default() -> Self {
        let name = format!("{}-{}", std::process::id(), JobId::new());
        Self(Arc::new(Inner {
            wake: Notify::new(),
            name,
        }))
    }
}

impl JobRunner {
    /// Tells idle workers there is new work.
    pub fn wake(&self) {
        self.0.wake.notify_waiters();
    }

    /// Runs these jobs now, or waits (up to five seconds) for a worker already running them;
    /// what fails stays queued for the workers.
    pub async fn run_now(&self, state: &App, ids: &[JobId]) {
        for id in ids {
            match state
                .store
                .claim(*id, &self.0.name, state.now(), LEASE)
                .await
            {
                Ok(Some(job)) => self.execute(state, job).await,
                // Another worker got there first: give it a moment, so the caller can still
                // answer once the work is done.
                Ok(None) => Self::wait_while_running(state, *id).await,
                Err(e) => tracing::warn!(error = %e, job = %id, "could not claim job"),
            }
        }
        self.wake();
    }

    async fn wait_while_running(state: &App, id: JobId) {
        for _ in 0..100 {
            match state.store.job(id).await {
                Ok(Some(job)) if job.state == JobState::Running => {
                    tokio::time::sleep(StdDuration::from_millis(50)).await;
                }
                _ => return,
            }
        }
    }

    /// Works through the queue, taking the jobs `jobs` names, until `shutdown` resolves.
    pub async fn run(self, state: App, jobs: WorkerJobs, shutdown: impl Future<Output = ()>) {
        tracing::info!(worker = %self.0.name, jobs = jobs.as_str(), "worker started");
        if jobs != WorkerJobs::Transcribe {
            // The first of the daily runs, unless one is queued already.
            crate::retention::schedule(&state, FIRST_RETENTION_RUN).await;
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let lanes = futures::future::join_all(LANES.iter().filter(|l| jobs.takes(l)).map(|lane| {
            let mut stopped = stopped.clone();
            self.lane(&state, lane, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
        }));
        tokio::pin!(lanes);
        tokio::select! {
            _ = &mut lanes => {}
            () = shutdown => {
                stop.send_replace(true);
                lanes.await;
            }
        }
        tracing::info!(worker = %self.0.name, "worker stopped");
    }

    async fn lane(&self, state: &App, lane: &Lane, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let kinds = lane.kinds;
        let mut elsewhere = state.store.jobs_queued_elsewhere();
        loop {
            // Seen before looking, so a job queued while we look still wakes us after.
            if let Some(heard) = &mut elsewhere {
                heard.borrow_and_update();
            }
            match state
                .store
                .claim_next(kinds, &self.0.name, state.now(), LEASE)
                .await
            {
                Ok(Some(job)) if lane.stops_on_shutdown => {
                    let id = job.id;
                    tokio::select! {
                        () = self.execute(state, job) => {}
                        () = &mut shutdown => {
                            if let Err(e) = state.store.release(id, &self.0.name, state.now()).await {
                                tracing::warn!(job = %id, error = %e, "could not hand a stopped job back");
                            }
                            break;
                        }
                    }
                    continue;
                }
                Ok(Some(job)) => {
                    self.execute(state, job).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not read the job queue"),
            }
            let wait = Self::idle_wait(state, kinds).await;
            tokio::select! {
                () = &mut shutdown => break,
                () = self.0.wake.notified() => {}
                () = queued_elsewhere(&mut elsewhere) => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn idle_wait(state: &App, kinds: &[JobKind]) -> StdDuration {
        let due = state.store.next_due(kinds).await.ok().flatten();
        due.map_or(IDLE_POLL, |due| {
            StdDuration::try_from(due - state.now())
                .unwrap_or(StdDuration::ZERO)
                .min(IDLE_POLL)
        })
        .max(StdDuration::from_millis(20))
    }

    async fn execute(&self, state: &App, job: Job) {
        let _running = state.job_counts.started(job.kind().as_str());
        let work = async {
            match &job.spec {
                JobSpec::CollectBlob { key } => collect_blob::run(state, key).await,
                JobSpec::FetchTwilioRecording {
                    call_id,
                    recording_sid,
                    url,
                } => fetch_twilio_recording::run(state, &job, *call_id, recording_sid, url).await,
                JobSpec::Transcribe { recording_id } => {
                    transcribe::run(state, &job, *recording_id).await
                }
                JobSpec::DeliverWebhook { delivery_id } => {
                    crate::webhooks::deliver(state, &job, *delivery_id).await
                }
                JobSpec::ApplyRetention { .. } => crate::retention::run_daily(state)
                    .await
                    .map_err(JobError::new),
            }
        };
        // Keep the lease while the work runs, so no other worker takes the job meanwhile.
        let outcome = tokio::select! {
            outcome = work => outcome,
            () = self.keep_lease(state, &job) => Err(JobError::new("lost the job's lease")),
        };
        let now = state.now();
        let recorded = match &outcome {
            Ok(()) => {
                state.job_counts.finished(job.kind().as_str(), "done");
                state.store.complete(job.id, &self.0.name).await
            }
            Err(e) => {
                // The store buries the job when no attempts are left.
                let retry = (!e.permanent).then(|| now + job.kind().backoff(job.attempts));
                let last = e.permanent || job.last_attempt();
                tracing::warn!(job = %job.id, kind = %job.kind(), attempt = job.attempts, error = %e,
                    retry = !last, "job failed");
                state
                    .job_counts
                    .finished(job.kind().as_str(), if last { "dead" } else { "retry" });
                state
                    .store
                    .fail(job.id, &self.0.name, &e.to_string(), retry, now)
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(job = %job.id, error = %e, "could not record the job's outcome (another worker may hold it)");
        }
    }

    /// Renews the job's lease every third of its length; returns only when the lease is lost:
    /// another worker holds the job, or the database did not answer until the lease ran out.
    async fn keep_lease(&self, state: &App, job: &Job) {
        let every = StdDuration::try_from(LEASE / 3).unwrap_or(StdDuration::from_secs(10));
        // Claimed a moment ago, for one lease.
        let mut held_until = state.now() + LEASE;
        loop {
            tokio::time::sleep(every).await;
            let until = state.now() + LEASE;
            match state.store.heartbeat(job.id, &self.0.name, until).await {
                Ok(()) => held_until = until,
                Err(StoreError::NotFound) => {
                    tracing::warn!(job = %job.id, "the job's lease was taken over");
                    return;
                }
                Err(e) if state.now() + every >= held_until => {
                    tracing::warn!(job = %job.id, error = %e, "could not renew the job's lease before it ran out");
                    return;
                }
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "could not renew the job's lease; trying again");
                }
            }
        }
    }
}
