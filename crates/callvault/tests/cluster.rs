//! The whole cluster on one machine, as docs/DEPLOY.md lays it out: one PostgreSQL database
//! and one S3 bucket shared by two `serve --no-worker` replicas behind one public URL and two
//! workers, each process with a data folder of its own. Twilio's webhooks land on either
//! replica and the work on either worker; a worker killed mid-transcription is taken over
//! within one lease, and a replica killed mid-upload leaves nothing behind.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use callvault_blob::BlobStore;
use callvault_blob::testing::{S3Server, files_under};
use callvault_store_testing::{TestDatabase, fresh_postgres};
use common::twilio_sim::{ACCOUNT, TOKEN, Twilio, TwimlDoc};
use common::{
    ADMIN_PASSWORD, Running, admin_token_with, callvault, fixture, replica, send, status_of, text,
    until, worker_with,
};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// The load balancer's address: what Twilio is told and signs, whichever replica it reaches.
const PUBLIC: &str = "http://calls.example.test";
const NUMBER: &str = "+14155550000";
const CALLER: &str = "+14155550100";
/// A job whose worker died is free again after this (callvault_app::jobs::LEASE).
const LEASE: Duration = Duration::from_secs(30);

struct Cluster {
    db: TestDatabase,
    s3: S3Server,
    twilio: Twilio,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// The settings every process of the cluster shares; `name` is its own data folder.
    fn node(&self, name: &str) -> Command {
        let mut cmd = callvault(&self.data(name));
        cmd.env("CALLVAULT_DATABASE_URL", &self.db.url)
            .env("CALLVAULT_BLOB_URL", self.s3.url("cluster"))
            .env("CALLVAULT_PUBLIC_URL", PUBLIC)
            .env("CALLVAULT_TWILIO_ACCOUNT_SID", ACCOUNT)
            .env("CALLVAULT_TWILIO_AUTH_TOKEN", TOKEN)
            .env("CALLVAULT_TWILIO_API_BASE", &self.twilio.base)
            .env("CALLVAULT_METRICS_TOKEN", METRICS_TOKEN)
            .envs(self.s3.credentials());
        cmd
    }

    fn data(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn bucket(&self) -> BlobStore {
        self.s3.store("cluster")
    }

    async fn objects(&self) -> Vec<String> {
        self.bucket().list_keys().await.expect("the bucket lists")
    }

    /// Twilio's webhook, signed for the public URL, delivered to one replica.
    async fn webhook(&self, replica: &Running, path: &str, params: &[(&str, &str)]) {
        let reply = self
            .twilio
            .post_behind(PUBLIC, &replica.base, path, params)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{path} on {}: {}",
            replica.base,
            String::from_utf8_lossy(&reply.body)
        );
    }
}

/// What the monitoring reads on every process of the cluster.
const METRICS_TOKEN: &str = "cluster-metrics-token";

