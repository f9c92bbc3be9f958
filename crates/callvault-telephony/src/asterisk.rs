//! Asterisk's call detail records as `cdr_csv` writes them (`Master.csv`), and the recordings
//! MixMonitor leaves beside them.
//!
//! Columns, in order: accountcode, src, dst, dcontext, clid, channel, dstchannel, lastapp,
//! lastdata, start, answer, end, duration, billsec, disposition, amaflags, uniqueid,
//! userfield (the last two when `loguniqueid` and `loguserfield` are on, as they are by
//! default). Times are the PBX's local time unless it was told to use UTC.

use std::io::Read;

use callvault_core::call::{CallStatus, Direction};
use callvault_core::phone::E164;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use time::OffsetDateTime;

/// How a call ended, in Asterisk's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Answered,
    NoAnswer,
    Busy,
    Failed,
    /// All circuits busy: the network, not the callee, refused the call.
    Congestion,
}

impl Disposition {
    fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "ANSWERED" => Some(Self::Answered),
            "NO ANSWER" => Some(Self::NoAnswer),
            "BUSY" => Some(Self::Busy),
            "FAILED" => Some(Self::Failed),
            "CONGESTION" => Some(Self::Congestion),
            _ => None,
        }
    }

    /// The call status shown for it; congestion is a failed call.
    #[must_use]
    pub fn status(self) -> CallStatus {
        match self {
            Self::Answered => CallStatus::Answered,
            Self::NoAnswer => CallStatus::NoAnswer,
            Self::Busy => CallStatus::Busy,
            Self::Failed | Self::Congestion => CallStatus::Failed,
        }
    }
}

/// One call detail record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cdr {
    /// Line in the file, from 1, for messages.
    pub line: u64,
    pub src: String,
    pub dst: String,
    pub clid: String,
    /// The calling side's channel (`PJSIP/201-00000003` for an extension placing a call).
    pub channel: String,
    /// The answering side's channel (`PJSIP/201-00000002` for an extension that answered).
    pub dstchannel: String,
    pub start: OffsetDateTime,
    /// When the call was answered; only for answered calls.
    pub answer: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    /// Seconds from answer to hang-up.
    pub billsec: u64,
    pub disposition: Disposition,
    pub uniqueid: String,
}

/// A record that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct CdrError {
    pub line: u64,
    pub reason: String,
}

const COLUMNS: usize = 17;

/// Reads every record of a `Master.csv`, in order; times are read in `zone`.
pub fn read_cdrs<R: Read>(
    input: R,
    zone: &TimeZone,
) -> impl Iterator<Item = Result<Cdr, CdrError>> {
    let zone = zone.clone();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input)
        .into_records()
        .enumerate()
        .map(move |(i, record)| {
            let line = record
                .as_ref()
                .ok()
                .and_then(|r| r.position())
                .map_or(i as u64 + 1, |p| p.line());
            let record = record.map_err(|e| CdrError {
                line,
                reason: format!("not CSV: {e}"),
            })?;
            parse_record(&record, line, &zone).map_err(|reason| CdrError { line, reason })
        })
}

fn parse_record(r: &csv::StringRecord, line: u64, zone: &TimeZone) -> Result<Cdr, String> {
    if r.len() < COLUMNS {
        return Err(format!(
            "{} columns, expected at least {COLUMNS} (is loguniqueid on in cdr.conf?)",
            r.len()
        ));
    }
    let field = |i: usize| r.get(i).unwrap_or_default().trim().to_owned();
    let time = |i: usize, name: &str| -> Result<Option<OffsetDateTime>, String> {
        let raw = field(i);
        if raw.is_empty() {
            return Ok(None);
        }
        local_time(&raw, zone)
            .map(Some)
            .map_err(|e| format!("{name} time {raw:?}: {e}"))
    };
    let disposition = Disposition::parse(&field(14))
        .ok_or_else(|| format!("unknown disposition {:?}", field(14)))?;
    let start = time(9, "start")?.ok_or("the start time is empty")?;
    let answer = if disposition == Disposition::Answered {
        time(10, "answer")?
    } else {
        None
    };
    let uniqueid = field(16);
    if uniqueid.is_empty() {
        return Err("the uniqueid is empty".into());
    }
    Ok(Cdr {
        line,
        src: field(1),
        dst: field(2),
        clid: field(4),
        channel: field(5),
        dstchannel: field(6),
        start,
        answer,
        end: time(11, "end")?,
        billsec: field(13)
            .parse()
            .map_err(|_| format!("billsec {:?} is not a number", field(13)))?,
        disposition,
        uniqueid,
    })
}

fn local_time(raw: &str, zone: &TimeZone) -> Result<OffsetDateTime, String> {
    let civil: DateTime = raw.parse().map_err(|e: jiff::Error| e.to_string())?;
    let instant = zone
        .to_ambiguous_timestamp(civil)
        .compatible()
        .map_err(|e| e.to_string())?;
    OffsetDateTime::from_unix_timestamp_nanos(instant.as_nanosecond()).map_err(|e| e.to_string())
}

