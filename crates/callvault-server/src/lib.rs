//! The callvault server: the JSON API, operations endpoints, and the background workers,
//! over a store and an audio store chosen by the binary.

pub mod api;
mod auth;
mod connections;
mod error;
mod extract;
mod metrics;
mod ops;
mod range;
pub mod state;
mod ui;
mod webhooks;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use callvault_app::jobs::WorkerJobs;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use state::AppState;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let (api, mut openapi) = api::routes().split_for_parts();
    api::common_errors::document(&mut openapi);
    let openapi = Arc::new(openapi);
    let max_json = state.settings.max_json_bytes;
    let body_idle = state.settings.http.body_idle_timeout;
    Router::new()
        .merge(api)
        .merge(webhooks::routes())
        .merge(ui::routes())
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let doc = openapi.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(metrics::serve_guarded))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_json))
        // A body that sends nothing for this long is cut off (uploads also have a rate floor).
        .layer(middleware::map_request(move |request| {
            connections::time_body(request, body_idle)
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// A browser gets the 404 page; a program gets the JSON error.
async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_page && !uri.path().starts_with("/api/") {
        return ui::PageError::not_found().into_response();
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("nothing at {}", uri.path()),
    )
    .into_response()
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here"),
    )
}

/// The HTTP surface of a worker process: liveness, readiness and its metrics (the jobs it runs).
pub fn worker_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(metrics::serve_ops))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// `--metrics-listen`: `/metrics` alone, without a token, until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_read_timeout = state.settings.http.header_read_timeout;
    let router = Router::new()
        .route("/metrics", get(metrics::serve))
        .fallback(not_found)
        .with_state(state);
    connections::serve(listener, router, header_read_timeout, shutdown).await
}

/// Serves until `shutdown` resolves, running every kind of job too when the settings say so.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let jobs = state.settings.workers.then_some(WorkerJobs::All);
    run(listener, router(state.clone()), state, jobs, shutdown).await
}

/// Runs a worker taking the jobs `jobs` names, with its health endpoints on `listener`, until
/// `shutdown` resolves.
pub async fn serve_worker(
    listener: TcpListener,
    state: AppState,
    jobs: WorkerJobs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run(
        listener,
        worker_router(state.clone()),
        state,
        Some(jobs),
        shutdown,
    )
    .await
}

/// Serves `router` and runs the job runner beside it, both stopped by `shutdown`; the running
/// jobs are let finish (or handed back) before this returns.
async fn run(
    listener: TcpListener,
    router: Router,
    state: AppState,
    jobs: Option<WorkerJobs>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    callvault_app::spool::sweep(&state.settings);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let runner = jobs.map(|jobs| {
        let mut rx = stop_rx.clone();
        tokio::spawn(
            state
                .jobs
                .clone()
                .run(state.app().clone(), jobs, async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                }),
        )
    });
    let header_read_timeout = state.settings.http.header_read_timeout;
    let served = connections::serve(listener, router, header_read_timeout, async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })
    .await;
    if let Some(runner) = runner {
        let _ = runner.await;
    }
    served
}
