//! Configuration, layered: built-in defaults, then the TOML file (`--config`), then
//! `CALLVAULT_*` environment variables, then flags. Secrets may also come from a file named
//! by `CALLVAULT_<NAME>_FILE`. A Debug print of the config never shows a secret.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use callvault_app::speech::DEFAULT_MODEL_DIR;
use callvault_core::phone::Region;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

// Each group of settings is declared once: every field is a flag with its variable (clap)
// and a key of the TOML file (serde, under the flag's name). Commands take the groups they use.

/// The settings every command uses (given before or after the command).
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct CommonArgs {
    /// TOML file with any of these settings (keys as the flags, without the dashes).
    #[arg(long, env = "CALLVAULT_CONFIG", global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where data lives, created on first start [default: ./data]
    #[arg(long, env = "CALLVAULT_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database [default: sqlite://<data-dir>/callvault.db]
    #[arg(
        long,
        env = "CALLVAULT_DATABASE_URL",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// Most connections to the database at once [default: 10]
    #[arg(
        long,
        env = "CALLVAULT_DATABASE_MAX_CONNECTIONS",
        global = true,
        value_name = "N"
    )]
    pub database_max_connections: Option<u32>,
    /// A database statement running longer is cancelled, in seconds (PostgreSQL) [default: 30]
    #[arg(
        long,
        env = "CALLVAULT_DATABASE_STATEMENT_TIMEOUT",
        global = true,
        value_name = "SECONDS"
    )]
    pub database_statement_timeout: Option<u64>,
    /// Apply pending database migrations at start; with false, a database that is behind is
    /// refused (run `callvault db migrate`) [default: true]
    #[arg(
        long,
        env = "CALLVAULT_DATABASE_MIGRATE",
        global = true,
        value_name = "BOOL"
    )]
    pub database_migrate: Option<bool>,
    /// Country for phone numbers typed without a country code, as two letters [default: US]
    #[arg(
        long,
        env = "CALLVAULT_DEFAULT_REGION",
        global = true,
        value_name = "CC"
    )]
    pub default_region: Option<String>,
    /// Log lines as text or JSON [default: text]
    #[arg(long, env = "CALLVAULT_LOG_FORMAT", global = true, value_enum)]
    pub log_format: Option<LogFormat>,
}
/// Where a server or worker answers HTTP.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct ListenArgs {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "CALLVAULT_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// A client must send a request's headers within this many seconds of connecting or of
    /// the previous answer (so it is also how long an idle connection is kept) [default: 10]
    #[arg(long, env = "CALLVAULT_HEADER_READ_TIMEOUT", value_name = "SECONDS")]
    pub header_read_timeout: Option<u64>,
    /// A request body that sends nothing for this many seconds is cut off [default: 30]
    #[arg(long, env = "CALLVAULT_BODY_IDLE_TIMEOUT", value_name = "SECONDS")]
    pub body_idle_timeout: Option<u64>,
}
/// What the web server tells people and providers.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct WebArgs {
    /// The URL people and the telephony provider use to reach this server [default: http://<listen>]
    #[arg(long, env = "CALLVAULT_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Reverse proxies in front of the server, as addresses or networks (10.0.0.0/8,
    /// 127.0.0.1): for a request from one of them, the client is the address it names in
    /// X-Forwarded-For (for sign-in throttling and the audit log) [default: none]
    #[arg(long, env = "CALLVAULT_TRUSTED_PROXIES", value_name = "CIDR,…")]
    pub trusted_proxies: Option<String>,
}
/// How large received recordings may be.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct UploadArgs {
    /// Largest recording upload accepted, in bytes [default: 1073741824]
    #[arg(long, env = "CALLVAULT_MAX_UPLOAD_BYTES", value_name = "BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// An upload slower than this on average, in bytes a second, after its first 10 seconds,
    /// is cut off (408) and its partial file removed [default: 4096]
    #[arg(long, env = "CALLVAULT_UPLOAD_MIN_RATE", value_name = "BYTES")]
    pub upload_min_rate: Option<u64>,
    /// Uploads received at once; more are answered 503 with Retry-After [default: 16]
    #[arg(long, env = "CALLVAULT_MAX_CONCURRENT_UPLOADS", value_name = "N")]
    pub max_concurrent_uploads: Option<usize>,
    /// Audio stored for a recording whose row never followed (the process died in between) is
    /// removed this many seconds after storing began; storing one recording must take less
    /// [default: 3600; at least 10]
    #[arg(long, env = "CALLVAULT_ORPHAN_AUDIO_GRACE", value_name = "SECONDS")]
    pub orphan_audio_grace: Option<u64>,
}
/// Where recordings' audio is kept.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct BlobArgs {
    /// Where recordings' audio is stored: file://FOLDER or
    /// s3://BUCKET[/PREFIX]?endpoint=…&region=… [default: file://<data-dir>/recordings]
    #[arg(long, env = "CALLVAULT_BLOB_URL", value_name = "URL")]
    pub blob_url: Option<String>,
}
/// The speech model.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct AsrArgs {
    /// Whisper model directory (CTranslate2 format) [default: <data-dir>/models/whisper-tiny.en]
    #[arg(long, env = "CALLVAULT_ASR_MODEL", value_name = "DIR")]
    pub asr_model: Option<PathBuf>,
    /// Threads one transcription uses (0: every core) [default: 0]
    #[arg(long, env = "CALLVAULT_ASR_THREADS", value_name = "N")]
    pub asr_threads: Option<usize>,
    /// How the speech model computes: int8, int8_float32, float32, int16 or default [default: int8]
    #[arg(long, env = "CALLVAULT_ASR_COMPUTE_TYPE", value_name = "TYPE")]
    pub asr_compute_type: Option<String>,
    /// Windows of 30 s the speech model reads in one pass (0: one per thread) [default: 0]
    #[arg(long, env = "CALLVAULT_ASR_BATCH_SIZE", value_name = "N")]
    pub asr_batch_size: Option<usize>,
    /// Beam size of the speech model's search (1 is greedy) [default: 5]
    #[arg(long, env = "CALLVAULT_ASR_BEAM_SIZE", value_name = "N")]
    pub asr_beam_size: Option<usize>,
    /// A worker frees the speech model after this many seconds without a transcription
    /// [default: 300]
    #[arg(long, env = "CALLVAULT_ASR_IDLE_UNLOAD", value_name = "SECONDS")]
    pub asr_idle_unload: Option<u64>,
}
/// Where outgoing webhooks may go.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct WebhookArgs {
    /// Let webhooks reach loopback and private addresses (a receiver on this machine or the
    /// same network); without it they reach only public addresses [default: false]
    #[arg(long, env = "CALLVAULT_WEBHOOK_ALLOW_PRIVATE", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub webhook_allow_private: Option<bool>,
}
/// The SIPREC recording server (`serve` only).
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct SiprecArgs {
    /// Also be a SIPREC recording server on this address (UDP and TCP), for phone systems
    /// that fork their calls to it (RFC 7866) [default: off]
    #[arg(long, env = "CALLVAULT_SIPREC_LISTEN", value_name = "ADDR")]
    pub siprec_listen: Option<SocketAddr>,
    /// The recording clients (SBCs, PBXs) that may record, as addresses or networks; anyone
    /// else gets 403 [default: none]
    #[arg(long, env = "CALLVAULT_SIPREC_ALLOW", value_name = "CIDR,…")]
    pub siprec_allow: Option<String>,
    /// The user recording clients authenticate new sessions as (SIP digest), with
    /// --siprec-password; with --siprec-allow too, both must pass [default: none]
    #[arg(long, env = "CALLVAULT_SIPREC_USER", value_name = "NAME")]
    pub siprec_user: Option<String>,
    /// The password for --siprec-user (or from the file CALLVAULT_SIPREC_PASSWORD_FILE names)
    #[arg(
        long,
        env = "CALLVAULT_SIPREC_PASSWORD",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub siprec_password: Option<String>,
    /// Also take SIP over TLS on this address (usually port 5061), with --siprec-tls-cert
    /// and --siprec-tls-key [default: off]
    #[arg(long, env = "CALLVAULT_SIPREC_TLS_LISTEN", value_name = "ADDR")]
    pub siprec_tls_listen: Option<SocketAddr>,
    /// The certificate chain (PEM) SIP over TLS is served with
    #[arg(long, env = "CALLVAULT_SIPREC_TLS_CERT", value_name = "FILE")]
    pub siprec_tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM)
    #[arg(long, env = "CALLVAULT_SIPREC_TLS_KEY", value_name = "FILE")]
    pub siprec_tls_key: Option<PathBuf>,
    /// Ports RTP is received on [default: 20000-29999]
    #[arg(long, env = "CALLVAULT_SIPREC_RTP_PORTS", value_name = "FIRST-LAST")]
    pub siprec_rtp_ports: Option<String>,
    /// The address recording clients send RTP to, written into SDP answers [default: the
    /// --siprec-listen address, or this machine's first non-loopback address when that is a
    /// wildcard]
    #[arg(long, env = "CALLVAULT_SIPREC_MEDIA_ADDRESS", value_name = "IP")]
    pub siprec_media_address: Option<std::net::IpAddr>,
}
/// Who may read `/metrics`.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct MetricsArgs {
    /// `/metrics` answers only with `Authorization: Bearer <token>` (on a server's --listen,
    /// where it is otherwise not served, and on a worker's)
    #[arg(
        long,
        env = "CALLVAULT_METRICS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub metrics_token: Option<String>,
    /// Also serve `/metrics`, without a token, on this address (one only the monitoring
    /// reaches)
    #[arg(long, env = "CALLVAULT_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
}
/// The Twilio account whose numbers call in.
#[derive(Debug, Default, Clone, clap::Args, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct TwilioArgs {
    /// Twilio account whose numbers call in
    #[arg(long, env = "CALLVAULT_TWILIO_ACCOUNT_SID", value_name = "SID")]
    pub twilio_account_sid: Option<String>,
    /// Twilio auth token: signs webhooks and fetches recordings
    #[arg(
        long,
        env = "CALLVAULT_TWILIO_AUTH_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub twilio_auth_token: Option<String>,
    /// Recording media is fetched only from URLs under this base [default: https://api.twilio.com]
    #[arg(long, env = "CALLVAULT_TWILIO_API_BASE", value_name = "URL")]
    pub twilio_api_base: Option<String>,
}
/// What a server and a worker both take: where they listen, how large a recording may be, the
/// audio store, the speech model and the Twilio account.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ProcessArgs {
    #[command(flatten)]
    pub listen: ListenArgs,
    #[command(flatten)]
    pub uploads: UploadArgs,
    #[command(flatten)]
    pub blob: BlobArgs,
    #[command(flatten)]
    pub asr: AsrArgs,
    #[command(flatten)]
    pub twilio: TwilioArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

