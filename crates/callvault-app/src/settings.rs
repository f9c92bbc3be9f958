//! What the services need to know about their surroundings, decided once by the binary.

use std::path::PathBuf;

use callvault_core::phone::Region;
use secrecy::SecretString;
use time::Duration;

/// The Twilio account whose numbers call in.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    /// Signs webhooks and authenticates media downloads.
    pub auth_token: SecretString,
    /// Recording media is fetched only from URLs under this base.
    pub api_base: String,
}

/// Transcription.
#[derive(Debug, Clone)]
pub struct AsrSettings {
    /// A CTranslate2 Whisper model folder.
    pub model: PathBuf,
    /// Whether `model` is the default folder, which the server fills with the default model
    /// when it is missing.
    pub install_default: bool,
    pub engine: callvault_asr::EngineOptions,
    /// The model is freed after this long without a transcription.
    pub idle_unload: std::time::Duration,
}

/// Limits on what clients may hold open, against slow or idle ones.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// A request's headers must arrive within this of connecting or of the previous response.
    pub header_read_timeout: std::time::Duration,
    /// A request body that sends nothing for this long is cut off.
    pub body_idle_timeout: std::time::Duration,
    /// An upload slower than this on average (bytes per second, after its first
    /// `upload_grace`) is cut off and its spool file removed.
    pub upload_min_rate: u64,
    /// How long an upload may take before its average rate is judged (a connection's start
    /// is slow: TCP slow start, a TLS handshake at the proxy).
    pub upload_grace: std::time::Duration,
    /// Uploads received at once; more are answered 503 with Retry-After.
    pub max_concurrent_uploads: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: std::time::Duration::from_secs(10),
            body_idle_timeout: std::time::Duration::from_secs(30),
            upload_min_rate: 4096,
            upload_grace: std::time::Duration::from_secs(10),
            max_concurrent_uploads: 16,
        }
    }
}

/// See [`Settings::orphan_audio_grace`]; the shortest allowed is [`MIN_ORPHAN_AUDIO_GRACE`].
pub const DEFAULT_ORPHAN_AUDIO_GRACE: Duration = Duration::hours(1);
/// Shorter, and a slow upload to S3 could see its object collected before its row is written.
pub const MIN_ORPHAN_AUDIO_GRACE: Duration = Duration::seconds(10);

#[derive(Debug, Clone)]
pub struct Settings {
    /// The URL people and providers use to reach the server (webhook signatures and cookie
    /// security follow it).
    pub public_url: String,
    /// Where temporary uploads are kept while they are checked.
    pub data_dir: PathBuf,
    /// How to read phone numbers typed without a country code.
    pub default_region: Region,
    /// Largest JSON body accepted.
    pub max_json_bytes: usize,
    /// Largest recording upload accepted.
    pub max_upload_bytes: u64,
    /// An audio object whose recording row never followed (the process storing it died) is
    /// removed this long after storing began; storing one recording must take less.
    pub orphan_audio_grace: Duration,
    /// How long a sign-in lasts.
    pub session_ttl: Duration,
    /// Whether this process runs the background workers.
    pub workers: bool,
    pub twilio: Option<TwilioSettings>,
    pub asr: AsrSettings,
    /// The bearer token `/metrics` asks for; without one it is not served on the main
    /// listener (a worker's, an operations port, serves it openly).
    pub metrics_token: Option<SecretString>,
    pub http: HttpLimits,
    /// Proxies whose `X-Forwarded-For` says who the client is (`--trusted-proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Webhooks may reach loopback and private addresses (`--webhook-allow-private`: tests,
    /// receivers on the same network).
    pub webhook_allow_private: bool,
}

impl Settings {
    /// Settings for a server whose data lives in `data_dir`, with every other value at its
    /// default.
    #[must_use]
    pub fn new(public_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            public_url: public_url.into(),
            default_region: Region::us(),
            max_json_bytes: 1024 * 1024,
            max_upload_bytes: 1024 * 1024 * 1024,
            orphan_audio_grace: DEFAULT_ORPHAN_AUDIO_GRACE,
            session_ttl: Duration::days(14),
            workers: true,
            twilio: None,
            metrics_token: None,
            http: HttpLimits::default(),
            trusted_proxies: Vec::new(),
            webhook_allow_private: false,
            asr: AsrSettings {
                model: data_dir
                    .join("models")
                    .join(crate::speech::DEFAULT_MODEL_DIR),
                install_default: true,
                engine: callvault_asr::EngineOptions::default(),
                idle_unload: crate::speech::DEFAULT_IDLE_UNLOAD,
            },
            data_dir,
        }
    }

    /// Cookies are marked Secure when people reach the server over HTTPS.
    #[must_use]
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The public URL of one of our paths, as providers are told to call it.
    #[must_use]
    pub fn public(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }

    #[must_use]
    pub fn upload_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }

    /// A new file in the upload folder (made if missing), removed when dropped; one a crash
    /// leaves behind is removed by the sweep at start (`spool::sweep`).
    pub async fn spool_file(&self, suffix: &str) -> std::io::Result<tempfile::NamedTempFile> {
        let dir = self.upload_dir();
        tokio::fs::create_dir_all(&dir).await?;
        tempfile::Builder::new().suffix(suffix).tempfile_in(&dir)
    }
}
