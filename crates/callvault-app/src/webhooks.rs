//! Outgoing webhooks: admins register URLs for events; each event becomes one delivery per
//! subscribed URL, sent by a job (so it survives restarts and is retried with backoff),
//! signed with the webhook's secret, and only to addresses the installation allows.

use std::net::SocketAddr;

use callvault_core::permissions::OrgAction;
use callvault_core::user::User;
use callvault_core::webhook::{SIGNATURE_HEADER, WebhookEvent, is_public, signature};
use callvault_core::{DeliveryId, WebhookId};
use callvault_store::{Attempt, AuditAction, Delivery, DeliveryState, Job, NewWebhook, Webhook};

use crate::access::require_org;
use crate::error::{AppError, AppResult, Invalid};
use crate::jobs::JobError;
use crate::{App, audit};

/// The longest URL kept.
const MAX_URL_CHARS: usize = 2000;
/// A receiver has this long to answer.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Registers a URL for events (admins); the answer holds the signing secret, shown this once.
pub async fn create(
    app: &App,
    user: &User,
    url: &str,
    events: &[WebhookEvent],
) -> AppResult<Webhook> {
    require_org(user, OrgAction::ManageWebhooks)?;
    let url = check_url(url, app.settings.webhook_allow_private)?;
    let mut events = events.to_vec();
    events.sort_by_key(|e| e.as_str());
    events.dedup();
    if events.is_empty() {
        return Err(AppError::Invalid(Invalid::WebhookEvents));
    }
    let webhook = app
        .store
        .create_webhook(
            NewWebhook {
                url,
                events,
                secret: crate::secrets::new_webhook_secret(),
                created_by: user.id,
            },
            app.now(),
        )
        .await?;
    audit::record(
        app,
        Some(user),
        AuditAction::WebhookCreate,
        "webhook",
        Some(webhook.id.to_string()),
        serde_json::json!({"events": webhook.events}),
    )
    .await;
    Ok(webhook)
}

/// Ports a webhook on the internet may use.
const WEB_PORTS: [u16; 4] = [80, 443, 8080, 8443];

/// A URL deliveries may go to: http or https, a host, no credentials in it, and (unless
/// private addresses are allowed) not an address of this machine or its network, on a web
/// port. Names are checked again when a delivery resolves them.
fn check_url(raw: &str, allow_private: bool) -> AppResult<String> {
    let bad = || AppError::Invalid(Invalid::WebhookUrl);
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(bad());
    }
    let url = reqwest::Url::parse(raw.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad());
    }
    let literal = url
        .host_str()
        .and_then(|h| h.trim_start_matches('[').trim_end_matches(']').parse().ok());
    let named_locally = url
        .host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case("localhost") || h.ends_with(".localhost"));
    if !allow_private && (literal.is_some_and(|ip| !is_public(ip)) || named_locally) {
        return Err(AppError::Invalid(Invalid::WebhookPrivate));
    }
    // A delivery's answer says whether something listened: on any port, that would let an
    // admin probe other services through the server.
    if !allow_private
        && url
            .port_or_known_default()
            .is_none_or(|port| !WEB_PORTS.contains(&port))
    {
        return Err(AppError::Invalid(Invalid::WebhookPort));
    }
    Ok(url.to_string())
}

pub async fn list(app: &App, user: &User) -> AppResult<Vec<Webhook>> {
    require_org(user, OrgAction::ManageWebhooks)?;
    Ok(app.store.webhooks().await?)
}

pub async fn delete(app: &App, user: &User, id: WebhookId) -> AppResult<()> {
    require_org(user, OrgAction::ManageWebhooks)?;
    app.store
        .delete_webhook(id)
        .await
        .map_err(|e| AppError::named(e, "webhook"))?;
    audit::record(
        app,
        Some(user),
        AuditAction::WebhookDelete,
        "webhook",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .await;
    Ok(())
}

/// A webhook's latest deliveries with their answers.
pub async fn deliveries(app: &App, user: &User, id: WebhookId) -> AppResult<Vec<Delivery>> {
    require_org(user, OrgAction::ManageWebhooks)?;
    app.store
        .webhook(id)
        .await?
        .ok_or(AppError::NotFound("webhook"))?;
    Ok(app.store.deliveries(id, 100).await?)
}

/// Tells every webhook subscribed to `event` what happened: `data` holds ids and links, never
/// audio, names or numbers. A failure to queue is logged; what happened stays done.
pub async fn emit(app: &App, event: WebhookEvent, data: serde_json::Value) {
    // Most events have no subscriber: a read says so, without a write transaction each (a
    // retention run deletes thousands of recordings).
    match app.store.webhooks().await {
        Ok(hooks) if !hooks.iter().any(|h| h.events.contains(&event)) => return,
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not read the webhooks"),
    }
    let now = app.now();
    let body = serde_json::json!({
        "id": DeliveryId::new(),
        "event": event.as_str(),
        "created_at": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "data": data,
    })
    .to_string();
    match app.store.enqueue_deliveries(event, &body, now).await {
        Ok(jobs) if !jobs.is_empty() => app.jobs.wake(),
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, event = event.as_str(), "could not queue webhook deliveries")
        }
    }
}

