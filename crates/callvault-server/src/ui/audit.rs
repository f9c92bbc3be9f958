//! Settings → Audit (admins): the audit log, filtered by person, action, contact and days,
//! newest first a page at a time, with the same filters as a CSV download. Contacts are named
//! as they are now (the entries themselves hold ids only).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use callvault_core::{ContactId, UserId};
use callvault_store::{AuditAction, AuditEntry, AuditFilter};
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use super::chrome::{self, Chrome, PageQuery, PageUser, Section};
use super::{PageError, assets, format};
use crate::api::paging::{decode_audit_cursor, encode_audit_cursor};
use crate::state::AppState;

/// Entries a page shows.
const PAGE: u32 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    contact_id: Option<String>,
    /// A day, `YYYY-MM-DD` (UTC).
    since: Option<String>,
    /// A day, `YYYY-MM-DD` (UTC), included.
    until: Option<String>,
    before: Option<String>,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct Row {
    at_machine: String,
    at_text: String,
    who: String,
    what: String,
    target: String,
    /// The contact, named, and their conversation when there is one.
    contact: Option<(String, Option<String>)>,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    assets: &'static str,
    chrome: Chrome,
    people: Vec<Choice>,
    actions: Vec<Choice>,
    /// The contact filtered on, named, with the link that drops the filter.
    contact: Option<(String, String)>,
    contact_id: String,
    since: String,
    until: String,
    rows: Vec<Row>,
    older: Option<String>,
    csv: String,
}

fn given(raw: Option<&String>) -> Option<&str> {
    raw.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn parsed<T: std::str::FromStr>(raw: Option<&String>, name: &str) -> Result<Option<T>, PageError> {
    given(raw)
        .map(|s| {
            s.parse().map_err(|_| {
                PageError::bad_request(format!("That {name} is not one callvault knows."))
            })
        })
        .transpose()
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

fn rfc3339(t: OffsetDateTime) -> String {
    format::machine_time(t)
}

/// `key=value` pairs of what a query keeps, for links.
fn query(pairs: &[(&str, String)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

/// The entry's detail as a line: `recordings: 3 · scope: contact`.
fn detail_line(detail: &serde_json::Value) -> String {
    match detail {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                serde_json::Value::Array(items) => format!("{k}: {}", items.len()),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(" · "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub async fn page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    PageQuery(p): PageQuery<AuditParams>,
) -> Result<Response, PageError> {
    let actor: Option<UserId> = parsed(p.actor.as_ref(), "person")?;
    let contact: Option<ContactId> = parsed(p.contact_id.as_ref(), "contact")?;
    let action = given(p.action.as_ref())
        .map(|a| {
            AuditAction::parse(a)
                .ok_or_else(|| PageError::bad_request("That action is not one callvault records."))
        })
        .transpose()?;
    let since = day(p.since.as_ref(), "From")?;
    let until = day(p.until.as_ref(), "To")?;
    let filter = AuditFilter {
        actor,
        action,
        contact,
        since: since.map(|d| d.with_time(Time::MIDNIGHT).assume_utc()),
        until: until
            .and_then(Date::next_day)
            .map(|d| d.with_time(Time::MIDNIGHT).assume_utc()),
    };
    let before = decode_audit_cursor(p.before.as_deref()).map_err(|_| {
        PageError::bad_request("That link to older entries is not one callvault made.")
    })?;
    let page = callvault_app::audit::page(&state, &user, &filter, before, PAGE).await?;
    let users = callvault_app::users::list(&state, &user).await?;

    // Each contact on the page, named once.
    let mut contacts: HashMap<ContactId, Option<(String, Option<String>)>> = HashMap::new();
    for id in page
        .items
        .iter()
        .filter_map(|e| e.contact_id)
        .chain(contact)
    {
        if let std::collections::hash_map::Entry::Vacant(slot) = contacts.entry(id) {
            let found = state.store.contact(id).await?;
            slot.insert(found.map(|c| {
                (
                    c.name,
                    c.conversation_id.map(|v| format!("/conversations/{v}")),
                )
            }));
        }
    }
    let label = |e: &AuditEntry| {
        AuditAction::parse(&e.action).map_or_else(|| e.action.clone(), |a| a.label().to_owned())
    };
    let rows = page
        .items
        .iter()
        .map(|e| Row {
            at_machine: format::machine_time(e.at),
            at_text: format::utc_time(e.at),
            who: e
                .actor
                .as_ref()
                .map_or_else(|| "callvault".to_owned(), |a| a.name.clone()),
            what: label(e),
            target: match &e.target_id {
                Some(id) => format!("{} {id}", e.target_kind),
                None => e.target_kind.clone(),
            },
            contact: e.contact_id.map(|id| {
                contacts
                    .get(&id)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| ("A deleted contact".to_owned(), None))
            }),
            detail: detail_line(&e.detail),
        })
        .collect();

    let kept = |drop: &str| -> Vec<(&str, String)> {
        [
            (
                "actor",
                given(p.actor.as_ref()).unwrap_or_default().to_owned(),
            ),
            (
                "action",
                given(p.action.as_ref()).unwrap_or_default().to_owned(),
            ),
            (
                "contact_id",
                given(p.contact_id.as_ref()).unwrap_or_default().to_owned(),
            ),
            (
                "since",
                given(p.since.as_ref()).unwrap_or_default().to_owned(),
            ),
            (
                "until",
                given(p.until.as_ref()).unwrap_or_default().to_owned(),
            ),
        ]
        .into_iter()
        .filter(|(k, _)| *k != drop)
        .collect()
    };
    let older = page.next.map(|c| {
        let mut pairs = kept("");
        pairs.push(("before", encode_audit_cursor(c)));
        format!("/settings/audit?{}", query(&pairs))
    });
    let csv = format!(
        "/api/v1/audit.csv?{}",
        query(&[
            ("actor", actor.map(|a| a.to_string()).unwrap_or_default()),
            (
                "action",
                action.map(|a| a.as_str().to_owned()).unwrap_or_default()
            ),
            (
                "contact_id",
                contact.map(|c| c.to_string()).unwrap_or_default()
            ),
            ("since", filter.since.map(rfc3339).unwrap_or_default()),
            ("until", filter.until.map(rfc3339).unwrap_or_default()),
        ])
    );
    chrome::render(&AuditPage {
        assets: assets::base(),
        chrome: Chrome::new(&user, Section::Audit),
        people: users
            .iter()
            .map(|u| Choice {
                value: u.id.to_string(),
                label: u.name.clone(),
                selected: actor == Some(u.id),
            })
            .collect(),
        actions: AuditAction::ALL
            .iter()
            .map(|a| Choice {
                value: a.as_str().to_owned(),
                label: a.label().to_owned(),
                selected: action == Some(*a),
            })
            .collect(),
        contact: contact.map(|id| {
            let name = contacts
                .get(&id)
                .cloned()
                .flatten()
                .map_or_else(|| "A deleted contact".to_owned(), |(name, _)| name);
            (
                name,
                format!("/settings/audit?{}", query(&kept("contact_id"))),
            )
        }),
        contact_id: contact.map(|c| c.to_string()).unwrap_or_default(),
        since: since.map(|d| d.to_string()).unwrap_or_default(),
        until: until.map(|d| d.to_string()).unwrap_or_default(),
        rows,
        older,
        csv,
    })
}
