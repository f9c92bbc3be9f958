//! Settings → Compliance (admins): how long recordings and conversations are kept (the
//! default, each number's own, a dry run before any change), and the legal holds in force and
//! released.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use callvault_core::hold::HoldScope;
use callvault_core::retention::RetentionPolicy;

use super::chrome::{self, Chrome, PageUser, Section};
use super::{PageError, assets, format};
use crate::state::AppState;

struct HoldRow {
    id: String,
    /// It holds the whole installation.
    everything: bool,
    /// "Everything", or the contact's name (a link to their conversation when it is there).
    what: String,
    href: Option<String>,
    reason: String,
    placed_by: String,
    placed_machine: String,
    placed_text: String,
    /// "Released by … on …", for a released hold.
    released: Option<(String, String, String)>,
}

/// A policy as the page shows and edits it.
struct PolicyText {
    /// `keep_forever`, `delete_recordings`, `delete_conversations`.
    action: &'static str,
    days: String,
    /// "Delete recordings 90 days after the call".
    text: String,
}

impl PolicyText {
    fn new(policy: RetentionPolicy) -> Self {
        Self {
            action: policy.kind(),
            days: policy.days().map(|d| d.to_string()).unwrap_or_default(),
            text: describe(policy),
        }
    }
}

fn describe(policy: RetentionPolicy) -> String {
    let days = |n: u32| {
        if n == 1 {
            "1 day".to_owned()
        } else {
            format!("{n} days")
        }
    };
    match policy {
        RetentionPolicy::KeepForever => "Keep forever".to_owned(),
        RetentionPolicy::DeleteRecordings { after_days } => {
            format!("Delete recordings {} after the call", days(after_days))
        }
        RetentionPolicy::DeleteConversations { after_days } => {
            format!(
                "Delete conversations after {} without activity",
                days(after_days)
            )
        }
    }
}

struct NumberRow {
    id: String,
    label: String,
    phone: String,
    /// Its own policy, if it has one.
    own: Option<PolicyText>,
    effective: PolicyText,
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    assets: &'static str,
    chrome: Chrome,
    default: PolicyText,
    numbers: Vec<NumberRow>,
    /// How many days audit entries are kept; `None`: forever.
    audit_days: Option<u32>,
    active: Vec<HoldRow>,
    released: Vec<HoldRow>,
    /// Whether a hold on everything is in force.
    installation_held: bool,
}

pub async fn page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let holds = callvault_app::holds::list(&state, &user, true).await?;
    let plan = callvault_app::retention::plan(&state).await?;
    let numbers = state
        .store
        .numbers()
        .await?
        .into_iter()
        .map(|n| NumberRow {
            id: n.id.to_string(),
            phone: n.e164.for_people(state.settings.default_region),
            label: n.label,
            own: n.retention.map(PolicyText::new),
            effective: PolicyText::new(plan.effective(n.id)),
        })
        .collect();
    let mut active = Vec::new();
    let mut released = Vec::new();
    for hold in holds {
        let (what, href) = match hold.scope {
            HoldScope::Installation => ("Everything".to_owned(), None),
            HoldScope::Contact(contact) => match state.store.contact(contact).await? {
                Some(c) => (
                    c.name,
                    c.conversation_id.map(|v| format!("/conversations/{v}")),
                ),
                None => ("A deleted contact".to_owned(), None),
            },
        };
        let row = HoldRow {
            id: hold.id.to_string(),
            everything: hold.scope == HoldScope::Installation,
            what,
            href,
            reason: hold.reason.clone(),
            placed_by: hold
                .placed_by
                .as_ref()
                .map_or_else(|| "—".to_owned(), |u| u.name.clone()),
            placed_machine: format::machine_time(hold.placed_at),
            placed_text: format::utc_time(hold.placed_at),
            released: hold.released_at.map(|at| {
                (
                    hold.released_by
                        .as_ref()
                        .map_or_else(|| "—".to_owned(), |u| u.name.clone()),
                    format::machine_time(at),
                    format::utc_time(at),
                )
            }),
        };
        if hold.released_at.is_none() {
            active.push(row);
        } else {
            released.push(row);
        }
    }
    chrome::render(&CompliancePage {
        assets: assets::base(),
        chrome: Chrome::new(&user, Section::Compliance),
        default: PolicyText::new(plan.default),
        numbers,
        audit_days: state.store.audit_retention_days().await?,
        installation_held: active.iter().any(|h| h.everything),
        active,
        released,
    })
}
