//! Running the real binary: a command on a data folder, and `serve` until it is dropped.

#![allow(dead_code, reason = "each test file uses part of the harness")]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The simulated Twilio the server's tests use, shared with the whole-binary tests.
#[path = "../../../callvault-server/tests/server/common/twilio_sim.rs"]
pub mod twilio_sim;

/// The speech model the test command installed.
pub fn test_model() -> String {
    std::env::var("CALLVAULT_TEST_MODEL")
        .expect("CALLVAULT_TEST_MODEL names a Whisper model folder (the test command sets it)")
}

/// The binary on a data folder, with the installed model named explicitly: a server on the
/// default model folder would install the model on its first start.
pub fn callvault(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callvault"));
    cmd.env_remove("CALLVAULT_CONFIG")
        .env("CALLVAULT_DATA_DIR", data_dir)
        .env("CALLVAULT_ASR_MODEL", test_model())
        .env("RUST_LOG", "warn");
    cmd
}

pub fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

/// A running `callvault serve`, its address, and what it printed before serving.
pub struct Running {
    pub child: Child,
    pub base: String,
    pub printed: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(data_dir: &Path) -> Running {
    serve_with(callvault(data_dir))
}

pub fn serve_with(command: Command) -> Running {
    start(
        command,
        &["serve", "--listen", "127.0.0.1:0"],
        "callvault: serving on ",
    )
}

/// A running `callvault serve --no-worker`: it answers requests and leaves every job to
/// workers.
pub fn serve_without_workers(data_dir: &Path) -> Running {
    replica(callvault(data_dir))
}

/// `serve_without_workers` with the command's settings.
pub fn replica(command: Command) -> Running {
    start(
        command,
        &["serve", "--no-worker", "--listen", "127.0.0.1:0"],
        "callvault: serving on ",
    )
}

/// A running `callvault worker --jobs <jobs>`; `base` is where its health endpoints are.
pub fn worker(data_dir: &Path, jobs: &str) -> Running {
    worker_with(callvault(data_dir), jobs)
}

/// `worker` with the command's settings.
pub fn worker_with(command: Command, jobs: &str) -> Running {
    start(
        command,
        &["worker", "--jobs", jobs, "--listen", "127.0.0.1:0"],
        "health on ",
    )
}

/// `serve_with`, its log (at info) appended to `log`: for tests that must say why, when they
/// fail, what the server was doing.
pub fn serve_logged(mut command: Command, log: &Path) -> Running {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("a log file");
    command.env("RUST_LOG", "info");
    start_with_stderr(
        command,
        &["serve", "--listen", "127.0.0.1:0"],
        "callvault: serving on ",
        Stdio::from(file),
    )
}

/// Runs `command` with `args` until it prints a line with `ready` followed by its address.
fn start(command: Command, args: &[&str], ready: &str) -> Running {
    start_with_stderr(command, args, ready, Stdio::null())
}

fn start_with_stderr(mut command: Command, args: &[&str], ready: &str, stderr: Stdio) -> Running {
    let mut child = command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("callvault starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some((_, base)) = line.split_once(ready) {
            return Running {
                child,
                base: base.to_owned(),
                printed,
            };
        }
        printed.push(line);
    }
    let status = child.wait();
    panic!("callvault {args:?} exited ({status:?}) before it was ready; it printed {printed:?}");
}

pub fn run_with_stdin(cmd: &mut Command, stdin: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("writes");
    child.wait_with_output().expect("finishes")
}

/// An answer as the simulated Twilio sees it.
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

pub async fn status_of(url: &str, token: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

/// A JSON request with a token; the answer must be a success.
pub async fn send(method: reqwest::Method, url: &str, token: &str, body: Option<Value>) -> Value {
    let mut req = reqwest::Client::new()
        .request(method.clone(), url)
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("answers");
    assert!(r.status().is_success(), "{method} {url}: {}", r.status());
    r.json().await.expect("JSON")
}

/// A string field of a JSON value.
pub fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

/// An admin made with `user add`, and an API token of theirs from `token create`.
pub fn admin_token(data_dir: &Path) -> String {
    admin_token_with(|| callvault(data_dir))
}

/// The password `admin_token` gives the admin (ops@example.com).
pub const ADMIN_PASSWORD: &str = "a long enough password";

/// `admin_token` with the settings of the commands `command` makes.
pub fn admin_token_with(command: impl Fn() -> Command) -> String {
    let added = run_with_stdin(
        command().args([
            "user",
            "add",
            "--email",
            "ops@example.com",
            "--name",
            "Ops",
            "--admin",
        ]),
        &format!("{ADMIN_PASSWORD}\n"),
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let token = command()
        .args(["token", "create", "--email", "ops@example.com"])
        .output()
        .expect("runs");
    String::from_utf8_lossy(&token.stdout).trim().to_owned()
}

/// Through the API of the server at `base`: a recording number, an answered call on it, and
/// the 24-second two-channel recording of it; returns the recording's id.
pub async fn recorded_call(base: &str, token: &str, transcribe: bool) -> String {
    let api = |path: &str| format!("{base}{path}");
    send(
        reqwest::Method::POST,
        &api("/api/v1/numbers"),
        token,
        Some(serde_json::json!({
            "e164": "+1 415 555 0000", "label": "Support", "provider": "pbx",
            "call_recording": true, "transcribe_automatically": transcribe,
            "recording_since": "2026-01-01T00:00:00Z"})),
    )
    .await;
    let call = send(
        reqwest::Method::POST,
        &api("/api/v1/calls"),
        token,
        Some(serde_json::json!({
            "number": "+14155550000", "contact_phone": "(415) 555-0100",
            "direction": "inbound", "status": "answered",
            "started_at": "2026-03-02T14:15:00Z", "answered_at": "2026-03-02T14:15:06Z",
            "ended_at": "2026-03-02T14:15:30Z"})),
    )
    .await;
    let stored = reqwest::Client::new()
        .put(api(&format!(
            "/api/v1/calls/{}/recording",
            text(&call, "id")
        )))
        .bearer_auth(token)
        .header("content-type", "audio/mpeg")
        .body(std::fs::read(fixture("call-turns-2ch.mp3")).expect("fixture"))
        .send()
        .await
        .expect("upload");
    assert_eq!(stored.status().as_u16(), 201);
    text(&stored.json::<Value>().await.expect("JSON"), "recording_id")
}

/// Asks `probe` every 50 ms until it gives a value, for at most `bound`.
pub async fn until<T>(
    bound: std::time::Duration,
    what: &str,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            started.elapsed() < bound,
            "waited {bound:?} for {what} in vain"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