impl ProcessArgs {
    /// Puts these groups into `args`.
    pub fn fill(&self, args: &mut ConfigArgs) {
        args.listen = self.listen.clone();
        args.uploads = self.uploads.clone();
        args.blob = self.blob.clone();
        args.asr = self.asr.clone();
        args.twilio = self.twilio.clone();
        args.metrics = self.metrics.clone();
        args.webhooks = self.webhooks.clone();
    }
}

/// Every group, as one command line (or the file) gives them; a command's groups it does not
/// take stay empty.
#[derive(Debug, Default, Clone)]
pub struct ConfigArgs {
    pub common: CommonArgs,
    pub listen: ListenArgs,
    pub web: WebArgs,
    pub uploads: UploadArgs,
    pub blob: BlobArgs,
    pub asr: AsrArgs,
    pub twilio: TwilioArgs,
    pub metrics: MetricsArgs,
    pub webhooks: WebhookArgs,
    pub siprec: SiprecArgs,
}

impl ConfigArgs {
    /// The file's keys: every setting's flag name.
    fn known_keys() -> Vec<String> {
        let mut command = clap::Command::new("callvault");
        command = <CommonArgs as clap::Args>::augment_args(command);
        command = <ListenArgs as clap::Args>::augment_args(command);
        command = <WebArgs as clap::Args>::augment_args(command);
        command = <UploadArgs as clap::Args>::augment_args(command);
        command = <BlobArgs as clap::Args>::augment_args(command);
        command = <AsrArgs as clap::Args>::augment_args(command);
        command = <TwilioArgs as clap::Args>::augment_args(command);
        command = <MetricsArgs as clap::Args>::augment_args(command);
        command = <WebhookArgs as clap::Args>::augment_args(command);
        command = <SiprecArgs as clap::Args>::augment_args(command);
        command
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned))
            .collect()
    }

    fn from_table(table: toml::Table) -> Result<Self, toml::de::Error> {
        Ok(Self {
            common: table.clone().try_into()?,
            listen: table.clone().try_into()?,
            web: table.clone().try_into()?,
            uploads: table.clone().try_into()?,
            blob: table.clone().try_into()?,
            asr: table.clone().try_into()?,
            twilio: table.clone().try_into()?,
            metrics: table.clone().try_into()?,
            webhooks: table.clone().try_into()?,
            siprec: table.clone().try_into()?,
        })
    }
}

