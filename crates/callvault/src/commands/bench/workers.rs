//! `callvault bench workers`: how the background work scales with worker processes on this
//! machine. Calls arrive as Twilio reports them (signed webhooks to a `serve --no-worker`);
//! their recordings are fetched by `worker --jobs media` from a media server in this process
//! that answers as Twilio's does (HTTP Basic auth with the account's SID and token), transcoded
//! and stored. The same batch size is timed with one worker and with two, and then their
//! recordings are transcribed by one `worker --jobs transcribe` and by two. The last line is
//! `ratio <ingest throughput with 2 workers / with 1>`.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use callvault_telephony::twilio::signature::{Algorithm, sign};

use super::process::{Install, Server, Worker, until_finished};

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Calls in each batch.
    #[arg(long, default_value_t = 8)]
    pub calls: u32,
    /// Length of each call, in minutes.
    #[arg(long, default_value_t = 2)]
    pub minutes: u32,
}

const ACCOUNT: &str = "AC000000000000000000000000000b3ac4";
const AUTH_TOKEN: &str = "bench-auth-token-0000000000000000";
const NUMBER: &str = "+14155550000";
/// What Twilio is told to call and signs: the server's public URL.
const PUBLIC: &str = "http://callvault.bench";

/// Serves every recording as the one WAV, to the account's credentials only.
async fn recording(
    State(wav): State<Arc<Vec<u8>>>,
    UrlPath((account, file)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{ACCOUNT}:{AUTH_TOKEN}"))
    );
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str());
    if !authorized || account != ACCOUNT {
        return (StatusCode::UNAUTHORIZED, "authenticate").into_response();
    }
    if !file.ends_with(".wav") {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "audio/x-wav")],
        wav.as_ref().clone(),
    )
        .into_response()
}

/// Starts the media server; returns its base URL.
async fn media_server(wav: Vec<u8>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Recordings/{file}",
            axum::routing::get(recording),
        )
        .with_state(Arc::new(wav));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

