//! The spool: files being received or worked on (uploads, downloads from providers, MP3s
//! being made) live in `<data-dir>/tmp` while they are in use, each removed when dropped
//! (`Settings::spool_file`).

use crate::settings::Settings;

/// Removes what an interrupted run left in the spool. Called at start, before anything new is
/// spooled.
pub fn sweep(settings: &Settings) {
    let Ok(entries) = std::fs::read_dir(settings.upload_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        match std::fs::remove_file(entry.path()) {
            Ok(()) => {
                tracing::info!(file = %entry.path().display(), "removed an interrupted upload")
            }
            Err(e) => {
                tracing::warn!(file = %entry.path().display(), error = %e, "could not remove an interrupted upload")
            }
        }
    }
}
