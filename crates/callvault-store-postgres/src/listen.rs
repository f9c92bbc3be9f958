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
    pub(crate) fn start(pool: PgPool) -> Self {
        let (tx, heard) = watch::channel(0_u64);
        let task = tokio::spawn(async move {
            loop {
                match PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(JOBS_CHANNEL).await {
                            tracing::warn!(error = %e, "could not listen for queued jobs");
                        } else {
                            // After (re)connecting, jobs may have been queued unheard.
                            tx.send_modify(|n| *n += 1);
                            // `recv` reconnects by itself after a lost connection.
                            while let Ok(_notification) = listener.recv().await {
                                tx.send_modify(|n| *n += 1);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not connect to listen for queued jobs")
                    }
                }
                if tx.is_closed() {
                    return;
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