async fn metrics(base: &str) -> String {
    let asked = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await;
    match asked {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn get(base: &str, path: &str, token: &str) -> Value {
    send(Method::GET, &format!("{base}{path}"), token, None).await
}

/// The one call of the contact's conversation, as a replica shows it.
async fn the_call(base: &str, token: &str, conversation: &str) -> Value {
    let c = get(
        base,
        &format!("/api/v1/conversations/{conversation}"),
        token,
    )
    .await;
    c["events"]
        .as_array()
        .and_then(|events| events.iter().rev().find(|e| !e["call"].is_null()))
        .map(|e| e["call"].clone())
        .unwrap_or_else(|| panic!("a call in {c}"))
}

async fn transcript_status(base: &str, token: &str, recording: &str) -> String {
    text(
        &get(
            base,
            &format!("/api/v1/recordings/{recording}/transcript"),
            token,
        )
        .await,
        "status",
    )
}

/// Of the workers, the one whose `/metrics` shows a transcription running.
async fn transcribing(workers: &[Running]) -> Option<usize> {
    for (i, w) in workers.iter().enumerate() {
        if metrics(&w.base)
            .await
            .contains(r#"callvault_jobs_running{kind="transcribe"} 1"#)
        {
            return Some(i);
        }
    }
    None
}

async fn audio(base: &str, token: &str, recording: &str, range: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(format!("{base}/api/v1/recordings/{recording}/audio"))
        .bearer_auth(token);
    if let Some(range) = range {
        req = req.header(header::RANGE, range);
    }
    req.send().await.expect("answers")
}

/// The session cookie a sign-in on `base` sets, as `name=value`.
async fn sign_in(base: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "ops@example.com", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("answers");
    assert!(r.status().is_success(), "sign-in: {}", r.status());
    let cookie = r
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie");
    cookie.split(';').next().unwrap_or_default().to_owned()
}

async fn with_cookie(method: Method, url: &str, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .request(method, url)
        .header(header::COOKIE, cookie)
        .header(header::ORIGIN, PUBLIC)
        .send()
        .await
        .map_or(StatusCode::BAD_GATEWAY, |r| r.status())
}

fn spooled(data: &Path) -> Vec<PathBuf> {
    files_under(&data.join("tmp"))
}

#[tokio::test]
async fn two_replicas_and_two_workers_on_postgres_and_s3_work_as_one_server() {
    let Some(db) = fresh_postgres().await else {
        return;
    };
    let Some(s3) = S3Server::start() else {
        return;
    };
    let wav = std::fs::read(fixture("call-turns-2ch.wav")).expect("fixture");
    let cluster = Cluster {
        db,
        s3,
        twilio: Twilio::start(wav.clone()).await,
        dir: tempfile::tempdir().expect("tmp"),
    };
    let token = admin_token_with(|| cluster.node("admin"));
    let mut a = replica(cluster.node("a"));
    let b = replica(cluster.node("b"));
    let mut workers = vec![
        worker_with(cluster.node("w1"), "all"),
        worker_with(cluster.node("w2"), "all"),
    ];

    // An admin sets up a recording number on replica A.
    send(
        Method::POST,
        &format!("{}/api/v1/numbers", a.base),
        &token,
        Some(json!({
            "e164": NUMBER, "label": "Main line", "provider": "twilio",
            "call_recording": true, "transcribe_automatically": true,
            "forward_to": [{"phone": "+14155550201"}]})),
    )
    .await;

    // A call rings on replica A, which tells Twilio to call back at the public URL.
    let call_sid = format!("CA{:032x}", 1);
    let reply = cluster
        .twilio
        .post_behind(
            PUBLIC,
            &a.base,
            "/webhooks/twilio/voice",
            &[
                ("CallSid", &call_sid),
                ("From", CALLER),
                ("To", NUMBER),
                ("Direction", "inbound"),
                ("CallStatus", "ringing"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let verbs = TwimlDoc::parse(&reply).verbs();
    let dial = verbs.iter().find(|v| v.name == "Dial").expect("a Dial");
    assert_eq!(
        dial.attrs.get("recordingStatusCallback"),
        Some(&format!("{PUBLIC}/webhooks/twilio/recording"))
    );

    // Its end and its recording are reported to replica B.
    cluster
        .webhook(
            &b,
            "/webhooks/twilio/dial",
            &[
                ("CallSid", &call_sid),
                ("DialCallStatus", "completed"),
                ("DialCallSid", &format!("CA{:032x}", 2)),
                ("DialCallDuration", "24"),
            ],
        )
        .await;
    cluster
        .webhook(
            &b,
            "/webhooks/twilio/status",
            &[
                ("CallSid", &call_sid),
                ("CallStatus", "completed"),
                ("CallDuration", "30"),
                ("To", NUMBER),
                ("From", CALLER),
            ],
        )
        .await;
    let recording_sid = format!("RE{:032x}", 1);
    cluster
        .webhook(
            &b,
            "/webhooks/twilio/recording",
            &[
                ("CallSid", &call_sid),
                ("RecordingSid", &recording_sid),
                (
                    "RecordingUrl",
                    &cluster.twilio.recording_url(&recording_sid),
                ),
                ("RecordingStatus", "completed"),
                ("RecordingChannels", "2"),
            ],
        )
        .await;

    // A worker fetches the media (Twilio says 404 once, then serves it) and stores the MP3
    // on S3.
    let inbox = get(&b.base, "/api/v1/conversations", &token).await;
    let conversation = text(&inbox["items"][0], "id");
    let recording = until(Duration::from_secs(60), "the recording", async || {
        the_call(&b.base, &token, &conversation).await["recording"]["id"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    assert_eq!(cluster.twilio.refused(), 0, "workers sign in to Twilio");
    assert_eq!(
        cluster.objects().await,
        vec![format!("{recording}.mp3")],
        "the MP3 is in the bucket"
    );

    // A worker transcribes it; killed in the middle, the other takes the job over once the
    // dead one's lease runs out.
    until(
        Duration::from_secs(60),
        "the transcription to start",
        async || (transcript_status(&b.base, &token, &recording).await == "running").then_some(()),
    )
    .await;
    let busy = transcribing(&workers)
        .await
        .expect("the worker running it shows so on /metrics");
    let killed = Instant::now();
    drop(workers.remove(busy));
    until(
        LEASE + Duration::from_secs(10),
        "the other worker to finish the transcript",
        async || (transcript_status(&b.base, &token, &recording).await == "done").then_some(()),
    )
    .await;
    eprintln!(
        "taken over and finished {:?} after the kill",
        killed.elapsed()
    );
    assert!(
        metrics(&workers[0].base)
            .await
            .contains(r#"callvault_jobs_total{kind="transcribe",outcome="done"} 1"#)
    );

    // Replica B plays it in ranges and finds it by what was said; neither replica ever held
    // the speech model.
    let full = audio(&b.base, &token, &recording, None).await;
    assert_eq!(full.status(), StatusCode::OK);
    let mp3 = full.bytes().await.expect("body");
    let part = audio(&b.base, &token, &recording, Some("bytes=1000-4999")).await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE],
        format!("bytes 1000-4999/{}", mp3.len()).as_str()
    );
    assert_eq!(part.bytes().await.expect("body"), mp3.slice(1000..5000));
    let hits = get(&b.base, "/api/v1/search?q=delivery", &token).await;
    assert!(
        hits["hits"].as_array().is_some_and(|h| h
            .iter()
            .any(|hit| hit["recording_id"] == recording.as_str())),
        "{hits} {}",
        get(
            &b.base,
            &format!("/api/v1/recordings/{recording}/transcript"),
            &token
        )
        .await
    );
    for replica in [&a, &b] {
        assert!(
            metrics(&replica.base)
                .await
                .contains("callvault_speech_model_loaded 0"),
            "a replica runs no transcriptions"
        );
    }

    // A session made on A works on B, and signing out on B ends it on A.
    let cookie = sign_in(&a.base).await;
    let me = |base: &str| format!("{base}/api/v1/me");
    assert_eq!(
        with_cookie(Method::GET, &me(&b.base), &cookie).await,
        StatusCode::OK
    );
    assert_eq!(
        with_cookie(
            Method::POST,
            &format!("{}/api/v1/auth/logout", b.base),
            &cookie
        )
        .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        with_cookie(Method::GET, &me(&a.base), &cookie).await,
        StatusCode::UNAUTHORIZED
    );

    // Replica A is killed while a PBX uploads to it: no recording, no object, and the
    // partial upload is swept when A starts again.
    send(
        Method::POST,
        &format!("{}/api/v1/numbers", b.base),
        &token,
        Some(
            json!({"e164": "+14155550001", "label": "PBX", "provider": "pbx",
            "call_recording": true, "recording_since": "2026-01-01T00:00:00Z"}),
        ),
    )
    .await;
    let call = send(
        Method::POST,
        &format!("{}/api/v1/calls", b.base),
        &token,
        Some(json!({
            "number": "+14155550001", "contact_phone": "+14155550177",
            "direction": "inbound", "status": "answered",
            "started_at": "2026-03-02T14:15:00Z", "answered_at": "2026-03-02T14:15:06Z",
            "ended_at": "2026-03-02T14:15:30Z"})),
    )
    .await;
    let call_id = text(&call, "id");
    let (body, rest) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    body.send(Ok(wav[..wav.len() / 2].to_vec()))
        .await
        .expect("queued");
    let upload = tokio::spawn(
        reqwest::Client::new()
            .put(format!("{}/api/v1/calls/{call_id}/recording", a.base))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "audio/wav")
            .header(header::CONTENT_LENGTH, wav.len())
            .body(reqwest::Body::wrap_stream(body_stream(rest)))
            .send(),
    );
    until(
        Duration::from_secs(30),
        "the upload to be spooled on A",
        async || (!spooled(&cluster.data("a")).is_empty()).then_some(()),
    )
    .await;
    drop(a);
    drop(body);
    assert!(
        upload.await.expect("joins").is_err(),
        "the killed replica never answers"
    );
    assert!(
        the_call_by_id(&b.base, &token, &call_id).await["recording"].is_null(),
        "no recording row"
    );
    assert_eq!(cluster.objects().await.len(), 1, "no new object");
    assert_eq!(
        spooled(&cluster.data("a")).len(),
        1,
        "the partial upload is left"
    );
    a = replica(cluster.node("a"));
    until(
        Duration::from_secs(10),
        "A to sweep its spool as it starts",
        async || spooled(&cluster.data("a")).is_empty().then_some(()),
    )
    .await;

    // Deleting the conversation through A removes its audio from the bucket.
    let deleted = reqwest::Client::new()
        .delete(format!("{}/api/v1/conversations/{conversation}", a.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    until(
        Duration::from_secs(30),
        "the object to be deleted",
        async || cluster.objects().await.is_empty().then_some(()),
    )
    .await;
    assert_eq!(
        status_of(
            &format!("{}/api/v1/conversations/{conversation}", b.base),
            Some(&token)
        )
        .await,
        404
    );
}

async fn the_call_by_id(base: &str, token: &str, call: &str) -> Value {
    get(base, &format!("/api/v1/calls/{call}"), token).await
}

/// The receiving end of a channel as a stream of body chunks.
fn body_stream(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
