//! callvault as the process benchmarks run it: this binary on a fresh data folder (SQLite, the
//! audio in the folder unless told otherwise), set up through its own commands and API as an
//! installation would be; `serve` and `worker` processes stopped when dropped.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

const EMAIL: &str = "bench@example.com";
const PASSWORD: &str = "benchmark serving audio 2026";

/// This binary on `data_dir`, with nothing from the caller's configuration.
fn callvault(data_dir: &Path) -> anyhow::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe().context("this program's path")?);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CALLVAULT_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("CALLVAULT_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    Ok(cmd)
}

fn succeed(cmd: &mut Command, stdin: &str) -> anyhow::Result<String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(stdin.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A child process stopped when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `cmd` until it prints a line with `ready` followed by its address.
async fn start(mut cmd: Command, ready: &'static str) -> anyhow::Result<(Running, String)> {
    let mut child = Running(
        cmd.stdout(Stdio::piped())
            .spawn()
            .context("starting callvault")?,
    );
    let stdout = child.0.stdout.take().context("stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.split_once(ready).map(|(_, base)| base.to_owned()))
    })
    .await?;
    let Some(base) = line else {
        bail!("{cmd:?} stopped before it was ready ({:?})", child.0.wait());
    };
    Ok((child, base))
}

/// A data folder with an admin and their API token.
pub struct Install {
    pub data_dir: PathBuf,
    pub token: String,
    /// Settings every process of the installation is given (after its subcommand).
    pub settings: Vec<OsString>,
}

impl Install {
    pub fn new(data_dir: &Path, settings: Vec<OsString>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        succeed(
            callvault(data_dir)?.args([
                "user", "add", "--email", EMAIL, "--name", "Bench", "--admin",
            ]),
            &format!("{PASSWORD}\n"),
        )?;
        let token = succeed(
            callvault(data_dir)?.args(["token", "create", "--email", EMAIL]),
            "",
        )?;
        Ok(Self {
            data_dir: data_dir.to_owned(),
            token,
            settings,
        })
    }

    /// `callvault serve --no-worker`: it answers requests and stores uploads as they come.
    /// `web` are settings only a web server takes (`--public-url`).
    pub async fn serve(&self, web: &[&str]) -> anyhow::Result<Server> {
        let mut cmd = callvault(&self.data_dir)?;
        cmd.args(["serve", "--no-worker", "--listen", "127.0.0.1:0"])
            .args(&self.settings)
            .args(web);
        let (child, base) = start(cmd, "serving on ").await?;
        Ok(Server {
            child,
            base,
            token: self.token.clone(),
            http: reqwest::Client::new(),
        })
    }

    /// `callvault worker --jobs <jobs>`.
    pub async fn worker(&self, jobs: &str) -> anyhow::Result<Worker> {
        let mut cmd = callvault(&self.data_dir)?;
        cmd.args(["worker", "--jobs", jobs, "--listen", "127.0.0.1:0"])
            .args(&self.settings);
        let (child, base) = start(cmd, "health on ").await?;
        Ok(Worker {
            _child: child,
            base,
        })
    }
}

pub struct Server {
    child: Running,
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await?;
        if !r.status().is_success() {
            bail!("{method} {path}: {} {}", r.status(), r.text().await?);
        }
        Ok(r.json().await?)
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// A recording number (`provider`: `pbx` or `twilio`), never transcribing by itself.
    pub async fn add_number(&self, e164: &str, provider: &str) -> anyhow::Result<()> {
        self.post(
            "/api/v1/numbers",
            json!({"e164": e164, "label": "Bench", "provider": provider,
                "call_recording": true, "transcribe_automatically": false,
                "recording_since": "2026-01-01T00:00:00Z",
                "forward_to": [{"phone": "+14155550201"}]}),
        )
        .await?;
        Ok(())
    }

    /// An answered call on `number` with `wav` as its recording, through the API (the number
    /// must be a `pbx` one); returns the recording's id.
    pub async fn upload_call(&self, number: &str, wav: &Path) -> anyhow::Result<String> {
        let call = self
            .post(
                "/api/v1/calls",
                json!({"number": number, "contact_phone": "+14155550100",
                    "direction": "inbound", "status": "answered",
                    "started_at": "2026-03-02T14:00:00Z", "answered_at": "2026-03-02T14:00:05Z",
                    "ended_at": "2026-03-02T14:30:00Z"}),
            )
            .await?;
        let call_id = call["id"].as_str().context("the call's id")?;
        let stored = self
            .http
            .put(format!("{}/api/v1/calls/{call_id}/recording", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "audio/wav")
            .body(tokio::fs::read(wav).await?)
            .send()
            .await?;
        if !stored.status().is_success() {
            bail!("storing the recording: {}", stored.status());
        }
        let stored: Value = stored.json().await?;
        Ok(stored["recording_id"]
            .as_str()
            .context("the recording's id")?
            .to_owned())
    }

    /// The whole MP3, as Download gives it.
    pub async fn download(&self, recording: &str) -> anyhow::Result<Vec<u8>> {
        let r = self
            .http
            .get(format!(
                "{}/api/v1/recordings/{recording}/download",
                self.base
            ))
            .bearer_auth(&self.token)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("downloading the recording: {}", r.status());
        }
        Ok(r.bytes().await?.to_vec())
    }
}

pub struct Worker {
    _child: Running,
    base: String,
}

impl Worker {
    /// How many jobs of `kind` this worker has finished as `outcome`, by its `/metrics`.
    pub async fn finished(&self, kind: &str, outcome: &str) -> anyhow::Result<u64> {
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await?
            .text()
            .await?;
        let series = format!(r#"callvault_jobs_total{{kind="{kind}",outcome="{outcome}"}} "#);
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0))
    }
}

/// Waits until `workers` have finished `count` jobs of `kind`; fails as soon as one is given
/// up, or after `bound`.
pub async fn until_finished(
    workers: &[Worker],
    kind: &str,
    count: u64,
    bound: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let mut done = 0;
        for w in workers {
            if w.finished(kind, "dead").await? > 0 {
                bail!("a {kind} job failed for good; see the worker's log (RUST_LOG)");
            }
            done += w.finished(kind, "done").await?;
        }
        if done >= count {
            return Ok(());
        }
        if started.elapsed() > bound {
            bail!("{done} of {count} {kind} jobs finished in {bound:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
