//! `callvault import asterisk`: calls from Asterisk's `Master.csv`, with the MixMonitor
//! recordings found beside them. Safe to run again: calls already imported are skipped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use callvault_app::{App, ingest};
use callvault_core::call::{CallTimes, Direction};
use callvault_core::phone::E164;
use callvault_core::user::normalise_extension;
use callvault_store::NewCall;
use callvault_telephony::asterisk::{
    Cdr, caller_name, caller_number, channel_endpoint, parties, read_cdrs, uniqueid_tokens,
};
use indicatif::{ProgressBar, ProgressStyle};

use super::open_app;
use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum ImportCommand {
    /// Calls from Asterisk's cdr_csv (Master.csv) and their MixMonitor recordings.
    Asterisk {
        /// The CDR file, usually /var/log/asterisk/cdr-csv/Master.csv.
        #[arg(long, value_name = "FILE")]
        cdr: PathBuf,
        /// Folder searched (with its subfolders) for recordings named after each call's uniqueid,
        /// usually /var/spool/asterisk/monitor.
        #[arg(long, value_name = "DIR")]
        recordings: Option<PathBuf>,
        /// Time zone the CDR times are in (the PBX's), like Europe/Lisbon [default: this machine's]
        #[arg(long, value_name = "ZONE")]
        timezone: Option<String>,
        /// The number calls placed from extensions went out on, when the caller ID does not
        /// name one of your numbers [default: your only number, if you have one]
        #[arg(long, value_name = "E164")]
        outbound_number: Option<String>,
        #[command(flatten)]
        blob: crate::config::BlobArgs,
    },
}

/// What one run did.
#[derive(Default)]
struct Summary {
    imported: u64,
    recordings: u64,
    skipped: BTreeMap<String, u64>,
    failed: Vec<String>,
}

pub async fn run(config: Config, command: ImportCommand) -> anyhow::Result<()> {
    let ImportCommand::Asterisk {
        cdr,
        recordings,
        timezone,
        outbound_number,
        ..
    } = command;
    let zone = match &timezone {
        Some(name) => {
            jiff::tz::TimeZone::get(name).with_context(|| format!("unknown time zone {name:?}"))?
        }
        None => jiff::tz::TimeZone::system(),
    };
    let state = open_app(&config, false).await?;
    let ours = ingest::configured_numbers(&state).await?;
    if ours.is_empty() {
        bail!(
            "no phone numbers are configured; add the PBX's numbers first (POST /api/v1/numbers)"
        );
    }
    let outbound_number = match outbound_number {
        Some(raw) => {
            let number = E164::parse(&raw, state.settings.default_region)
                .with_context(|| format!("--outbound-number {raw:?}"))?;
            if !ours.contains(&number) {
                bail!("--outbound-number {raw} is not one of the configured numbers");
            }
            Some(number)
        }
        None => match ours.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        },
    };
    let numbers = Numbers {
        ours: &ours,
        outbound: outbound_number.as_ref(),
    };
    let index = match &recordings {
        Some(dir) => index_recordings(dir)?,
        None => HashMap::new(),
    };
    let text = std::fs::read(&cdr).with_context(|| format!("reading {}", cdr.display()))?;
    let lines = text.iter().filter(|b| **b == b'\n').count() as u64;
    let progress = ProgressBar::new(lines).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} calls {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut summary = Summary::default();
    for record in read_cdrs(text.as_slice(), &zone) {
        progress.inc(1);
        match record {
            Ok(record) => import_one(&state, numbers, &index, &record, &mut summary).await,
            Err(e) => summary.failed.push(e.to_string()),
        }
        progress.set_message(format!("{} imported", summary.imported));
    }
    progress.finish_and_clear();

    println!(
        "imported {} calls, {} recordings",
        summary.imported, summary.recordings
    );
    let skipped: u64 = summary.skipped.values().sum();
    println!("skipped {skipped}");
    for (reason, n) in &summary.skipped {
        println!("  {n} × {reason}");
    }
    println!("failed {}", summary.failed.len());
    for failure in &summary.failed {
        println!("  {failure}");
    }
    callvault_app::audit::record_system(
        &state,
        callvault_store::AuditAction::Import,
        serde_json::json!({
            "imported": summary.imported, "recordings": summary.recordings,
            "skipped": skipped, "failed": summary.failed.len(),
        }),
    )
    .await;
    if !summary.failed.is_empty() {
        bail!(
            "{} records could not be imported (listed above)",
            summary.failed.len()
        );
    }
    Ok(())
}

