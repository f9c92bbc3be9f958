//! After a kill: the sessions a stopped server left in the spool are stored with what was
//! received, marked as cut short, and their calls closed at the last audio spooled.

use std::path::Path;

use callvault_app::siprec::close_call;
use callvault_app::{App, AppError, AppResult};

use crate::spool::{self, SessionSpool};

/// Stores every session left behind; what cannot be stored stays for the next start.
/// Returns how many were stored.
pub async fn recover(app: &App) -> usize {
    let root = spool::root(&app.settings.data_dir);
    recover_from(app, &root).await
}

/// After an attempt to store a session: its spool is cleared when the call is stored, or when
/// it never can be (the call was deleted meanwhile); otherwise kept for the next start.
pub(crate) fn settle(session: SessionSpool, result: AppResult<()>) {
    let call = session.info.call_id;
    match result {
        Ok(()) => {}
        Err(AppError::NotFound(_)) => {
            tracing::warn!(%call, "a SIPREC call was deleted while it was recorded; its audio is dropped");
        }
        Err(e) => {
            tracing::error!(%call, error = %e, "could not store a SIPREC recording; it stays in the spool");
            return;
        }
    }
    if let Err(e) = session.remove() {
        tracing::warn!(%call, error = %e, "could not clear a SIPREC session's spool");
    }
}

async fn recover_from(app: &App, root: &Path) -> usize {
    let mut stored = 0;
    for session in SessionSpool::left_behind(root) {
        // Reading the whole call back is disk work, kept off the async threads.
        let (session, assembled) = match tokio::task::spawn_blocking(move || {
            let wav = session.to_wav();
            (session, wav)
        })
        .await
        {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, "assembling a cut-short SIPREC recording failed");
                continue;
            }
        };
        let (wav, frames) = match assembled {
            Ok(done) => done,
            Err(e) => {
                tracing::error!(error = %e, call = %session.info.call_id, "could not assemble a cut-short SIPREC recording");
                continue;
            }
        };
        let rate = u64::from(session.info.rate.max(1));
        let heard =
            time::Duration::milliseconds(i64::try_from(frames * 1000 / rate).unwrap_or(i64::MAX));
        let ended_at = session.info.started_at + heard;
        let audio = (frames > 0).then_some(wav.as_path());
        let call = session.info.call_id;
        let result = close_call(app, call, ended_at, audio, true).await;
        if result.is_ok() {
            tracing::info!(%call, seconds = heard.whole_seconds(), "stored a SIPREC recording a stopped server had cut short");
            stored += 1;
        }
        settle(session, result);
    }
    stored
}
