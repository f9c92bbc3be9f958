//! Hears of jobs queued by any process (`LISTEN` on the channel `enqueue` notifies), so an idle
//! worker starts a job at once instead of at its next poll.

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::steps::JOBS_CHANNEL;

/// The listening task; it stops when the store is dropped.
pub(crate) struct JobListener {
    heard: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl JobListener {
    /// Listens on a connection of its own: `pool` is the listener's alone, so the store's pool
    /// keeps every connection it was given.
    pub(crate) fn start(pool: PgPool) -> Self {
        let (tx, heard) = watch::channel(0_u64);
        let task = tokio::spawn(async move {
            loop {
                match PgListener::connect_with(&pool).await {
                    Ok(mut listener) => match listener.listen(JOBS_CHANNEL).await {
                        Ok(()) => loop {
                            // Listening (again): jobs may have been queued unheard meanwhile.
                            tx.send_modify(|n| *n += 1);
                            // `Ok(None)`: the connection was lost; the next call reconnects.
                            match listener.try_recv().await {
                                Ok(Some(_)) | Ok(None) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "lost the job listener");
                                    break;
                                }
                            }
                        },
                        Err(e) => tracing::warn!(error = %e, "could not listen for queued jobs"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "could not connect to listen for queued jobs");
                    }
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        Self { heard, task }
    }

    pub(crate) fn heard(&self) -> watch::Receiver<u64> {
        self.heard.clone()
    }
}

impl Drop for JobListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