/// Posts a webhook to `server` as Twilio would: form-encoded, signed for the public URL.
async fn webhook(
    http: &reqwest::Client,
    server: &Server,
    path: &str,
    params: &[(&str, &str)],
) -> anyhow::Result<()> {
    let mut all: Vec<(String, String)> = vec![("AccountSid".into(), ACCOUNT.into())];
    all.extend(
        params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let signature = sign(
        AUTH_TOKEN,
        &format!("{PUBLIC}{path}"),
        &all,
        Algorithm::HmacSha1,
    );
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&all)
        .finish();
    let r = http
        .post(format!("{}{path}", server.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", signature)
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "{path}: {}", r.status());
    Ok(())
}

/// Reports `calls` answered, recorded calls (sids `first..`) and their recordings.
async fn report_calls(
    server: &Server,
    media: &str,
    first: u32,
    calls: u32,
    seconds: u32,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let duration = seconds.to_string();
    for n in first..first + calls {
        let call_sid = format!("CA{n:032x}");
        let caller = format!("+1415555{:04}", 1000 + n);
        webhook(
            &http,
            server,
            "/webhooks/twilio/voice",
            &[
                ("CallSid", &call_sid),
                ("From", &caller),
                ("To", NUMBER),
                ("Direction", "inbound"),
                ("CallStatus", "ringing"),
            ],
        )
        .await?;
        webhook(
            &http,
            server,
            "/webhooks/twilio/dial",
            &[
                ("CallSid", &call_sid),
                ("DialCallStatus", "completed"),
                ("DialCallSid", &format!("CA{:032x}", 1_000_000 + n)),
                ("DialCallDuration", &duration),
            ],
        )
        .await?;
        let recording_sid = format!("RE{n:032x}");
        let url = format!("{media}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording_sid}");
        webhook(
            &http,
            server,
            "/webhooks/twilio/recording",
            &[
                ("CallSid", &call_sid),
                ("RecordingSid", &recording_sid),
                ("RecordingUrl", &url),
                ("RecordingStatus", "completed"),
                ("RecordingChannels", "2"),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Ids of every stored recording the server shows.
async fn recordings(server: &Server) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let inbox = server.get("/api/v1/conversations?limit=200").await?;
    for item in inbox["items"].as_array().into_iter().flatten() {
        let id = item["id"].as_str().context("a conversation id")?;
        let conversation = server.get(&format!("/api/v1/conversations/{id}")).await?;
        for event in conversation["events"].as_array().into_iter().flatten() {
            if let Some(recording) = event["call"]["recording"]["id"].as_str() {
                ids.push(recording.to_owned());
            }
        }
    }
    Ok(ids)
}

async fn workers(install: &Install, jobs: &str, count: usize) -> anyhow::Result<Vec<Worker>> {
    let mut started = Vec::new();
    for _ in 0..count {
        started.push(install.worker(jobs).await?);
    }
    Ok(started)
}

pub async fn run(options: Options, model: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        callvault_asr::has_model(model),
        "{} (the transcription runs need it)",
        callvault_asr::no_model(model)
    );
    let work = tempfile::tempdir().context("a work folder")?;
    let seconds = options.minutes.max(1) * 60;
    let calls = options.calls.max(1);
    let wav_path = work.path().join("call.wav");
    tokio::task::spawn_blocking({
        let wav = wav_path.clone();
        move || super::signal::write_call(&wav, 8000, 2, seconds)
    })
    .await??;
    let media = media_server(tokio::fs::read(&wav_path).await?).await?;
    let settings: Vec<OsString> = [
        "--twilio-account-sid",
        ACCOUNT,
        "--twilio-auth-token",
        AUTH_TOKEN,
        "--twilio-api-base",
        &media,
    ]
    .iter()
    .map(OsString::from)
    .chain(["--asr-model".into(), model.as_os_str().to_owned()])
    .collect();
    let install = Install::new(&work.path().join("data"), settings)?;
    let server = install.serve(&["--public-url", PUBLIC]).await?;
    server.add_number(NUMBER, "twilio").await?;
    println!(
        "batches of {calls} two-channel {}-minute calls (8 kHz PCM WAV, {:.1} MB each) on SQLite and a folder",
        options.minutes.max(1),
        f64::from(seconds) * 8000.0 * 4.0 / 1e6
    );
    println!(
        "\n{:<34} {:>7} {:>9} {:>12} {:>19}",
        "work", "workers", "wall s", "calls/min", "audio x real time"
    );
    let audio_seconds = f64::from(seconds) * f64::from(calls);
    let mut ingest = Vec::new();
    let mut done = 0u32;
    for count in [1usize, 2] {
        report_calls(&server, &media, done, calls, seconds).await?;
        done += calls;
        let started = Instant::now();
        let running = workers(&install, "media", count).await?;
        until_finished(
            &running,
            "fetch_twilio_recording",
            u64::from(calls),
            Duration::from_secs(3600),
        )
        .await?;
        let wall = started.elapsed().as_secs_f64();
        print_row(
            "fetch, transcode and store",
            count,
            wall,
            calls,
            audio_seconds,
        );
        ingest.push(f64::from(calls) / wall);
    }
    let stored = recordings(&server).await?;
    let mut batches = stored.chunks(calls as usize);
    for count in [1usize, 2] {
        let batch = batches.next().context("a batch of recordings")?;
        for id in batch {
            server
                .post(
                    &format!("/api/v1/recordings/{id}/transcript"),
                    serde_json::json!({}),
                )
                .await?;
        }
        let started = Instant::now();
        let running = workers(&install, "transcribe", count).await?;
        until_finished(
            &running,
            "transcribe",
            batch.len() as u64,
            Duration::from_secs(3600),
        )
        .await?;
        let wall = started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss, reason = "a handful of calls")]
        let batch_seconds = f64::from(seconds) * batch.len() as f64;
        print_row("transcribe", count, wall, calls, batch_seconds);
        #[allow(clippy::cast_precision_loss, reason = "one or two workers")]
        let per_worker = batch_seconds / wall / count as f64;
        println!(
            "{:<34} {:>7} {:>9} {:>12} {:>19.1}",
            "  per worker", "", "", "", per_worker
        );
    }
    println!("\nratio {:.2}", ingest[1] / ingest[0]);
    Ok(())
}

fn print_row(work: &str, workers: usize, wall: f64, calls: u32, audio_seconds: f64) {
    println!(
        "{:<34} {:>7} {:>9.1} {:>12.1} {:>19.1}",
        work,
        workers,
        wall,
        f64::from(calls) * 60.0 / wall,
        audio_seconds / wall
    );
}
