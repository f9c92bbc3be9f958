//! `callvault bench serve`: a recording streamed by `callvault serve` (sign-in by token,
//! permission check, Range) against nginx serving the same MP3 file from disk, on the same
//! machine, under the same `wrk` load: 1, 8 and 32 keep-alive clients, whole files and 64 KiB
//! ranges. The last line is `ratio <worst callvault/nginx throughput at 32 clients>` for the
//! audio in a folder; with `--s3-url` the same runs against a bucket are printed beside.

mod load;
mod nginx;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use load::{Load, Measured};

use super::process::{Install, Server};

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Length of the recording served, in minutes.
    #[arg(long, default_value_t = 10)]
    pub minutes: u32,
    /// How long each load runs, in seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u32,
    /// Also serve the audio from this bucket (`s3://BUCKET[/PREFIX]?endpoint=…&region=…`,
    /// keys from the AWS_* variables, as for `serve --blob-url`).
    #[arg(long, value_name = "URL")]
    pub s3_url: Option<String>,
}

const CLIENTS: [u32; 3] = [1, 8, 32];
const NUMBER: &str = "+14155550000";
const RANGE_BYTES: u64 = 64 * 1024;

/// What is asked for: the whole file, or 64 KiB from its middle.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Request {
    Full,
    Range,
}

impl Request {
    fn label(self) -> &'static str {
        match self {
            Self::Full => "full file",
            Self::Range => "64 KiB range",
        }
    }
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    for tool in ["wrk", "nginx"] {
        if which(tool).is_none() {
            bail!("`{tool}` is needed (apt-get install {tool})");
        }
    }
    let work = tempfile::tempdir().context("a work folder")?;
    // nginx's workers run as an unprivileged user; they must reach the file.
    set_mode(work.path(), 0o755)?;
    let wav = work.path().join("call.wav");
    let seconds = options.minutes.max(1) * 60;
    tokio::task::spawn_blocking({
        let wav = wav.clone();
        move || super::signal::write_call(&wav, 8000, 2, seconds)
    })
    .await??;

    let (folder, recording) = callvault_serving(work.path(), "folder", None, &wav).await?;
    let mp3 = folder.download(&recording).await?;
    println!(
        "a {}-minute two-channel call: {} bytes of MP3, served by callvault from a folder{} and by nginx from a file",
        options.minutes.max(1),
        mp3.len(),
        if options.s3_url.is_some() {
            " and a bucket"
        } else {
            ""
        },
    );
    let web = work.path().join("www");
    std::fs::create_dir(&web)?;
    set_mode(&web, 0o755)?;
    std::fs::write(web.join("recording.mp3"), &mp3)?;
    set_mode(&web.join("recording.mp3"), 0o644)?;
    let nginx = nginx::Nginx::start(work.path(), &web)?;

    let on_s3 = match &options.s3_url {
        Some(url) => Some(callvault_serving(work.path(), "s3", Some(url), &wav).await?),
        None => None,
    };

    let duration = Duration::from_secs(u64::from(options.seconds.max(1)));
    let middle = (mp3.len() as u64 / 2).saturating_sub(RANGE_BYTES / 2);
    let range = format!("bytes={}-{}", middle, middle + RANGE_BYTES - 1);
    println!(
        "\n{:<18} {:<13} {:>7} {:>10} {:>9} {:>9} {:>13} {:>8}",
        "server", "request", "clients", "req/s", "MB/s", "p99 ms", "CPU ms/req", "x nginx"
    );
    let mut worst: Option<f64> = None;
    for request in [Request::Full, Request::Range] {
        let header = (request == Request::Range).then_some(range.as_str());
        for clients in CLIENTS {
            let load = |url: String, token: Option<String>| Load {
                url,
                token,
                range: header.map(str::to_owned),
                clients,
                duration,
            };
            let body = if header.is_some() {
                RANGE_BYTES
            } else {
                mp3.len() as u64
            };
            let base = nginx.measure(&load(nginx.url(), None), body).await?;
            print_row("nginx", request, clients, &base, None);
            let ours = measure(&folder, &recording, &load, body).await?;
            let ratio = ours.requests_per_second / base.requests_per_second;
            print_row("callvault folder", request, clients, &ours, Some(ratio));
            if clients == 32 {
                worst = Some(worst.map_or(ratio, |w: f64| w.min(ratio)));
            }
            if let Some((s3, id)) = &on_s3 {
                let measured = measure(s3, id, &load, body).await?;
                let ratio = measured.requests_per_second / base.requests_per_second;
                print_row("callvault S3", request, clients, &measured, Some(ratio));
            }
        }
    }
    println!("\nratio {:.2}", worst.unwrap_or(0.0));
    Ok(())
}

/// A `callvault serve` of its own under `work/name` (the audio in the bucket at `blob_url`, or
/// in its folder) holding `wav` as a recording, and the recording's id.
async fn callvault_serving(
    work: &Path,
    name: &str,
    blob_url: Option<&str>,
    wav: &Path,
) -> anyhow::Result<(Server, String)> {
    let data_dir = work.join(name);
    // No transcriptions run, so no speech model is installed.
    let mut settings: Vec<OsString> = vec!["--asr-model".into(), data_dir.join("no-model").into()];
    if let Some(url) = blob_url {
        settings.extend(["--blob-url".into(), url.into()]);
    }
    let server = Install::new(&data_dir, settings)?.serve(&[]).await?;
    server.add_number(NUMBER, "pbx").await?;
    let recording = server.upload_call(NUMBER, wav).await?;
    Ok((server, recording))
}

/// The player's endpoint of `recording` under `load` (with the server's token).
async fn measure(
    server: &Server,
    recording: &str,
    load: &impl Fn(String, Option<String>) -> Load,
    body_bytes: u64,
) -> anyhow::Result<Measured> {
    let url = format!("{}/api/v1/recordings/{recording}/audio", server.base);
    load::run(
        &load(url, Some(server.token.clone())),
        &[server.pid()],
        body_bytes,
    )
    .await
}

fn print_row(server: &str, request: Request, clients: u32, m: &Measured, ratio: Option<f64>) {
    println!(
        "{:<18} {:<13} {:>7} {:>10.0} {:>9.1} {:>9.2} {:>13.3} {:>8}",
        server,
        request.label(),
        clients,
        m.requests_per_second,
        m.megabytes_per_second,
        m.p99_ms,
        m.cpu_ms_per_request,
        ratio.map_or_else(String::new, |r| format!("{r:.2}"))
    );
}

fn which(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}
