//! A conversation: the link people share. The contact, the timeline of calls, messages and
//! notes, and for each recorded call the player and its transcript.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use callvault_app::listening::{self, Access};
use callvault_core::call::{CallStatus, Direction};
use callvault_core::permissions::{ContactAction, Decision, OrgAction, can, can_org};
use callvault_core::user::User;
use std::collections::HashMap;

use callvault_core::{CallId, ConversationId, NumberId};
use callvault_store::{
    CallRecord, ConversationDetail, EventCursor, EventKind, TimelineEvent, TimelineWindow,
};
use serde::Deserialize;
use time::OffsetDateTime;

use super::chrome::{self, Chrome, PageQuery, PageUser, Section};
use super::{PageError, assets, format};
use crate::api::conversations::conversation_window;
use crate::api::paging::{decode_cursor, encode_cursor};
use crate::state::AppState;

struct Player {
    recording_id: String,
    audio_url: String,
    download_url: String,
    duration_s: f64,
    duration_text: String,
}

struct CallEntry {
    id: String,
    direction: &'static str,
    inbound: bool,
    duration: String,
    status: &'static str,
    status_class: &'static str,
    handled_by: String,
    /// The number (line) the call was on.
    line: String,
    /// The row's line after direction and status: duration, who took it, the line.
    parts: Vec<String>,
    player: Option<Player>,
    /// Why there is no player, when there is none.
    no_recording: Option<String>,
}

enum EntryKind {
    Call(Box<CallEntry>),
    Sms { inbound: bool, body: String },
    Note { author: String, body: String },
}

struct Entry {
    id: String,
    at_machine: String,
    at_text: String,
    kind: EntryKind,
}

/// How long after a recorded call ends its recording is still expected (a PBX uploads it, or
/// the provider reports it); after that, the call says none arrived.
const RECORDING_EXPECTED_FOR: time::Duration = time::Duration::minutes(15);

/// Why a call has no recording, in the words a user needs.
fn no_recording_reason(record: &CallRecord, now: OffsetDateTime) -> Option<String> {
    if record.recording.is_some() {
        return None;
    }
    let call = &record.call;
    if let Some(at) = call.recording_expired_at {
        return Some(format!(
            "Recording deleted by the retention policy on {}.",
            format::utc_date(at)
        ));
    }
    Some(match call.status {
        CallStatus::NoAnswer | CallStatus::Busy | CallStatus::Failed => {
            "No recording: the call was not answered.".to_owned()
        }
        _ if !call.recording_allowed => {
            "No recording: recording was off for this number when the call started.".to_owned()
        }
        CallStatus::Ringing => "The call is still in progress.".to_owned(),
        CallStatus::Answered => {
            let ended = call.times.ended_at.unwrap_or(call.times.started_at);
            match &call.recording_note {
                Some(note) => format!("No recording arrived: {note}"),
                None if now < ended + RECORDING_EXPECTED_FOR => {
                    "The recording is on its way.".to_owned()
                }
                None => "No recording arrived.".to_owned(),
            }
        }
    })
}