/// The links an event's receiver follows to what it is about.
#[must_use]
pub fn links(
    app: &App,
    conversation: callvault_core::ConversationId,
    recording: Option<callvault_core::RecordingId>,
) -> serde_json::Value {
    let mut links = serde_json::json!({
        "conversation": app.settings.public(&format!("/conversations/{conversation}")),
    });
    if let Some(r) = recording {
        links["recording"] = app
            .settings
            .public(&format!("/api/v1/recordings/{r}"))
            .into();
        links["transcript"] = app
            .settings
            .public(&format!("/api/v1/recordings/{r}/transcript"))
            .into();
    }
    links
}

/// The job: sends one delivery, signed, and records the answer. A failure is retried by the
/// queue with backoff until its attempts run out.
pub async fn deliver(app: &App, job: &Job, id: DeliveryId) -> Result<(), JobError> {
    let Some((delivery, webhook)) = app.store.delivery(id).await.map_err(JobError::new)? else {
        // The webhook was removed with its deliveries.
        return Ok(());
    };
    let outcome = send(app, &webhook, &delivery).await;
    let (status, error) = match &outcome {
        Ok(status) if (200..300).contains(status) => (Some(*status), None),
        Ok(status) => (
            Some(*status),
            Some(format!("the receiver answered {status}")),
        ),
        Err(e) => (None, Some(e.clone())),
    };
    let state = match (&error, job.last_attempt()) {
        (None, _) => DeliveryState::Delivered,
        (Some(_), false) => DeliveryState::Pending,
        (Some(_), true) => DeliveryState::Failed,
    };
    app.store
        .record_attempt(
            id,
            Attempt {
                status,
                error: error.clone(),
                state,
            },
            app.now(),
        )
        .await
        .map_err(JobError::new)?;
    match error {
        None => Ok(()),
        Some(e) => Err(JobError::new(e)),
    }
}

/// One attempt: the receiver's status, or why there was none.
async fn send(app: &App, webhook: &Webhook, delivery: &Delivery) -> Result<u16, String> {
    let url = reqwest::Url::parse(&webhook.url).map_err(|e| e.to_string())?;
    let host = url.host_str().ok_or("the URL has no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    // Checked again here: a webhook registered before ports were limited keeps its URL.
    if !app.settings.webhook_allow_private && !WEB_PORTS.contains(&port) {
        return Err(format!(
            "port {port} is not a web port (80, 443, 8080, 8443)"
        ));
    }
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    // The address connected to is the one checked (a name that resolves again differently
    // between the check and the connection cannot slip through).
    let allowed = addresses
        .iter()
        .find(|a| app.settings.webhook_allow_private || is_public(a.ip()))
        .copied()
        .ok_or_else(|| format!("{host} resolves only to private or local addresses"))?;
    let client = reqwest::Client::builder()
        .resolve(&lookup_host, allowed)
        // A proxy would resolve the name itself, past the check above.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent("callvault-webhooks")
        .build()
        .map_err(|e| e.to_string())?;
    let timestamp = app.now().unix_timestamp();
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            SIGNATURE_HEADER,
            signature(&webhook.secret, timestamp, delivery.body.as_bytes()),
        )
        .header("Callvault-Event", delivery.event.as_str())
        .header("Callvault-Delivery", delivery.id.to_string())
        .body(delivery.body.clone())
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    Ok(response.status().as_u16())
}

/// `recording.deleted` for each recording that went, and why ("conversation_deleted",
/// "contact_deleted", "retention", "replaced").
pub async fn recordings_deleted(
    app: &App,
    recordings: &[callvault_core::RecordingId],
    conversation: callvault_core::ConversationId,
    contact: callvault_core::ContactId,
    reason: &str,
) {
    for recording in recordings {
        emit(
            app,
            WebhookEvent::RecordingDeleted,
            serde_json::json!({
                "recording_id": recording,
                "conversation_id": conversation,
                "contact_id": contact,
                "reason": reason,
            }),
        )
        .await;
    }
}

/// `call.completed` for a call that has ended (answered or not); a call still ringing waits
/// for its end.
pub async fn call_completed(app: &App, call: &callvault_core::call::Call) {
    if call.status == callvault_core::call::CallStatus::Ringing {
        return;
    }
    emit(
        app,
        WebhookEvent::CallCompleted,
        serde_json::json!({
            "call_id": call.id,
            "conversation_id": call.conversation_id,
            "contact_id": call.contact_id,
            "number_id": call.number_id,
            "direction": call.direction,
            "status": call.status,
            "started_at": call.times.started_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "talk_s": call.times.talk_seconds(),
            "handled_by": call.handled_by,
            "recording_allowed": call.recording_allowed,
            "links": links(app, call.conversation_id, None),
        }),
    )
    .await;
}
