//! Removes an audio object once no recording refers to it. Enqueued in the transaction that
//! drops the last reference (a deleted conversation, a replaced recording) and before an
//! upload writes its object, so no crash can leave audio behind.

use super::JobError;
use crate::App;

pub async fn run(state: &App, key: &str) -> Result<(), JobError> {
    if state.store.blob_in_use(key).await.map_err(JobError::new)? {
        return Ok(());
    }
    state.blobs.delete(key).await.map_err(JobError::new)?;
    tracing::info!(key, "audio object removed");
    Ok(())
}