fn call_entry(
    record: CallRecord,
    now: OffsetDateTime,
    lines: &HashMap<NumberId, String>,
) -> CallEntry {
    let no_recording = no_recording_reason(&record, now);
    let call = record.call;
    let line = lines.get(&call.number_id).cloned().unwrap_or_default();
    let handler = record.handled_by.as_ref().map(|u| u.name.clone());
    let mut parts = Vec::new();
    if call.status == CallStatus::Answered {
        parts.push(format::clock(call.times.talk_seconds()));
    }
    parts.extend(handler);
    if !line.is_empty() {
        parts.push(line.clone());
    }
    CallEntry {
        line,
        parts,
        id: call.id.to_string(),
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

impl Entry {
    /// An event as the page shows it at `now`.
    fn new(e: TimelineEvent, now: OffsetDateTime, lines: &HashMap<NumberId, String>) -> Self {
        Self {
            id: e.id.to_string(),
            at_machine: format::machine_time(e.occurred_at),
            at_text: format::utc_time(e.occurred_at),
            kind: match e.kind {
                EventKind::Call(record) => {
                    EntryKind::Call(Box::new(call_entry(*record, now, lines)))
                }
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

/// A legal hold as the conversation shows it.
pub(crate) struct HoldNotice {
    pub id: String,
    /// "Placed by Dana Admin on 2026-03-01" (the date as the viewer's zone shows it).
    pub by: String,
    pub placed_machine: String,
    pub placed_text: String,
    pub reason: String,
    /// On everything, not only this contact.
    pub installation: bool,
}

impl HoldNotice {
    pub(crate) fn new(h: callvault_store::LegalHold) -> Self {
        Self {
            id: h.id.to_string(),
            by: h
                .placed_by
                .map_or_else(|| "an admin".to_owned(), |u| u.name),
            placed_machine: format::machine_time(h.placed_at),
            placed_text: format::utc_time(h.placed_at),
            reason: h.reason,
            installation: h.scope == callvault_core::hold::HoldScope::Installation,
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
    /// Where the page of earlier events is, when there are any.
    earlier: Option<String>,
    /// The call a call link opened, to scroll to.
    focus: Option<String>,
    /// Where in that call's recording to start playing (a transcript search's match).
    start: Option<f64>,
    can_download: bool,
    can_delete: bool,
    can_edit: bool,
    /// Admins place and release legal holds.
    can_hold: bool,
    /// The legal holds in force over it: while there is one, nothing is deleted.
    holds: Vec<HoldNotice>,
    contact_id: String,
    /// The contact's name as stored (the header may show the number instead).
    contact_name: String,
    calls: u64,
    recordings: u64,
}

/// Events a page shows at once; "Earlier" adds as many again.
const PAGE: u32 = 30;
/// Most events a call link shows to reach its call.
const MOST: u32 = 5_000;

#[derive(Deserialize)]
pub struct TimelineParams {
    /// The events before this place ("Earlier").
    before: Option<String>,
}

/// A malformed id reads like any other conversation (or call) the user cannot see.
fn parse<T: std::str::FromStr>(raw: &str) -> Result<T, PageError> {
    raw.parse().map_err(|_| PageError::not_found())
}

/// The conversation's newest events, or those before `?before=`.
pub async fn page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path(raw_id): Path<String>,
    PageQuery(params): PageQuery<TimelineParams>,
) -> Result<Response, PageError> {
    let id: ConversationId = parse(&raw_id)?;
    let before = decode_cursor::<EventCursor>(params.before.as_deref()).map_err(|_| {
        PageError::bad_request("That link to earlier events is not one callvault made.")
    })?;
    let window = TimelineWindow::Newest {
        before,
        limit: PAGE,
    };
    let detail = conversation_window(&state, &user, id, window).await?;
    render(&state, &user, detail, None, None).await
}

/// A call's own link: the conversation from its newest events back to that call, scrolled
/// to it.
#[derive(Deserialize)]
pub struct CallLinkParams {
    /// Seconds into the recording to play from.
    t: Option<f64>,
}

pub async fn call_page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    Path((raw_id, raw_call)): Path<(String, String)>,
    PageQuery(params): PageQuery<CallLinkParams>,
) -> Result<Response, PageError> {
    let start = match params.t {
        Some(t) if !(t.is_finite() && t >= 0.0) => {
            return Err(PageError::bad_request(
                "t is a number of seconds from the start.",
            ));
        }
        t => t,
    };
    let id: ConversationId = parse(&raw_id)?;
    let call: CallId = parse(&raw_call)?;
    let mut limit = PAGE;
    loop {
        let window = TimelineWindow::Newest {
            before: None,
            limit,
        };
        let detail = conversation_window(&state, &user, id, window).await?;
        let found = detail
            .events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Call(record) if record.call.id == call));
        if found {
            return render(&state, &user, detail, Some(call), start).await;
        }
        if detail.earlier.is_none() || limit >= MOST {
            return Err(PageError::not_found());
        }
        limit = (limit * 4).min(MOST);
    }
}

async fn render(
    state: &AppState,
    user: &User,
    detail: ConversationDetail,
    focus: Option<CallId>,
    start: Option<f64>,
) -> Result<Response, PageError> {
    listening::accessed(
        state,
        user,
        Access::LinkOpen(detail.id),
        detail.id,
        detail.contact.id,
    )
    .await;
    // Opening it is reading it: the Inbox stops marking it as new for this user.
    callvault_app::inbox::seen(state, user, &detail)
        .await
        .map_err(crate::error::ApiError::from)?;
    let assigned = &detail.contact.assigned_user_ids;
    let allowed = |action| can(user, action, assigned) == Decision::Allow;
    let holds = callvault_app::holds::covering(state, user, detail.contact.id, assigned)
        .await
        .map_err(crate::error::ApiError::from)?;
    let phone = detail
        .contact
        .phone
        .for_people(state.settings.default_region);
    let unnamed = detail.contact.name == detail.contact.phone.as_str();
    // Each call says which of the business's numbers it was on.
    let lines: HashMap<NumberId, String> = state
        .store
        .numbers()
        .await
        .map_err(crate::error::ApiError::from)?
        .into_iter()
        .map(|n| (n.id, n.label))
        .collect();
    chrome::render(&ConversationPage {
        assets: assets::base(),
        chrome: Chrome::new(user, Section::Inbox),
        can_download: allowed(ContactAction::Download),
        can_delete: allowed(ContactAction::Delete),
        can_edit: allowed(ContactAction::Edit),
        can_hold: can_org(user, OrgAction::ManageLegalHolds),
        holds: holds.into_iter().map(HoldNotice::new).collect(),
        contact_id: detail.contact.id.to_string(),
        contact_name: if unnamed {
            String::new()
        } else {
            detail.contact.name.clone()
        },
        id: detail.id.to_string(),
        initials: format::initials(&detail.contact.name),
        // A contact known only by number is named by it, as people write it, once.
        phone: if unnamed {
            String::new()
        } else {
            phone.clone()
        },
        name: if unnamed { phone } else { detail.contact.name },
        email: detail.contact.email,
        calls: detail.call_count,
        recordings: detail.recording_count,
        earlier: detail.earlier.map(|cursor| {
            format!(
                "/conversations/{}?before={}",
                detail.id,
                encode_cursor(&cursor)
            )
        }),
        focus: focus.map(|c| c.to_string()),
        start,
        entries: detail
            .events
            .into_iter()
            .map(|e| Entry::new(e, state.now(), &lines))
            .collect(),
    })
}
