//! One load: `wrk` (keep-alive connections, its latency distribution) against one URL, with
//! the CPU time the serving processes spent meanwhile read from `/proc`.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

pub struct Load {
    pub url: String,
    /// Sent as a bearer token.
    pub token: Option<String>,
    /// The `Range` header, if any.
    pub range: Option<String>,
    pub clients: u32,
    pub duration: Duration,
}

pub struct Measured {
    pub requests_per_second: f64,
    /// Body bytes (what a player receives), in millions per second.
    pub megabytes_per_second: f64,
    pub p99_ms: f64,
    /// The serving processes' CPU time (user and system) per request answered.
    pub cpu_ms_per_request: f64,
}

/// Runs `load` while `pids` serve it; `body_bytes` is the size of each answer's body.
pub async fn run(load: &Load, pids: &[u32], body_bytes: u64) -> anyhow::Result<Measured> {
    let mut wrk = Command::new("wrk");
    wrk.arg(format!("--threads={}", load.clients.min(2)))
        .arg(format!("--connections={}", load.clients))
        .arg(format!("--duration={}s", load.duration.as_secs().max(1)))
        .arg("--latency");
    if let Some(token) = &load.token {
        wrk.arg("--header")
            .arg(format!("Authorization: Bearer {token}"));
    }
    if let Some(range) = &load.range {
        wrk.arg("--header").arg(format!("Range: {range}"));
    }
    wrk.arg(&load.url);
    let cpu_before = cpu_seconds(pids)?;
    let output = tokio::task::spawn_blocking(move || wrk.output())
        .await?
        .context("running wrk")?;
    let cpu = cpu_seconds(pids)? - cpu_before;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "wrk failed: {report}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let parsed =
        Report::parse(&report).with_context(|| format!("reading wrk's report:\n{report}"))?;
    if parsed.requests == 0 || parsed.errors {
        bail!("the load was not served cleanly:\n{report}");
    }
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let (requests, bytes) = (parsed.requests as f64, body_bytes as f64);
    Ok(Measured {
        requests_per_second: parsed.requests_per_second,
        megabytes_per_second: parsed.requests_per_second * bytes / 1e6,
        p99_ms: parsed.p99_ms,
        cpu_ms_per_request: cpu * 1000.0 / requests,
    })
}

/// What is read from wrk's report.
#[derive(Debug, PartialEq)]
struct Report {
    requests: u64,
    requests_per_second: f64,
    p99_ms: f64,
    /// Socket errors, or answers other than 2xx and 3xx.
    errors: bool,
}

impl Report {
    fn parse(text: &str) -> Option<Self> {
        let mut requests = None;
        let mut per_second = None;
        let mut p99 = None;
        let mut errors = false;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("Requests/sec:") {
                per_second = rest.trim().parse().ok();
            } else if let Some(rest) = line.strip_prefix("99%") {
                p99 = milliseconds(rest.trim());
            } else if line.starts_with("Non-2xx") || line.starts_with("Socket errors") {
                errors = true;
            } else if let Some((count, _)) = line.split_once(" requests in ") {
                requests = count.trim().parse().ok();
            }
        }
        Some(Self {
            requests: requests?,
            requests_per_second: per_second?,
            p99_ms: p99?,
            errors,
        })
    }
}

/// wrk's durations: `812.00us`, `1.23ms`, `2.01s`, `1.50m`.
fn milliseconds(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some(value * scale)
}

/// User and system CPU time of the processes so far, in seconds (their threads included,
/// those that ended too).
fn cpu_seconds(pids: &[u32]) -> anyhow::Result<f64> {
    let ticks_per_second = clock_ticks();
    let mut ticks = 0u64;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("reading /proc/{pid}/stat"))?;
        // The fields after the command name (in parentheses, which may hold spaces):
        // state is field 3, utime 14 and stime 15.
        let after = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("a /proc stat line")?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        for index in [11, 12] {
            ticks += fields
                .get(index)
                .and_then(|f| f.parse::<u64>().ok())
                .context("CPU times in /proc stat")?;
        }
    }
    #[allow(clippy::cast_precision_loss, reason = "ticks far below 2^52")]
    Ok(ticks as f64 / ticks_per_second)
}

/// The kernel's clock ticks per second, as `getconf` reports them (100 on Linux).
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrks_report() {
        let report = "Running 5s test @ http://127.0.0.1:8080/recording.mp3
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.61ms    3.02ms  41.85ms   79.40%
    Req/Sec     1.67k   123.45     2.00k    70.00%
  Latency Distribution
     50%    9.20ms
     75%   11.01ms
     90%   13.20ms
     99%  812.00us
  16678 requests in 5.00s, 39.77GB read
Requests/sec:   3333.91
Transfer/sec:      7.95GB
";
        assert_eq!(
            Report::parse(report),
            Some(Report {
                requests: 16678,
                requests_per_second: 3333.91,
                p99_ms: 0.812,
                errors: false
            })
        );
        let refused = format!("{report}  Non-2xx or 3xx responses: 16678\n");
        assert!(Report::parse(&refused).is_some_and(|r| r.errors));
        assert_eq!(milliseconds("2.5s"), Some(2500.0));
        assert_eq!(milliseconds("fast"), None);
    }
}
