//! Prometheus metrics: one registry per server (no globals, so tests can run several servers
//! in one process), rendered in the OpenMetrics text format at `/metrics`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use callvault_app::App;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use callvault_app::secrets::hash_secret;
use secrecy::{ExposeSecret, SecretString};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

type DurationFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    requests: Family<RequestLabels, Counter>,
    durations: DurationFamily,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 12))
}

impl Metrics {
    /// A registry with the request metrics, the jobs this process counts and whether it
    /// holds the speech model.
    pub fn new(app: &App) -> Self {
        let mut registry = Registry::with_prefix("callvault");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests",
            durations.clone(),
        );
        app.job_counts.register(&mut registry);
        app.speech.register(&mut registry);
        Self {
            registry: Arc::new(Mutex::new(registry)),
            requests,
            durations,
        }
    }

    fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

/// Counts and times every request by its route pattern (never the raw path: ids would make
/// a new series per contact).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // Only standard methods become labels; anything a client invents would add series forever.
    let method = match request.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = RequestLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .durations
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `/metrics` on the main listener: only with the metrics token; without one it is not
/// served there (the monitoring reads it on `--metrics-listen`).
pub async fn serve_guarded(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match &state.settings.metrics_token {
        Some(token) if bearer_is(&headers, token) => serve(State(state)).await,
        Some(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "/metrics needs Authorization: Bearer <the metrics token>",
        )
        .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics_not_served",
            "metrics are not served here: set --metrics-token, or read them on --metrics-listen",
        )
        .into_response(),
    }
}

/// `/metrics` on a worker's operations port: open, unless a metrics token is set.
pub async fn serve_ops(state: State<AppState>, headers: HeaderMap) -> Response {
    if state.settings.metrics_token.is_some() {
        serve_guarded(state, headers).await
    } else {
        serve(state).await
    }
}

/// Whether the request carries `token` as its bearer token (compared as hashes, so the time
/// taken says nothing about the token).
fn bearer_is(headers: &HeaderMap, token: &SecretString) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(crate::auth::bearer)
        .is_some_and(|given| hash_secret(given) == hash_secret(token.expose_secret()))
}

/// The metrics, to whoever reaches the listener this is on.
pub async fn serve(State(state): State<AppState>) -> Response {
    match state.metrics.render() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
