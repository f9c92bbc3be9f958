//! A conversation: the link people share. The contact, the timeline of calls, messages and
//! notes, and for each recorded call the player and its transcript.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use callvault_core::ConversationId;
use callvault_core::call::CallStatus;
use callvault_core::permissions::{ContactAction, Decision, can};

use super::chrome::{self, Chrome, PageUser, Section};
use super::{PageError, assets, format};
use crate::api::conversations::conversation;
use crate::api::views::{CallView, EventView};
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
fn no_recording_reason(call: &CallView) -> Option<String> {
    if call.recording.is_some() {
        return None;
    }
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

fn call_entry(call: CallView) -> CallEntry {
    let no_recording = no_recording_reason(&call);
    let answered = call.status == CallStatus::Answered;
    CallEntry {
        direction: format::direction(call.direction),
        inbound: call.direction == callvault_core::call::Direction::Inbound,
        duration: if answered {
            format::clock(call.duration_s)
        } else {
            "—".to_owned()
        },
        status: format::status(call.status),
        status_class: match call.status {
            CallStatus::Answered => "ok",
            CallStatus::Ringing => "pending",
            _ => "missed",
        },
        handled_by: call.handled_by.map_or_else(|| "—".to_owned(), |u| u.name),
        player: call.recording.map(|r| Player {
            audio_url: format!("/api/v1/recordings/{}/audio", r.id),
            download_url: format!("/api/v1/recordings/{}/download", r.id),
            recording_id: r.id.to_string(),
            duration_s: r.duration_s,
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a recording's length in seconds is small and not negative"
            )]
            duration_text: format::clock(r.duration_s.round() as u64),
        }),
        no_recording,
    }
}

impl From<EventView> for Entry {
    fn from(e: EventView) -> Self {
        let kind = if let Some(call) = e.call {
            EntryKind::Call(call_entry(call))
        } else if let Some(sms) = e.sms {
            EntryKind::Sms {
                inbound: sms.direction == callvault_core::call::Direction::Inbound,
                body: sms.body,
            }
        } else {
            let note = e.note;
            EntryKind::Note {
                author: note
                    .as_ref()
                    .and_then(|n| n.author.as_ref())
                    .map_or_else(|| "Someone".to_owned(), |a| a.name.clone()),
                body: note.map(|n| n.body).unwrap_or_default(),
            }
        };
        Self {
            at_machine: format::machine_time(e.occurred_at),
            at_text: format::utc_time(e.occurred_at),
            kind,
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
    let view = conversation(&state, &user, id).await?;
    let assigned = &view.contact.assigned_user_ids;
    let allowed = |action| can(&user, action, assigned) == Decision::Allow;
    let calls = view.events.iter().filter(|e| e.call.is_some()).count();
    let recordings = view
        .events
        .iter()
        .filter(|e| e.call.as_ref().is_some_and(|c| c.recording.is_some()))
        .count();
    chrome::render(&ConversationPage {
        assets: assets::base(),
        chrome: Chrome::new(&user, Section::Inbox),
        can_download: allowed(ContactAction::Download),
        can_delete: allowed(ContactAction::Delete),
        id: view.id.to_string(),
        initials: format::initials(&view.contact.name),
        name: view.contact.name,
        phone: view.contact.phone.to_string(),
        email: view.contact.email,
        entries: view.events.into_iter().map(Entry::from).collect(),
        calls,
        recordings,
    })
}
