//! A real server for each test: SQLite and a recordings folder in a temporary directory, bound
//! to port 0, driven over HTTP. Time comes from a manual clock the test controls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod twilio_sim;

use callvault_app::Settings;
use callvault_blob::BlobStore;
use callvault_core::user::{Role, Scope, User};
use callvault_core::{Clock, ManualClock};
use callvault_server::AppState;
use callvault_store::{NewUser, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

pub const START: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

pub struct TestServer {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub data_dir: PathBuf,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

pub struct Options {
    pub max_upload_bytes: u64,
    pub workers: bool,
    pub twilio: Option<callvault_app::settings::TwilioSettings>,
    /// The speech model; the one the test command installs (`CALLVAULT_TEST_MODEL`) by default.
    pub asr_model: Option<PathBuf>,
    /// The token `/metrics` asks for (`--metrics-token`).
    pub metrics_token: Option<String>,
    /// Timeouts and upload limits.
    pub http: callvault_app::settings::HttpLimits,
    /// `--trusted-proxies`.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `--webhook-allow-private`: the tests' receivers listen on 127.0.0.1.
    pub webhook_allow_private: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_upload_bytes: 50 * 1024 * 1024,
            workers: true,
            twilio: None,
            asr_model: std::env::var_os("CALLVAULT_TEST_MODEL").map(PathBuf::from),
            metrics_token: None,
            http: callvault_app::settings::HttpLimits::default(),
            trusted_proxies: Vec::new(),
            webhook_allow_private: false,
        }
    }
}

/// The database of a test's data folder: SQLite in the folder, or, when
/// `CALLVAULT_TEST_DATABASE_URL` names a PostgreSQL cluster, a database of its own there (its URL
/// kept in the folder, so a restart finds the same one).
async fn database_for(data_dir: &Path) -> String {
    let Ok(cluster) = std::env::var("CALLVAULT_TEST_DATABASE_URL") else {
        return format!("sqlite://{}", data_dir.join("callvault.db").display());
    };
    let kept = data_dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&kept) {
        return url;
    }
    let url = callvault_store_testing::create_database(&cluster).await;
    std::fs::create_dir_all(data_dir).expect("data folder");
    std::fs::write(&kept, &url).expect("database URL kept");
    url
}

