//! A conversation: the link people share. The contact, the timeline of calls, messages and
//! notes, and for each recorded call the player and its transcript.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use callvault_app::listening::{self, Access};
use callvault_core::ConversationId;
use callvault_core::call::{CallStatus, Direction};
use callvault_core::permissions::{ContactAction, Decision, can};
use callvault_store::{CallRecord, EventKind, TimelineEvent};

use super::chrome::{self, Chrome, PageUser, Section};
use super::{PageError, assets, format};
use crate::api::conversations::conversation;
use crate::state::AppState;

struct Player {
    recording_id: String,
    audio_url: String,
    download_url: String,
    duration_s: f64,
    duration_text: String,
}

struct CallEntry {
    direction: &'static str,
    inbound: bool,
    duration: String,
    status: &'static str,
    status_class: &'static str,
    handled_by: String,
    player: Option<Player>,
    /// Why there is no player, when there is none.
    no_recording: Option<String>,
}

enum EntryKind {
    Call(CallEntry),
    Sms { inbound: bool, body: String },
    Note { author: String, body: String },
}

struct Entry {
    at_machine: String,
    at_text: String,
    kind: EntryKind,
}

/// Why a call has no recording, in the words a user needs.
fn no_recording_reason(record: &CallRecord) -> Option<String> {
    if record.recording.is_some() {
        return None;
    }
    let call = &record.call;
    Some(match call.status {
        CallStatus::NoAnswer | CallStatus::Busy | CallStatus::Failed => {
            "No recording: the call was not answered.".to_owned()
        }
        _ if !call.recording_allowed => {
            "No recording: recording was off for this number when the call started.".to_owned()
        }
        CallStatus::Ringing => "The call is still in progress.".to_owned(),
        CallStatus::Answered => match &call.recording_note {
            Some(note) => format!("The recording failed: {note}"),
            None => "The recording is still processing.".to_owned(),
        },
    })
}

fn call_entry(record: CallRecord) -> CallEntry {
    let no_recording = no_recording_reason(&record);
    let call = record.call;
    CallEntry {
        direction: format::direction(call.direction),
        inbound: call.direction == Direction::Inbound,
        duration: if call.status == CallStatus::Answered {
            format::clock(call.times.talk_seconds())
        } else {
            "—".to_owned()
        },
        status: format::status(call.status),
        status_class: match call.status {
            CallStatus::Answered => "ok",
            CallStatus::Ringing => "pending",
            _ => "missed",
        },
        handled_by: record.handled_by.map_or_else(|| "—".to_owned(), |u| u.name),
        player: record.recording.map(|r| Player {
            audio_url: format!("/api/v1/recordings/{}/audio", r.id),
            download_url: format!("/api/v1/recordings/{}/download", r.id),
            recording_id: r.id.to_string(),
            duration_s: crate::api::views::seconds(r.duration_ms),
            // Whole seconds, as the player counts them.
            duration_text: format::clock(r.duration_ms / 1000),
        }),
        no_recording,
    }
}

impl From<TimelineEvent> for Entry {
    fn from(e: TimelineEvent) -> Self {
        Self {
            at_machine: format::machine_time(e.occurred_at),
            at_text: format::utc_time(e.occurred_at),
            kind: match e.kind {
                EventKind::Call(record) => EntryKind::Call(call_entry(*record)),
                EventKind::Sms { direction, body } => EntryKind::Sms {
                    inbound: direction == Direction::Inbound,
                    body,
                },
                EventKind::Note { body, author } => EntryKind::Note {
                    author: author.map_or_else(|| "Someone".to_owned(), |a| a.name),
                    body,
                },
            },
        }
    }
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct ConversationPage {
    assets: &'static str,
    chrome: Chrome,
    id: String,
    name: String,
    phone: String,
    email: Option<String>,
    initials: String,
    entries: Vec<Entry>,
    can_download: bool,
    can_delete: bool,
    calls: usize,
    recordings: usize,
}

pub async fn page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(raw_id): Path<String>,
) -> Result<Response, PageError> {
    // A malformed id reads like any other conversation the user cannot see.
    let id: ConversationId = raw_id.parse().map_err(|_| PageError::not_found())?;
    let detail = conversation(&state, &user, id).await?;
    listening::accessed(&state, &user, Access::LinkOpen(detail.id), detail.id).await;
    let assigned = &detail.contact.assigned_user_ids;
    let allowed = |action| can(&user, action, assigned) == Decision::Allow;
    let entries: Vec<Entry> = detail.events.into_iter().map(Entry::from).collect();
    let calls = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Call(call) => Some(call),
            _ => None,
        })
        .collect::<Vec<_>>();
    chrome::render(&ConversationPage {
        assets: assets::base(),
        chrome: Chrome::new(&user, Section::Inbox),
        can_download: allowed(ContactAction::Download),
        can_delete: allowed(ContactAction::Delete),
        id: detail.id.to_string(),
        initials: format::initials(&detail.contact.name),
        name: detail.contact.name,
        phone: detail.contact.phone.to_string(),
        email: detail.contact.email,
        calls: calls.len(),
        recordings: calls.iter().filter(|c| c.player.is_some()).count(),
        entries,
    })
}