/// The configured numbers, and the one calls from extensions went out on.
#[derive(Clone, Copy)]
struct Numbers<'a> {
    ours: &'a [E164],
    outbound: Option<&'a E164>,
}

/// Who handled a call: the user whose extension the channel on the business's side names
/// (the one that answered an inbound call, the one that placed an outbound one).
async fn handler(state: &App, cdr: &Cdr, direction: Direction) -> Option<callvault_core::UserId> {
    let channel = match direction {
        Direction::Inbound => &cdr.dstchannel,
        Direction::Outbound => &cdr.channel,
    };
    let extension = normalise_extension(channel_endpoint(channel)?)?;
    let user = state.store.user_by_extension(&extension).await.ok()??;
    Some(user.id)
}

async fn import_one(
    state: &App,
    numbers: Numbers<'_>,
    index: &HashMap<String, PathBuf>,
    cdr: &Cdr,
    summary: &mut Summary,
) {
    let region = state.settings.default_region;
    let parsed = |raw: &str| E164::parse(raw, region).ok();
    let ours = numbers.ours;
    // An extension's call goes out with the trunk's caller ID: one of ours, when it names one.
    let outbound_number = caller_number(&cdr.clid)
        .and_then(parsed)
        .filter(|n| ours.contains(n))
        .or_else(|| numbers.outbound.cloned());
    let parties = match parties(
        parsed(&cdr.src),
        parsed(&cdr.dst),
        |n| ours.contains(n),
        outbound_number,
    ) {
        Ok(parties) => parties,
        Err(reason) => {
            *summary.skipped.entry(reason).or_default() += 1;
            return;
        }
    };
    let status = cdr.disposition.status();
    let times = match CallTimes::new(status, cdr.start, cdr.answer, cdr.end, state.now()) {
        Ok(times) => times,
        Err(e) => return summary.failed.push(format!("line {}: {e}", cdr.line)),
    };
    let (theirs_raw, name) = match parties.direction {
        Direction::Inbound => (cdr.src.clone(), caller_name(&cdr.clid)),
        Direction::Outbound => (cdr.dst.clone(), None),
    };
    let call = NewCall {
        number: parties.ours,
        contact_phone: parties.theirs,
        contact_phone_raw: theirs_raw,
        contact_name: name,
        direction: parties.direction,
        status,
        times,
        handled_by: handler(state, cdr, parties.direction).await,
        source: "asterisk".into(),
        external_id: Some(cdr.uniqueid.clone()),
    };
    let reported = match state.store.report_call(call, state.now()).await {
        Ok(reported) => reported,
        Err(e) => return summary.failed.push(format!("line {}: {e}", cdr.line)),
    };
    if reported.created {
        summary.imported += 1;
    }
    let Some(file) = index.get(&cdr.uniqueid) else {
        if !reported.created {
            *summary
                .skipped
                .entry("already imported".into())
                .or_default() += 1;
        }
        return;
    };
    let record = &reported.record;
    if record.recording.is_some() {
        *summary
            .skipped
            .entry("already imported".into())
            .or_default() += 1;
    } else if !record.call.recording_allowed {
        *summary
            .skipped
            .entry(
                "recording left out: recording was off for the number when the call started".into(),
            )
            .or_default() += 1;
    } else {
        match ingest::store_recording(state, record.call.id, file, false, None).await {
            Ok(_) => summary.recordings += 1,
            Err(e) => summary.failed.push(format!(
                "line {}: recording {}: {}",
                cdr.line,
                file.display(),
                e
            )),
        }
    }
}

/// Every file under `dir` by the uniqueids in its name; the largest wins when several share one.
fn index_recordings(dir: &Path) -> anyhow::Result<HashMap<String, PathBuf>> {
    let mut index: HashMap<String, (u64, PathBuf)> = HashMap::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries =
            std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                folders.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            for token in uniqueid_tokens(&name) {
                let slot = index.entry(token.to_owned()).or_insert((0, path.clone()));
                if meta.len() >= slot.0 {
                    *slot = (meta.len(), path.clone());
                }
            }
        }
    }
    Ok(index
        .into_iter()
        .map(|(id, (_, path))| (id, path))
        .collect())
}