/// The audio store of a test's data folder: a folder in it, or, when `CALLVAULT_TEST_BLOB_URL`
/// names an S3 bucket (its keys in `AWS_*`), a prefix of its own there (kept in the folder, so
/// a restart finds the same one).
fn blob_url_for(data_dir: &Path) -> String {
    let Ok(bucket) = std::env::var("CALLVAULT_TEST_BLOB_URL") else {
        return format!("file://{}", data_dir.join("recordings").display());
    };
    let kept = data_dir.join("test-blob-url");
    if let Ok(url) = std::fs::read_to_string(&kept) {
        return url;
    }
    let (location, query) = bucket.split_once('?').unwrap_or((&bucket, ""));
    let prefix = uuid::Uuid::now_v7().simple();
    let url = format!("{}/{prefix}?{query}", location.trim_end_matches('/'));
    std::fs::create_dir_all(data_dir).expect("data folder");
    std::fs::write(&kept, &url).expect("blob URL kept");
    url
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    /// Starts a server on a new temporary folder, removed with the server.
    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut server = Self::start_in(dir.path(), options).await;
        server._dir = Some(dir);
        server
    }

    /// Starts a server on data already in `data_dir` (to test restarts).
    pub async fn start_in(data_dir: &Path, options: Options) -> Self {
        let url = database_for(data_dir).await;
        let store = callvault_store_testing::open(&url)
            .await
            .expect("store opens");
        let blobs = BlobStore::open(&blob_url_for(data_dir)).expect("blobs");
        let clock = Arc::new(ManualClock::new(START));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let mut settings = Settings::new(&base, data_dir);
        settings.max_upload_bytes = options.max_upload_bytes;
        settings.workers = options.workers;
        settings.twilio = options.twilio;
        settings.metrics_token = options.metrics_token.map(secrecy::SecretString::from);
        settings.http = options.http;
        settings.trusted_proxies = options.trusted_proxies;
        settings.webhook_allow_private = options.webhook_allow_private;
        if let Some(model) = options.asr_model {
            settings.asr.model = model;
            settings.asr.install_default = false;
        }
        // Two threads: the machine the tests run on has two cores.
        settings.asr.engine.threads = 2;
        let state = AppState::from_app(callvault_app::App::new(
            store.clone(),
            blobs,
            clock.clone(),
            settings,
        ));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(callvault_server::serve(
            listener,
            state.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        let server = Self {
            base,
            http: reqwest::Client::new(),
            clock,
            store,
            data_dir: data_dir.to_owned(),
            state,
            shutdown: Some(tx),
            task: Some(task),
            _dir: None,
        };
        server.wait_ready().await;
        server
    }

    /// Polls /readyz until the server answers ready.
    async fn wait_ready(&self) {
        for _ in 0..500 {
            if let Ok(r) = self.http.get(format!("{}/readyz", self.base)).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the server never became ready");
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// A user made directly in the store, with an API token: the seed every test starts from.
    pub async fn user(
        &self,
        email: &str,
        role: Role,
        scope: Scope,
        can_download: bool,
        can_delete: bool,
    ) -> Client {
        let user = self
            .store
            .create_user(
                NewUser {
                    email: email.into(),
                    name: email.split('@').next().unwrap_or(email).to_owned(),
                    role,
                    scope,
                    can_download,
                    can_delete,
                    extension: None,
                    password_hash: Some(
                        callvault_app::passwords::hash_blocking("correct horse battery")
                            .expect("hash"),
                    ),
                },
                self.clock.now(),
            )
            .await
            .expect("user");
        let token = callvault_app::secrets::new_api_token();
        self.store
            .create_token(
                user.id,
                "test",
                &callvault_app::secrets::hash_secret(&token),
                START,
            )
            .await
            .expect("token");
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token: Some(token),
            user: Some(user),
            clock: self.clock.clone(),
        }
    }

    pub async fn admin(&self) -> Client {
        self.user("admin@example.com", Role::Admin, Scope::All, true, true)
            .await
    }

    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token: None,
            user: None,
            clock: self.clock.clone(),
        }
    }

    /// Files under the recordings folder (audio objects), and under the upload spool.
    /// The audio objects stored: on S3 as the bucket lists them; in the folder every file,
    /// unfinished uploads' staging files included.
    pub async fn audio_files(&self) -> Vec<String> {
        if self.data_dir.join("test-blob-url").exists() {
            return self
                .state
                .blobs
                .list_keys()
                .await
                .expect("the bucket lists");
        }
        files_under(&self.data_dir.join("recordings"))
            .into_iter()
            .map(|f| f.display().to_string())
            .collect()
    }

    pub fn spooled_files(&self) -> Vec<PathBuf> {
        files_under(&self.data_dir.join("tmp"))
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// An HTTP client acting as one user.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
    pub user: Option<User>,
    /// The server's clock, so seeding can move time past the calls it reports.
    pub clock: Arc<ManualClock>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The error code of a JSON error answer.
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

impl Client {
    pub fn id(&self) -> String {
        self.user
            .as_ref()
            .map(|u| u.id.to_string())
            .unwrap_or_default()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = build(req).send().await.expect("request reaches the server");
        Reply {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.bytes().await.expect("body").to_vec(),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, |r| r).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, |r| r).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, |r| r.json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, |r| r.json(&body)).await
    }

    /// Sends a body as it is, with the given content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let ct = content_type.to_owned();
        self.send(method, path, move |r| {
            r.header("content-type", ct).body(body)
        })
        .await
    }

    pub async fn upload(&self, call_id: &str, audio: Vec<u8>) -> Reply {
        self.raw(
            Method::PUT,
            &format!("/api/v1/calls/{call_id}/recording"),
            "audio/mpeg",
            audio,
        )
        .await
    }

    /// The audit log's entries for `action`, newest first, as an admin reads them (through
    /// the API's filter).
    pub async fn audit_entries(&self, action: &str) -> Vec<Value> {
        let reply = self
            .get(&format!("/api/v1/audit?limit=1000&action={action}"))
            .await;
        assert_eq!(reply.status, reqwest::StatusCode::OK, "{:?}", reply.json());
        reply.json()["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    // Seeding helpers, all through the API.

    pub async fn number(&self, e164: &str, recording: bool) -> Value {
        let r = self
            .post("/api/v1/numbers", json!({"e164": e164, "label": "Sales", "provider": "pbx", "call_recording": recording}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
        r.json()
    }

    pub async fn report(&self, body: Value) -> Reply {
        self.post("/api/v1/calls", body).await
    }

    /// An answered inbound call of one minute, started `minutes` after START (before it when
    /// negative). The clock moves past the call's end if it is not there yet.
    pub async fn answered_call(&self, number: &str, contact: &str, minutes: i64) -> Value {
        let start = START + time::Duration::minutes(minutes);
        if self.clock.now() < start + time::Duration::minutes(2) {
            self.clock.set(start + time::Duration::minutes(2));
        }
        let r = self
            .report(json!({
                "number": number,
                "contact_phone": contact,
                "direction": "inbound",
                "status": "answered",
                "started_at": rfc3339(start),
                "answered_at": rfc3339(start + time::Duration::seconds(4)),
                "ended_at": rfc3339(start + time::Duration::seconds(64)),
            }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json());
        r.json()
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("formats")
}

/// The repository's `fixtures/`, found from the running test's crate: cargo sets
/// `CARGO_MANIFEST_DIR` when it runs tests, and a test binary reused from a build cache shared
/// with another clone must not look in that clone.
pub fn fixtures_dir() -> PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
}

/// The 24-second two-channel call in four turns (see fixtures/make-fixtures.sh).
pub fn turns_mp3() -> Vec<u8> {
    std::fs::read(fixtures_dir().join("call-turns-2ch.mp3")).expect("fixture")
}

/// The two-channel test call (see fixtures/make-fixtures.sh).
pub fn call_mp3() -> Vec<u8> {
    std::fs::read(fixtures_dir().join("call-2ch.mp3")).expect("fixture")
}

pub fn json_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

/// Asks until the transcript is done or failed (two minutes at most: a busy machine transcribes slowly).
pub async fn finished(client: &Client, recording: &str) -> Value {
    let path = format!("/api/v1/recordings/{recording}/transcript");
    for _ in 0..1200 {
        let r = client.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
        let body = r.json();
        let status = json_of(&body, "status");
        assert!(
            ["queued", "running", "done", "failed"].contains(&status.as_str()),
            "{body}"
        );
        let progress = body["progress"].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&progress), "{body}");
        if status == "done" || status == "failed" {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the transcript did not finish within two minutes");
}
