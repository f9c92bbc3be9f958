//! For operators and orchestrators: liveness, readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ErrorBody;
use crate::state::AppState;

/// The process is alive.
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process can do its work: the database and the audio store answer.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store.ping().await;
    let blobs = state.blobs.ping().await;
    match (store, blobs) {
        (Ok(()), Ok(())) => "ready".into_response(),
        (store, blobs) => {
            if let Err(e) = &store {
                tracing::warn!(error = %e, "database not ready");
            }
            if let Err(e) = &blobs {
                tracing::warn!(error = %e, "audio store not ready");
            }
            let which = match (store.is_err(), blobs.is_err()) {
                (true, true) => "the database and the audio store do not answer",
                (true, false) => "the database does not answer",
                _ => "the audio store does not answer",
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(ErrorBody {
                    error: crate::error::ErrorDetail {
                        code: "not_ready".into(),
                        message: which.into(),
                        hold: None,
                    },
                }),
            )
                .into_response()
        }
    }
}
