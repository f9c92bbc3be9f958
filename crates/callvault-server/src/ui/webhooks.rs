//! Settings → Webhooks (admins): the URLs that receive events, each with its latest
//! deliveries and the receiver's answers; add one (its secret shown once), remove one.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use callvault_core::webhook::WebhookEvent;
use callvault_store::DeliveryState;

use super::chrome::{self, Chrome, PageUser, Section};
use super::{PageError, assets, format};
use crate::state::AppState;

/// Deliveries shown per webhook.
const SHOWN: usize = 10;

struct DeliveryRow {
    event: &'static str,
    state: &'static str,
    state_class: &'static str,
    answer: String,
    attempts: u32,
    at_machine: String,
    at_text: String,
}

struct HookRow {
    id: String,
    url: String,
    events: String,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    assets: &'static str,
    chrome: Chrome,
    hooks: Vec<HookRow>,
    events: Vec<&'static str>,
}

pub async fn page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
) -> Result<Response, PageError> {
    let mut hooks = Vec::new();
    for hook in callvault_app::webhooks::list(&state, &user).await? {
        let deliveries = callvault_app::webhooks::deliveries(&state, &user, hook.id).await?;
        hooks.push(HookRow {
            id: hook.id.to_string(),
            url: hook.url,
            events: hook
                .events
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            deliveries: deliveries
                .into_iter()
                .take(SHOWN)
                .map(|d| DeliveryRow {
                    event: d.event.as_str(),
                    state: match d.state {
                        DeliveryState::Pending => "Retrying",
                        DeliveryState::Delivered => "Delivered",
                        DeliveryState::Failed => "Failed",
                    },
                    state_class: match d.state {
                        DeliveryState::Pending => "pending",
                        DeliveryState::Delivered => "ok",
                        DeliveryState::Failed => "missed",
                    },
                    answer: match (d.last_status, d.last_error) {
                        (Some(status), _) => format!("HTTP {status}"),
                        (None, Some(error)) => error,
                        (None, None) => "Not sent yet".to_owned(),
                    },
                    attempts: d.attempts,
                    at_machine: format::machine_time(d.updated_at),
                    at_text: format::utc_time(d.updated_at),
                })
                .collect(),
        });
    }
    chrome::render(&WebhooksPage {
        assets: assets::base(),
        chrome: Chrome::new(&user, Section::Webhooks),
        hooks,
        events: WebhookEvent::ALL.iter().map(|e| e.as_str()).collect(),
    })
}
