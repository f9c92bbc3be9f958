//! The Inbox's Quick Filters beyond the channel: read from the page's query (as a form without
//! scripts sends them), handed to the API's inbox loader, and shown as chips that each remove
//! one filter.

use callvault_core::call::Direction;
use callvault_core::{NumberId, UserId};
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use super::PageError;
use crate::api::conversations::CallOutcome;

/// The filters as the page's query carries them (empty means "any").
#[derive(Debug, Default, Deserialize)]
pub struct FilterParams {
    pub direction: Option<String>,
    pub status: Option<String>,
    pub handled_by: Option<String>,
    pub number: Option<String>,
    /// A day, `YYYY-MM-DD` (UTC).
    pub since: Option<String>,
    /// A day, `YYYY-MM-DD` (UTC), included.
    pub until: Option<String>,
    pub unread: Option<String>,
}

/// The filters chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub direction: Option<Direction>,
    pub status: Option<CallOutcome>,
    pub handled_by: Option<UserId>,
    pub number: Option<NumberId>,
    pub since: Option<Date>,
    pub until: Option<Date>,
    pub unread: bool,
}

/// A filter in force, and the link that drops it.
pub struct Chip {
    pub label: String,
    pub remove: String,
}

fn given(raw: Option<&String>) -> Option<&str> {
    raw.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn day(raw: Option<&String>, name: &str) -> Result<Option<Date>, PageError> {
    let format = format_description!("[year]-[month]-[day]");
    given(raw)
        .map(|s| {
            Date::parse(s, &format).map_err(|_| {
                PageError::bad_request(format!("{name} is a day written as 2026-03-31."))
            })
        })
        .transpose()
}

fn id<T: std::str::FromStr>(raw: Option<&String>, what: &str) -> Result<Option<T>, PageError> {
    given(raw)
        .map(|s| {
            s.parse()
                .map_err(|_| PageError::bad_request(format!("That is not a {what} to filter by.")))
        })
        .transpose()
}

impl Filters {
    pub fn parse(p: &FilterParams) -> Result<Self, PageError> {
        let direction = match given(p.direction.as_ref()) {
            None => None,
            Some("inbound") => Some(Direction::Inbound),
            Some("outbound") => Some(Direction::Outbound),
            Some(_) => return Err(PageError::bad_request("Direction is inbound or outbound.")),
        };
        let status = match given(p.status.as_ref()) {
            None => None,
            Some("answered") => Some(CallOutcome::Answered),
            Some("missed") => Some(CallOutcome::Missed),
            Some(_) => return Err(PageError::bad_request("Status is answered or missed.")),
        };
        let since = day(p.since.as_ref(), "From")?;
        let until = day(p.until.as_ref(), "To")?;
        if let (Some(from), Some(to)) = (since, until)
            && to < from
        {
            return Err(PageError::bad_request("The To day is before the From day."));
        }
        Ok(Self {
            direction,
            status,
            handled_by: id(p.handled_by.as_ref(), "team member")?,
            number: id(p.number.as_ref(), "number")?,
            since,
            until,
            unread: matches!(given(p.unread.as_ref()), Some("true" | "on" | "1")),
        })
    }

    /// From the start of the From day.
    pub fn since_moment(&self) -> Option<OffsetDateTime> {
        self.since.map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
    }

    /// Before the day after the To day.
    pub fn until_moment(&self) -> Option<OffsetDateTime> {
        self.until
            .and_then(Date::next_day)
            .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
    }

    /// The query's pairs for these filters (for links that keep them).
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(d) = self.direction {
            pairs.push(("direction", d.as_str().to_owned()));
        }
        if let Some(s) = self.status {
            pairs.push(("status", s.as_str().to_owned()));
        }
        if let Some(u) = self.handled_by {
            pairs.push(("handled_by", u.to_string()));
        }
        if let Some(n) = self.number {
            pairs.push(("number", n.to_string()));
        }
        if let Some(d) = self.since {
            pairs.push(("since", d.to_string()));
        }
        if let Some(d) = self.until {
            pairs.push(("until", d.to_string()));
        }
        if self.unread {
            pairs.push(("unread", "true".to_owned()));
        }
        pairs
    }

    /// Each filter in force as a chip; `keep` are the page's other pairs (search text,
    /// channel), `name_of` names a team member or a number.
    pub fn chips(
        &self,
        keep: &[(&'static str, String)],
        user_name: impl Fn(UserId) -> String,
        number_name: impl Fn(NumberId) -> String,
    ) -> Vec<Chip> {
        let mut labelled: Vec<(&'static str, String)> = Vec::new();
        if let Some(d) = self.direction {
            labelled.push((
                "direction",
                match d {
                    Direction::Inbound => "Inbound".into(),
                    Direction::Outbound => "Outbound".into(),
                },
            ));
        }
        if let Some(s) = self.status {
            labelled.push((
                "status",
                match s {
                    CallOutcome::Answered => "Answered".into(),
                    CallOutcome::Missed => "Missed".into(),
                },
            ));
        }
        if let Some(u) = self.handled_by {
            labelled.push(("handled_by", format!("Handled by {}", user_name(u))));
        }
        if let Some(n) = self.number {
            labelled.push(("number", format!("On {}", number_name(n))));
        }
        if let Some(d) = self.since {
            labelled.push(("since", format!("From {d}")));
        }
        if let Some(d) = self.until {
            labelled.push(("until", format!("To {d}")));
        }
        if self.unread {
            labelled.push(("unread", "Unread".into()));
        }
        let all = self.pairs();
        labelled
            .into_iter()
            .map(|(name, label)| {
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(keep.iter().map(|(k, v)| (*k, v.as_str())))
                    .extend_pairs(
                        all.iter()
                            .filter(|(k, _)| *k != name)
                            .map(|(k, v)| (*k, v.as_str())),
                    )
                    .finish();
                Chip {
                    label,
                    remove: if query.is_empty() {
                        "/".to_owned()
                    } else {
                        format!("/?{query}")
                    },
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> FilterParams {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        FilterParams {
            direction: get("direction"),
            status: get("status"),
            handled_by: get("handled_by"),
            number: get("number"),
            since: get("since"),
            until: get("until"),
            unread: get("unread"),
        }
    }

    #[test]
    fn filters_read_from_the_query_and_chips_drop_one_each() {
        let f = Filters::parse(&params(&[
            ("direction", "inbound"),
            ("status", "missed"),
            ("since", "2026-03-01"),
            ("until", "2026-03-31"),
            ("unread", "true"),
        ]))
        .expect("valid");
        assert_eq!(
            f.until_moment().map(|t| t.date().to_string()),
            Some("2026-04-01".into())
        );
        let chips = f.chips(&[("q", "ada".into())], |_| String::new(), |_| String::new());
        let labels: Vec<&str> = chips.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Inbound",
                "Missed",
                "From 2026-03-01",
                "To 2026-03-31",
                "Unread"
            ]
        );
        assert_eq!(
            chips[1].remove,
            "/?q=ada&direction=inbound&since=2026-03-01&until=2026-03-31&unread=true"
        );
        assert!(
            Filters::parse(&FilterParams::default())
                .expect("none")
                .pairs()
                .is_empty()
        );
        for bad in [
            ("direction", "sideways"),
            ("status", "maybe"),
            ("since", "31/03/2026"),
            ("number", "not-an-id"),
        ] {
            assert!(Filters::parse(&params(&[bad])).is_err(), "{bad:?}");
        }
        assert!(
            Filters::parse(&params(&[("since", "2026-03-02"), ("until", "2026-03-01")])).is_err()
        );
    }
}