/// The settings in force.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: SecretString,
    pub database: callvault_store::DatabaseOptions,
    pub blob_url: String,
    pub public_url: String,
    pub asr_model: PathBuf,
    /// Whether `asr_model` is the default folder (installed automatically when missing).
    pub asr_model_is_default: bool,
    pub asr: callvault_asr::EngineOptions,
    pub asr_idle_unload: std::time::Duration,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<SecretString>,
    pub twilio_api_base: String,
    pub metrics_token: Option<SecretString>,
    pub metrics_listen: Option<SocketAddr>,
    pub default_region: Region,
    pub max_upload_bytes: u64,
    pub orphan_audio_grace: time::Duration,
    pub http: callvault_app::settings::HttpLimits,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub webhook_allow_private: bool,
    /// The SIPREC recording server, when `--siprec-listen` is set.
    pub siprec: Option<callvault_siprec::SiprecConfig>,
    pub log_format: LogFormat,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &callvault_store::redact_url(self.database_url.expose_secret()),
            )
            .field("database", &self.database)
            .field("blob_url", &self.blob_url)
            .field("public_url", &self.public_url)
            .field("asr_model", &self.asr_model)
            .field("asr", &self.asr)
            .field("asr_idle_unload", &self.asr_idle_unload)
            .field("twilio_account_sid", &self.twilio_account_sid)
            .field(
                "twilio_auth_token",
                &self.twilio_auth_token.as_ref().map(|_| "[redacted]"),
            )
            .field("twilio_api_base", &self.twilio_api_base)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "[redacted]"),
            )
            .field("metrics_listen", &self.metrics_listen)
            .field("default_region", &self.default_region)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("orphan_audio_grace", &self.orphan_audio_grace)
            .field("http", &self.http)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("webhook_allow_private", &self.webhook_allow_private)
            .field("siprec", &self.siprec)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// Networks separated by commas; a bare address is a network of one.
