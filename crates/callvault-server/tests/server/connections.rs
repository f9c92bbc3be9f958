//! Slow and idle clients, on real sockets: none can hold a connection, an upload slot or a
//! spool file for long.

use std::time::{Duration, Instant};

use callvault_app::settings::HttpLimits;
use common::{Options, TestServer, json_of};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common;

const NUMBER: &str = "+14155550000";

/// Limits short enough to watch, the same kinds as the defaults.
fn short_limits() -> Options {
    Options {
        http: HttpLimits {
            header_read_timeout: Duration::from_secs(1),
            body_idle_timeout: Duration::from_secs(1),
            upload_min_rate: 2000,
            upload_grace: Duration::from_secs(1),
            max_concurrent_uploads: 1,
        },
        ..Options::default()
    }
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// Reads until the server closes the connection; what it sent, or `None` if it was still
/// open after `bound`.
async fn until_closed(stream: &mut TcpStream, bound: Duration) -> Option<String> {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&seen).into_owned())
}

#[tokio::test]
async fn idle_and_slow_header_connections_are_closed() {
    let server = TestServer::start_with(short_limits()).await;
    let bound = Duration::from_secs(10);

    // Connected and silent.
    let mut idle = connect(&server).await;
    assert!(
        until_closed(&mut idle, bound).await.is_some(),
        "an idle connection stays open"
    );

    // Half the headers, then nothing.
    let mut half = connect(&server).await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("writes");
    assert!(
        until_closed(&mut half, bound).await.is_some(),
        "half-sent headers keep it open"
    );

    // A kept-alive connection after its answer, waiting for a next request that never comes.
    let mut kept = connect(&server).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("writes");
    let answered = until_closed(&mut kept, bound)
        .await
        .expect("closed once idle");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // Many at once, each sending a header line now and then, slower than the timeout allows.
    let started = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut s = connect(&server).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .expect("writes");
        slow.push(s);
    }
    for s in &mut slow {
        let _ = s.write_all(b"X-Slow: 1\r\n").await;
    }
    for s in &mut slow {
        assert!(
            until_closed(s, bound).await.is_some(),
            "a slow-header connection stays open"
        );
    }
    assert!(started.elapsed() < bound * 2);
    // The server still answers.
    assert_eq!(
        server.anonymous().get("/healthz").await.status,
        StatusCode::OK
    );
    server.stop().await;
}

/// An upload that stalls, or trickles, is cut off with 408 and leaves no spool file; while
/// it holds the only upload slot, another upload is told to come back later.
#[tokio::test]
async fn slow_uploads_are_cut_off_and_leave_nothing() {
    let server = TestServer::start_with(short_limits()).await;
    let admin = server.admin().await;
    admin.number(NUMBER, true).await;
    let token = admin.token.clone().unwrap_or_default();
    let upload_head = |call: &str, length: usize| {
        format!(
            "PUT /api/v1/calls/{call}/recording HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n"
        )
    };
    let bound = Duration::from_secs(15);

    // Stalls after a few bytes.
    let call = json_of(&admin.answered_call(NUMBER, "+14155550101", 10).await, "id");
    let mut stalled = connect(&server).await;
    stalled
        .write_all(upload_head(&call, 100_000).as_bytes())
        .await
        .expect("writes");
    stalled.write_all(b"RIFF").await.expect("writes");
    let spooling = async {
        for _ in 0..200 {
            if !server.spooled_files().is_empty() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    };
    assert!(spooling.await, "the upload is being spooled");
    // The one slot is taken: another upload is asked to come back.
    let other = json_of(&admin.answered_call(NUMBER, "+14155550102", 10).await, "id");
    let busy = admin.upload(&other, common::call_mp3()).await;
    assert_eq!(
        (busy.status, busy.code().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "too_many_uploads")
    );
    assert_eq!(busy.header("retry-after"), "5");
    let answer = until_closed(&mut stalled, bound)
        .await
        .expect("answered and closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("upload_too_slow"), "{answer}");

    // Trickles a byte at a time, never idle long enough to time out.
    let mut trickle = connect(&server).await;
    trickle
        .write_all(upload_head(&call, 100_000).as_bytes())
        .await
        .expect("writes");
    let answer = tokio::time::timeout(bound, async {
        let mut buf = vec![0u8; 4096];
        loop {
            if trickle.write_all(b"x").await.is_err() {
                break;
            }
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(200), trickle.read(&mut buf)).await
            {
                return String::from_utf8_lossy(&buf[..n]).into_owned();
            }
        }
        let n = trickle.read(&mut buf).await.unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await
    .expect("cut off within the bound");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // Nothing left: no spool file, no recording; the slot is free again.
    for _ in 0..200 {
        if server.spooled_files().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        server.spooled_files().is_empty(),
        "{:?}",
        server.spooled_files()
    );
    assert!(admin.get(&format!("/api/v1/calls/{call}")).await.json()["recording"].is_null());
    let stored = admin.upload(&other, common::call_mp3()).await;
    assert_eq!(stored.status, StatusCode::CREATED, "{:?}", stored.json());
    server.stop().await;
}