/// The name in a caller ID such as `"Ana Souza" <4155550100>`, if it has one that is more
/// than the number again.
#[must_use]
pub fn caller_name(clid: &str) -> Option<String> {
    let name = match clid.find('<') {
        Some(at) => &clid[..at],
        None => clid,
    };
    let name = name.trim().trim_matches('"').trim();
    let is_number = name
        .chars()
        .all(|c| c.is_ascii_digit() || "+-() ".contains(c));
    (!name.is_empty() && !is_number).then(|| name.to_owned())
}

/// The number in a caller ID such as `"Sales" <4155550000>` (the trunk's caller ID on a call
/// an extension places).
#[must_use]
pub fn caller_number(clid: &str) -> Option<&str> {
    let inside = clid.split_once('<')?.1.split('>').next()?.trim();
    (!inside.is_empty()).then_some(inside)
}

/// The endpoint a channel name gives: `PJSIP/201-00000002` → `201`, `SIP/alice-0000a1f` →
/// `alice`, `Local/201@from-internal-00000001;1` → `201`. For an extension's channel this is
/// the extension; for a trunk's, the trunk's name.
#[must_use]
pub fn channel_endpoint(channel: &str) -> Option<&str> {
    let (_technology, rest) = channel.trim().split_once('/')?;
    let rest = rest.split(';').next().unwrap_or(rest);
    // The part after the last dash is the channel's counter.
    let endpoint = rest.rsplit_once('-').map_or(rest, |(endpoint, _)| endpoint);
    let endpoint = endpoint.split('@').next().unwrap_or(endpoint).trim();
    (!endpoint.is_empty()).then_some(endpoint)
}

/// Which way a call went, seen from the business: the side that is one of its numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parties {
    pub direction: Direction,
    /// The business's number.
    pub ours: E164,
    /// The other party.
    pub theirs: E164,
}

/// Works out direction from which of `src` and `dst` is one of the business's numbers. A call
/// from something that is not a phone number (an extension) to an outside number went out on
/// `outbound_number`, when one can be told.
pub fn parties(
    src: Option<E164>,
    dst: Option<E164>,
    is_ours: impl Fn(&E164) -> bool,
    outbound_number: Option<E164>,
) -> Result<Parties, String> {
    let src_ours = src.as_ref().is_some_and(&is_ours);
    let dst_ours = dst.as_ref().is_some_and(&is_ours);
    match (src, dst) {
        (None, Some(dst)) if !dst_ours => match outbound_number {
            Some(ours) => Ok(Parties {
                direction: Direction::Outbound,
                ours,
                theirs: dst,
            }),
            None => Err(
                "an extension called out and no number can be told (give --outbound-number)".into(),
            ),
        },
        (Some(src), Some(dst)) if dst_ours && !src_ours => Ok(Parties {
            direction: Direction::Inbound,
            ours: dst,
            theirs: src,
        }),
        (Some(src), Some(dst)) if src_ours && !dst_ours => Ok(Parties {
            direction: Direction::Outbound,
            ours: src,
            theirs: dst,
        }),
        _ if src_ours && dst_ours => {
            Err("both sides are the business's numbers (an internal call)".into())
        }
        _ if src_ours || dst_ours => Err("the other side is not a phone number".into()),
        _ => Err("neither side is a configured number".into()),
    }
}