impl ConfigArgs {
    fn siprec_config(
        &self,
        file: &ConfigArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Option<callvault_siprec::SiprecConfig>> {
        let Some(listen) = self.siprec.siprec_listen.or(file.siprec.siprec_listen) else {
            return Ok(None);
        };
        let allow = parse_networks(
            self.siprec
                .siprec_allow
                .as_deref()
                .or(file.siprec.siprec_allow.as_deref())
                .unwrap_or(""),
        )
        .context("siprec-allow")?;
        let rtp_ports = match self
            .siprec
            .siprec_rtp_ports
            .as_deref()
            .or(file.siprec.siprec_rtp_ports.as_deref())
        {
            None => callvault_siprec::DEFAULT_RTP_PORTS,
            Some(text) => {
                let (first, last) = text
                    .split_once('-')
                    .and_then(|(a, b)| {
                        Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?))
                    })
                    .filter(|(a, b)| a < b && *a > 0)
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "siprec-rtp-ports: {text:?} is not a range like 20000-29999"
                        )
                    })?;
                first..=last
            }
        };
        let user = self
            .siprec
            .siprec_user
            .clone()
            .or(file.siprec.siprec_user.clone());
        let password = match self.siprec.siprec_password.clone() {
            Some(password) => Some(password),
            None => secret_file("SIPREC_PASSWORD", env)?.or(file.siprec.siprec_password.clone()),
        };
        let credentials = match (user, password) {
            (Some(user), Some(password)) if !user.is_empty() && !password.is_empty() => {
                Some((user, password))
            }
            (None, None) => None,
            _ => anyhow::bail!("siprec-user and siprec-password go together, neither empty"),
        };
        let tls = match self
            .siprec
            .siprec_tls_listen
            .or(file.siprec.siprec_tls_listen)
        {
            None => None,
            Some(tls_listen) => {
                let read = |given: Option<&PathBuf>, what: &str| -> anyhow::Result<Vec<u8>> {
                    let path = given
                        .with_context(|| format!("siprec-tls-listen needs siprec-tls-{what}"))?;
                    std::fs::read(path)
                        .with_context(|| format!("siprec-tls-{what}: reading {}", path.display()))
                };
                Some(callvault_siprec::SiprecTls {
                    listen: tls_listen,
                    cert_pem: read(
                        self.siprec
                            .siprec_tls_cert
                            .as_ref()
                            .or(file.siprec.siprec_tls_cert.as_ref()),
                        "cert",
                    )?,
                    key_pem: read(
                        self.siprec
                            .siprec_tls_key
                            .as_ref()
                            .or(file.siprec.siprec_tls_key.as_ref()),
                        "key",
                    )?,
                })
            }
        };
        Ok(Some(callvault_siprec::SiprecConfig {
            listen,
            allow: callvault_siprec::AllowList::new(allow),
            credentials,
            tls,
            rtp_ports,
            media_address: self
                .siprec
                .siprec_media_address
                .or(file.siprec.siprec_media_address),
        }))
    }
}

