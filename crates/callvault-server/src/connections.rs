//! Accepting connections, with the limits a server facing the internet needs. axum::serve
//! gives hyper no timer, so hyper's header-read timeout never ran: an idle connection, or
//! one that sent half its headers, stayed open for good (200 of them were never closed).
//! Here hyper gets a timer: a client must send a request's headers within
//! `header_read_timeout` of connecting or of the previous response (so it is the keep-alive
//! idle timeout too), or the connection is closed. Every connection gets TCP_NODELAY and
//! carries its peer's address for the handlers (`ConnectInfo`).

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use axum::http::header;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// How long running requests are given to finish once the server is told to stop.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` resolves, then lets the requests under way
/// finish (for at most [`DRAIN`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // HTTP/1 only: telling HTTP/2 apart means reading the first bytes with no timeout at all
    // (a silent connection stayed open), and browsers speak HTTP/2 only over TLS, which a
    // proxy in front ends.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Without TCP_NODELAY a small answer (a range, a JSON page) can wait on Nagle's
        // algorithm for the client's delayed ACK: 40 ms at p99 under load.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let router = router.clone();
        let service = TowerToHyperService::new(router.map_request(
            move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        ));
        let connection = builder
            .serve_connection(TokioIo::new(tcp), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after {DRAIN:?} were cut off");
    }
    Ok(())
}

/// Gives a request that has a body `idle` to send each piece of it. Requests without one
/// (most: every GET) are left alone, as the timer costs a quarter of a small range's time.
pub async fn time_body(request: Request, idle: Duration) -> Request {
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    if has_body {
        request.map(|body| Body::new(TimeoutBody::new(idle, body)))
    } else {
        request
    }
}

/// Whether a body failed because it sent nothing for its timeout ([`time_body`]).
#[must_use]
pub fn timed_out(error: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}