/// The uniqueid-like tokens (`1709389200.123`) in a recording's file name: MixMonitor names
/// files after the call's uniqueid, with whatever prefix the dialplan adds.
pub fn uniqueid_tokens(file_name: &str) -> impl Iterator<Item = &str> {
    file_name
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| {
            t.split_once('.')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('.'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const CSV: &str = r#""","4155550100","4155550000","from-external","""Ana Souza"" <4155550100>","PJSIP/trunk-00000001","PJSIP/201-00000002","Dial","PJSIP/201,30","2026-03-02 14:15:00","2026-03-02 14:15:06","2026-03-02 14:19:42",282,276,"ANSWERED","DOCUMENTATION","1709389200.123",""
"","201","4155550199","from-internal","""Sales"" <4155550000>","PJSIP/201-00000003","","Dial","PJSIP/trunk/4155550199","2026-03-02 15:00:00","","2026-03-02 15:00:25",25,0,"NO ANSWER","DOCUMENTATION","1709392800.7",""
"","4155550100","4155550000","from-external","","PJSIP/trunk-1","","Dial","","2026-03-02 16:00:00","","2026-03-02 16:00:05",5,0,"CONGESTION","DOCUMENTATION","1709396400.9",""
"","1","2","ctx","","","","","","yesterday","","",0,0,"ANSWERED","","1.2",""
"","1","2","ctx","","","","","","2026-03-02 16:00:00","","",0,0,"HUNG UP","","1.3",""
"#;

    fn records() -> Vec<Result<Cdr, CdrError>> {
        let zone = TimeZone::get("America/Los_Angeles").expect("zone");
        read_cdrs(CSV.as_bytes(), &zone).collect()
    }

    #[test]
    fn records_read_in_the_pbx_time_zone() {
        let all = records();
        let first = all[0].as_ref().expect("first record");
        assert_eq!(
            first.start,
            datetime!(2026-03-02 22:15:00 UTC),
            "14:15 in Los Angeles"
        );
        assert_eq!(first.answer, Some(datetime!(2026-03-02 22:15:06 UTC)));
        assert_eq!(first.billsec, 276);
        assert_eq!(first.disposition.status(), CallStatus::Answered);
        assert_eq!(first.uniqueid, "1709389200.123");
        assert_eq!(caller_name(&first.clid).as_deref(), Some("Ana Souza"));
        let second = all[1].as_ref().expect("second record");
        assert_eq!(
            (second.disposition.status(), second.answer),
            (CallStatus::NoAnswer, None)
        );
        assert_eq!(
            all[2].as_ref().map(|r| r.disposition.status()).ok(),
            Some(CallStatus::Failed),
            "congestion"
        );
    }

    #[test]
    fn bad_records_say_what_is_wrong_and_where() {
        let all = records();
        let bad_time = all[3].as_ref().expect_err("bad time");
        assert_eq!(bad_time.line, 4);
        assert!(
            bad_time.reason.contains("start time \"yesterday\""),
            "{bad_time}"
        );
        let bad_disposition = all[4].as_ref().expect_err("bad disposition");
        assert!(
            bad_disposition.reason.contains("HUNG UP"),
            "{bad_disposition}"
        );
        let short: Vec<_> = read_cdrs("\"\",\"1\",\"2\"\n".as_bytes(), &TimeZone::UTC).collect();
        assert!(
            short[0]
                .as_ref()
                .is_err_and(|e| e.reason.contains("loguniqueid"))
        );
    }

    #[test]
    fn caller_names_without_the_number() {
        assert_eq!(caller_name("\"Ana\" <100>").as_deref(), Some("Ana"));
        assert_eq!(caller_name("Bob <100>").as_deref(), Some("Bob"));
        assert_eq!(caller_name("\"4155550100\" <4155550100>"), None);
        assert_eq!(caller_name(""), None);
    }

    #[test]
    fn direction_follows_the_configured_number() {
        let e = |s: &str| E164::parse(s, callvault_core::phone::Region::us()).ok();
        let ours = e("4155550000").expect("number");
        let is_ours = |n: &E164| *n == ours;
        let inbound = parties(e("4155550100"), e("4155550000"), is_ours, None).expect("inbound");
        assert_eq!(
            (inbound.direction, inbound.theirs.as_str()),
            (Direction::Inbound, "+14155550100")
        );
        let outbound = parties(e("4155550000"), e("4155550199"), is_ours, None).expect("outbound");
        assert_eq!(outbound.direction, Direction::Outbound);
        assert!(parties(e("4155550100"), e("4155550199"), is_ours, None).is_err());
        assert!(parties(e("4155550000"), None, is_ours, None).is_err());
        // An extension calling out: the number it went out on, when one can be told.
        let from_extension = parties(None, e("4155550199"), is_ours, Some(ours.clone()))
            .expect("outbound from an extension");
        assert_eq!(
            (from_extension.direction, from_extension.ours.as_str()),
            (Direction::Outbound, "+14155550000")
        );
        assert!(parties(None, e("4155550199"), is_ours, None).is_err());
        // Two extensions: an internal call, not the business's.
        assert!(parties(None, None, is_ours, Some(ours.clone())).is_err());
    }

    #[test]
    fn channels_name_the_extension_and_caller_ids_the_number() {
        assert_eq!(channel_endpoint("PJSIP/201-00000002"), Some("201"));
        assert_eq!(channel_endpoint("SIP/alice-0000a1f"), Some("alice"));
        assert_eq!(
            channel_endpoint("Local/201@from-internal-00000001;1"),
            Some("201")
        );
        assert_eq!(
            channel_endpoint("PJSIP/trunk-out-0000000a"),
            Some("trunk-out")
        );
        assert_eq!(channel_endpoint(""), None);
        assert_eq!(channel_endpoint("garbage"), None);
        assert_eq!(caller_number("\"Sales\" <4155550000>"), Some("4155550000"));
        assert_eq!(caller_number("Sales"), None);
    }

    #[test]
    fn uniqueids_are_found_in_recording_names() {
        let tokens: Vec<_> =
            uniqueid_tokens("in-4155550000-4155550100-20260302-141500-1709389200.123.wav")
                .collect();
        assert_eq!(tokens, vec!["1709389200.123"]);
        assert_eq!(
            uniqueid_tokens("1709389200.123.WAV").collect::<Vec<_>>(),
            vec!["1709389200.123"]
        );
        assert!(uniqueid_tokens("recording-2026.wav").next().is_none());
    }
}