fn parse_networks(text: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<ipnet::IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("{part:?} is not an address or a network like 10.0.0.0/8")
                })
        })
        .collect()
}

/// Reads a secret from the file `CALLVAULT_<NAME>_FILE` names, if it is set.
fn secret_file(name: &str, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<String>> {
    let var = format!("CALLVAULT_{name}_FILE");
    let Some(path) = env(&var) else {
        return Ok(None);
    };
    let content =
        std::fs::read_to_string(&path).with_context(|| format!("reading {var} ({path})"))?;
    Ok(Some(content.trim_end_matches(['\n', '\r']).to_owned()))
}

fn read_file_config(path: &Path) -> anyhow::Result<ConfigArgs> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    // Keys may be written like the flags (data-dir) or like the variables (data_dir).
    let table: toml::Table = table
        .into_iter()
        .map(|(k, v)| (k.replace('_', "-"), v))
        .collect();
    let known = ConfigArgs::known_keys();
    if let Some(unknown) = table.keys().find(|k| !known.contains(k)) {
        bail!("{}: unknown setting {unknown:?}", path.display());
    }
    ConfigArgs::from_table(table).with_context(|| format!("in {}", path.display()))
}

impl ConfigArgs {
    /// Resolves the settings in force, looking up `*_FILE` secrets through `env`.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let file = match &self.common.config {
            Some(path) => read_file_config(path)?,
            None => ConfigArgs::default(),
        };
        let siprec = self.siprec_config(&file, env).context("siprec")?;
        let listen = self
            .listen
            .listen
            .or(file.listen.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let data_dir = self
            .common
            .data_dir
            .clone()
            .or(file.common.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = match self.common.database_url.clone() {
            Some(url) => url,
            None => secret_file("DATABASE_URL", env)?
                .or(file.common.database_url)
                .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("callvault.db").display())),
        };
        let defaults_db = callvault_store::DatabaseOptions::default();
        let database = callvault_store::DatabaseOptions {
            max_connections: self
                .common
                .database_max_connections
                .or(file.common.database_max_connections)
                .unwrap_or(defaults_db.max_connections),
            statement_timeout: self
                .common
                .database_statement_timeout
                .or(file.common.database_statement_timeout)
                .map_or(
                    defaults_db.statement_timeout,
                    std::time::Duration::from_secs,
                ),
            migrate: self
                .common
                .database_migrate
                .or(file.common.database_migrate)
                .unwrap_or(defaults_db.migrate),
            ..defaults_db
        };
        if !(1..=1000).contains(&database.max_connections) {
            bail!(
                "database-max-connections must be 1 to 1000 (got {})",
                database.max_connections
            );
        }
        if database.statement_timeout.is_zero() {
            bail!("database-statement-timeout must be at least 1 second");
        }
        let twilio_account_sid = match self.twilio.twilio_account_sid.clone() {
            Some(sid) => Some(sid),
            None => secret_file("TWILIO_ACCOUNT_SID", env)?.or(file.twilio.twilio_account_sid),
        };
        let twilio_auth_token = match self.twilio.twilio_auth_token.clone() {
            Some(token) => Some(token),
            None => secret_file("TWILIO_AUTH_TOKEN", env)?.or(file.twilio.twilio_auth_token),
        };
        let metrics_token = match self.metrics.metrics_token.clone() {
            Some(token) => Some(token),
            None => secret_file("METRICS_TOKEN", env)?.or(file.metrics.metrics_token),
        };
        if metrics_token.as_ref().is_some_and(|t| t.trim().len() < 16) {
            bail!("metrics-token must be at least 16 characters");
        }
        let http_defaults = callvault_app::settings::HttpLimits::default();
        let seconds =
            |flag: Option<u64>, file: Option<u64>, default: std::time::Duration, name: &str| {
                match flag.or(file) {
                    Some(0) => bail!("{name} must be at least 1 second"),
                    Some(s) => Ok(std::time::Duration::from_secs(s)),
                    None => Ok(default),
                }
            };
        let http = callvault_app::settings::HttpLimits {
            header_read_timeout: seconds(
                self.listen.header_read_timeout,
                file.listen.header_read_timeout,
                http_defaults.header_read_timeout,
                "header-read-timeout",
            )?,
            body_idle_timeout: seconds(
                self.listen.body_idle_timeout,
                file.listen.body_idle_timeout,
                http_defaults.body_idle_timeout,
                "body-idle-timeout",
            )?,
            upload_min_rate: self
                .uploads
                .upload_min_rate
                .or(file.uploads.upload_min_rate)
                .unwrap_or(http_defaults.upload_min_rate),
            max_concurrent_uploads: self
                .uploads
                .max_concurrent_uploads
                .or(file.uploads.max_concurrent_uploads)
                .unwrap_or(http_defaults.max_concurrent_uploads),
            upload_grace: http_defaults.upload_grace,
        };
        if http.max_concurrent_uploads == 0 {
            bail!("max-concurrent-uploads must be at least 1");
        }
        let orphan_audio_grace = match self
            .uploads
            .orphan_audio_grace
            .or(file.uploads.orphan_audio_grace)
        {
            None => callvault_app::settings::DEFAULT_ORPHAN_AUDIO_GRACE,
            Some(s) => {
                let grace = time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
                if grace < callvault_app::settings::MIN_ORPHAN_AUDIO_GRACE {
                    bail!("orphan-audio-grace must be at least 10 seconds");
                }
                grace
            }
        };
        let trusted_proxies = parse_networks(
            self.web
                .trusted_proxies
                .as_deref()
                .or(file.web.trusted_proxies.as_deref())
                .unwrap_or(""),
        )
        .context("trusted-proxies")?;
        let region_text = self
            .common
            .default_region
            .clone()
            .or(file.common.default_region)
            .unwrap_or_else(|| "US".into());
        let default_region: Region = region_text
            .parse()
            .map_err(|e| anyhow::anyhow!("default-region: {e}"))?;
        let public_url = self
            .web
            .public_url
            .clone()
            .or(file.web.public_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("public-url must start with http:// or https:// (got {public_url:?})");
        }
        let twilio_api_base = self
            .twilio
            .twilio_api_base
            .clone()
            .or(file.twilio.twilio_api_base)
            .unwrap_or_else(|| "https://api.twilio.com".into())
            .trim_end_matches('/')
            .to_owned();
        if !(twilio_api_base.starts_with("http://") || twilio_api_base.starts_with("https://")) {
            bail!("twilio-api-base must start with http:// or https:// (got {twilio_api_base:?})");
        }
        let asr_model = self.asr.asr_model.clone().or(file.asr.asr_model);
        let defaults = callvault_asr::EngineOptions::default();
        let asr = callvault_asr::EngineOptions {
            threads: self
                .asr
                .asr_threads
                .or(file.asr.asr_threads)
                .unwrap_or(defaults.threads),
            compute_type: self
                .asr
                .asr_compute_type
                .clone()
                .or(file.asr.asr_compute_type)
                .unwrap_or(defaults.compute_type),
            beam_size: self
                .asr
                .asr_beam_size
                .or(file.asr.asr_beam_size)
                .unwrap_or(defaults.beam_size),
            batch: self
                .asr
                .asr_batch_size
                .or(file.asr.asr_batch_size)
                .unwrap_or(defaults.batch),
        };
        callvault_asr::check_compute_type(&asr.compute_type)
            .map_err(|e| anyhow::anyhow!("asr-compute-type: {e}"))?;
        if asr.batch > 32 {
            bail!("asr-batch-size must be 0 to 32 (got {})", asr.batch);
        }
        if !(1..=16).contains(&asr.beam_size) {
            bail!("asr-beam-size must be 1 to 16 (got {})", asr.beam_size);
        }
        Ok(Config {
            listen,
            blob_url: self
                .blob
                .blob_url
                .clone()
                .or(file.blob.blob_url)
                .unwrap_or_else(|| format!("file://{}", data_dir.join("recordings").display())),
            public_url,
            asr_model_is_default: asr_model.is_none(),
            asr_model: asr_model.unwrap_or_else(|| data_dir.join("models").join(DEFAULT_MODEL_DIR)),
            asr,
            asr_idle_unload: self
                .asr
                .asr_idle_unload
                .or(file.asr.asr_idle_unload)
                .map_or(
                    callvault_app::speech::DEFAULT_IDLE_UNLOAD,
                    std::time::Duration::from_secs,
                ),
            twilio_account_sid,
            twilio_auth_token: twilio_auth_token.map(SecretString::from),
            twilio_api_base,
            metrics_token: metrics_token.map(SecretString::from),
            metrics_listen: self.metrics.metrics_listen.or(file.metrics.metrics_listen),
            default_region,
            max_upload_bytes: self
                .uploads
                .max_upload_bytes
                .or(file.uploads.max_upload_bytes)
                .unwrap_or(1024 * 1024 * 1024),
            orphan_audio_grace,
            http,
            trusted_proxies,
            siprec,
            webhook_allow_private: self
                .webhooks
                .webhook_allow_private
                .or(file.webhooks.webhook_allow_private)
                .unwrap_or(false),
            log_format: self
                .common
                .log_format
                .or(file.common.log_format)
                .unwrap_or_default(),
            database_url: SecretString::from(database_url),
            database,
            data_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_follow_the_data_dir_and_listen_address() {
        let args = ConfigArgs {
            common: CommonArgs {
                data_dir: Some("/srv/cv".into()),
                ..CommonArgs::default()
            },
            ..ConfigArgs::default()
        };
        let c = args.resolve(&no_env).expect("resolves");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            c.database_url.expose_secret(),
            "sqlite:///srv/cv/callvault.db"
        );
        assert_eq!(c.blob_url, "file:///srv/cv/recordings");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.asr_model, PathBuf::from("/srv/cv/models/whisper-tiny.en"));
        assert_eq!(c.twilio_api_base, "https://api.twilio.com");
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("callvault.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\ndata_dir = \"/from/file\"\npublic-url = \"https://calls.example.com/\"\n")
            .expect("write");
        let args = ConfigArgs {
            common: CommonArgs {
                config: Some(path),
                data_dir: Some("/from/flag".into()),
                ..CommonArgs::default()
            },
            ..ConfigArgs::default()
        };
        let c = args.resolve(&no_env).expect("resolves");
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(c.public_url, "https://calls.example.com");
    }

    #[test]
    fn unknown_keys_in_the_file_are_an_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("callvault.toml");
        std::fs::write(&path, "listne = \"0.0.0.0:9000\"\n").expect("write");
        let err = ConfigArgs {
            common: CommonArgs {
                config: Some(path),
                ..CommonArgs::default()
            },
            ..ConfigArgs::default()
        }
        .resolve(&no_env);
        assert!(err.is_err());
    }

    #[test]
    fn secrets_come_from_files_and_never_show_in_debug() {
        let dir = tempfile::tempdir().expect("tmp");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "s3cr3t-token\n").expect("write");
        let db_file = dir.path().join("db");
        std::fs::write(&db_file, "postgres://app:hunter2@db.internal/callvault").expect("write");
        let token_path = token_file.display().to_string();
        let db_path = db_file.display().to_string();
        let env = move |name: &str| match name {
            "CALLVAULT_TWILIO_AUTH_TOKEN_FILE" => Some(token_path.clone()),
            "CALLVAULT_DATABASE_URL_FILE" => Some(db_path.clone()),
            _ => None,
        };
        let c = ConfigArgs::default().resolve(&env).expect("resolves");
        assert_eq!(
            c.twilio_auth_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("s3cr3t-token".into())
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://app:[redacted]@db.internal/callvault"),
            "{shown}"
        );
    }

    #[test]
    fn bad_values_are_refused() {
        let bad_region = ConfigArgs {
            common: CommonArgs {
                default_region: Some("Narnia".into()),
                ..CommonArgs::default()
            },
            ..ConfigArgs::default()
        };
        assert!(bad_region.resolve(&no_env).is_err());
        let bad_url = ConfigArgs {
            web: WebArgs {
                public_url: Some("calls.example.com".into()),
                ..WebArgs::default()
            },
            ..ConfigArgs::default()
        };
        assert!(bad_url.resolve(&no_env).is_err());
        let grace = |seconds| ConfigArgs {
            uploads: UploadArgs {
                orphan_audio_grace: Some(seconds),
                ..UploadArgs::default()
            },
            ..ConfigArgs::default()
        };
        let said = grace(9)
            .resolve(&no_env)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(said.contains("orphan-audio-grace"), "{said}");
        let resolved = grace(10).resolve(&no_env).map(|c| c.orphan_audio_grace);
        assert_eq!(resolved.ok(), Some(time::Duration::seconds(10)));
        let bad_proxy = ConfigArgs {
            web: WebArgs {
                trusted_proxies: Some("10.0.0.0/8, the proxy".into()),
                ..WebArgs::default()
            },
            ..ConfigArgs::default()
        };
        let said = bad_proxy
            .resolve(&no_env)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(
            said.contains("trusted-proxies") && said.contains("the proxy"),
            "{said}"
        );
        let proxies = ConfigArgs {
            web: WebArgs {
                trusted_proxies: Some("10.0.0.0/8, 127.0.0.1,::1".into()),
                ..WebArgs::default()
            },
            ..ConfigArgs::default()
        };
        let resolved = proxies
            .resolve(&no_env)
            .map(|c| c.trusted_proxies.len())
            .ok();
        assert_eq!(resolved, Some(3));
    }

    #[test]
    fn siprec_settings_that_cannot_work_are_refused_with_their_name() {
        let no_env = |_: &str| None;
        let with = |siprec: SiprecArgs| {
            ConfigArgs {
                siprec,
                ..ConfigArgs::default()
            }
            .resolve(&no_env)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default()
        };
        let listen = Some(SocketAddr::from(([127, 0, 0, 1], 5060)));
        let said = with(SiprecArgs {
            siprec_listen: listen,
            siprec_rtp_ports: Some("30000-20000".into()),
            ..SiprecArgs::default()
        });
        assert!(said.contains("siprec-rtp-ports"), "{said}");
        let said = with(SiprecArgs {
            siprec_listen: listen,
            siprec_user: Some("sbc".into()),
            ..SiprecArgs::default()
        });
        assert!(said.contains("siprec-password"), "{said}");
        let said = with(SiprecArgs {
            siprec_listen: listen,
            siprec_tls_listen: Some(SocketAddr::from(([127, 0, 0, 1], 5061))),
            ..SiprecArgs::default()
        });
        assert!(said.contains("siprec-tls-cert"), "{said}");
        let fine = ConfigArgs {
            siprec: SiprecArgs {
                siprec_listen: listen,
                siprec_allow: Some("10.0.0.0/8".into()),
                siprec_rtp_ports: Some("40000-40999".into()),
                ..SiprecArgs::default()
            },
            ..ConfigArgs::default()
        }
        .resolve(&no_env)
        .ok()
        .and_then(|c| c.siprec)
        .map(|s| s.rtp_ports);
        assert_eq!(fine, Some(40000..=40999));
    }
}
