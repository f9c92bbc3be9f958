//! How values read on a page: durations, times, statuses.

use callvault_core::call::{CallStatus, Direction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// `0:07`, `12:30`, `1:02:03`.
pub fn clock(total_s: u64) -> String {
    let (h, m, s) = (total_s / 3600, total_s / 60 % 60, total_s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A day, as a sentence names it: "1 Dec 2026" (UTC).
pub fn utc_date(t: OffsetDateTime) -> String {
    let fmt = format_description!("[day padding:none] [month repr:short] [year]");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

/// For a `<time datetime>` attribute; the page's script shows it in the viewer's time zone.
pub fn machine_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// What a page shows before its script has put the time in the viewer's zone (or without
/// scripts): the time in UTC, said so.
pub fn utc_time(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

pub fn status(status: CallStatus) -> &'static str {
    match status {
        CallStatus::Ringing => "In progress",
        CallStatus::Answered => "Answered",
        CallStatus::NoAnswer => "No answer",
        CallStatus::Busy => "Busy",
        CallStatus::Failed => "Failed",
    }
}

pub fn direction(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "Inbound",
        Direction::Outbound => "Outbound",
    }
}

/// Up to two letters for an avatar: "Ada Lovelace" → "AL"; a bare number → "#".
pub fn initials(name: &str) -> String {
    let letters: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_alphabetic())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "#".to_owned()
    } else {
        letters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(7), "0:07");
        assert_eq!(clock(750), "12:30");
        assert_eq!(clock(3723), "1:02:03");
    }

    #[test]
    fn times_say_their_zone() {
        let t = datetime!(2026-11-03 14:05:09 +01:00);
        assert_eq!(utc_time(t), "3 Nov 2026, 13:05 UTC");
        assert_eq!(machine_time(t), "2026-11-03T14:05:09+01:00");
    }

    #[test]
    fn initials_take_letters_only() {
        assert_eq!(initials("Ada  lovelace king"), "AL");
        assert_eq!(initials("+1 415 555 0100"), "#");
        assert_eq!(initials("Émile"), "É");
    }
}
