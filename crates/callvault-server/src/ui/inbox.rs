//! The Inbox: every conversation the user may see, newest activity first, with the search
//! bar and Quick Filters. The page's script swaps in this same page's list as the user types.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use callvault_core::call::{CallStatus, Direction};
use callvault_core::conversation::Channel;
use callvault_core::phone::Region;
use callvault_store::SearchHit;
use serde::Deserialize;

use super::chrome::{self, Chrome, PageQuery, PageUser, Section};
use super::inbox_filters::{Chip, FilterParams, Filters};
use super::{PageError, assets, format};
use crate::api::conversations::CallOutcome;
use crate::api::conversations::{InboxQuery, inbox};
use crate::api::transcripts::transcript_hits;
use crate::api::views::{ConversationListItem, EventView};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct InboxParams {
    q: Option<String>,
    /// `all`, `call` or `sms`, as the Quick Filters' "Last message channel" says.
    channel: Option<String>,
    cursor: Option<String>,
    /// `conversations` (names and numbers) or `transcripts` (what was said).
    mode: Option<String>,
    #[serde(flatten)]
    filters: FilterParams,
}

/// An option of a Quick Filters list (a team member, a number).
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A place in a call's transcript where the searched words were said.
struct HitRow {
    href: String,
    name: String,
    speaker: String,
    at: String,
    call_machine: String,
    call_text: String,
    /// The segment's text in pieces, every other one the match (`mark`).
    snippet: Vec<(String, bool)>,
}

/// The store marks the match in a snippet with [brackets].
fn snippet_parts(snippet: &str) -> Vec<(String, bool)> {
    let mut parts = Vec::new();
    let mut rest = snippet;
    while let Some((before, after)) = rest.split_once('[') {
        let Some((marked, tail)) = after.split_once(']') else {
            break;
        };
        parts.push((before.to_owned(), false));
        parts.push((marked.to_owned(), true));
        rest = tail;
    }
    parts.push((rest.to_owned(), false));
    parts.retain(|(text, _)| !text.is_empty());
    parts
}

impl HitRow {
    fn new(hit: SearchHit) -> Self {
        // Seconds into the recording, to the tenth: where the player starts.
        let start = (hit.start * 10.0).floor() / 10.0;
        Self {
            href: format!(
                "/conversations/{}/calls/{}?t={start}",
                hit.conversation_id, hit.call_id
            ),
            name: hit.contact_name,
            speaker: hit.speaker,
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "seconds into a call"
            )]
            at: format::clock(hit.start.max(0.0) as u64),
            call_machine: format::machine_time(hit.call_started_at),
            call_text: format::utc_time(hit.call_started_at),
            snippet: snippet_parts(&hit.snippet),
        }
    }
}

/// One option of "Last message channel".
struct ChannelOption {
    value: &'static str,
    label: &'static str,
}

const CHANNELS: [ChannelOption; 3] = [
    ChannelOption {
        value: "all",
        label: "All",
    },
    ChannelOption {
        value: "call",
        label: "Calls",
    },
    ChannelOption {
        value: "sms",
        label: "SMS",
    },
];

/// Matches the Transcripts search shows.
const TRANSCRIPT_HITS: u32 = 50;

struct Row {
    id: String,
    /// Something happened since this user last opened it.
    unread: bool,
    /// A legal hold keeps it.
    on_hold: bool,
    href: String,
    name: String,
    phone: String,
    /// What happened last: "Missed call", "Outbound · 3:07 · Tom Becker", a text's start.
    last: String,
    /// Whether that was a call nobody answered.
    missed: bool,
    initials: String,
    channel: &'static str,
    channel_label: &'static str,
    at_machine: String,
    at_text: String,
}

impl Row {
    /// A row of the list; numbers as people in `home` write them.
    fn new(item: ConversationListItem, home: Region) -> Self {
        let (id, unread) = (item.id.to_string(), item.unread);
        let (channel, channel_label) = match item.last_message_channel {
            Some(Channel::Call) => ("call", "Last message: call"),
            Some(Channel::Sms) => ("sms", "Last message: SMS"),
            Some(Channel::Note) => ("note", "Last message: note"),
            None => ("none", "No messages yet"),
        };
        let at = item.last_message_at.unwrap_or(item.created_at);
        let phone = item.contact.phone.for_people(home);
        // A contact known only by number is named by it; it need not show twice.
        let unnamed = item.contact.name == item.contact.phone.as_str();
        Self {
            id,
            unread,
            on_hold: item.on_hold,
            href: format!("/conversations/{}", item.id),
            initials: format::initials(&item.contact.name),
            name: if unnamed {
                phone.clone()
            } else {
                item.contact.name
            },
            phone: if unnamed { String::new() } else { phone },
            missed: item.last_event.as_ref().is_some_and(missed),
            last: item
                .last_event
                .as_ref()
                .map(last_activity)
                .unwrap_or_default(),
            channel,
            channel_label,
            at_machine: format::machine_time(at),
            at_text: format::utc_time(at),
        }
    }
}

/// An inbound call nobody answered.
fn missed(event: &EventView) -> bool {
    event.call.as_ref().is_some_and(|call| {
        call.direction == Direction::Inbound
            && matches!(
                call.status,
                CallStatus::NoAnswer | CallStatus::Busy | CallStatus::Failed
            )
    })
}

/// The start of a text, on one line, cut at a word near `chars`.
fn excerpt(text: &str, chars: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= chars {
        return flat;
    }
    let cut: String = flat.chars().take(chars).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

/// The inbox row's line about the newest event.
fn last_activity(event: &EventView) -> String {
    if let Some(call) = &event.call {
        if missed(event) {
            return "Missed call".to_owned();
        }
        let direction = format::direction(call.direction);
        let mut parts = vec![direction.to_owned()];
        match call.status {
            CallStatus::Answered => parts.push(format::clock(call.duration_s)),
            other => parts.push(format::status(other).to_owned()),
        }
        if let Some(handler) = &call.handled_by {
            parts.push(handler.name.clone());
        }
        return parts.join(" · ");
    }
    if let Some(sms) = &event.sms {
        let text = excerpt(&sms.body, 80);
        return match sms.direction {
            Direction::Inbound => text,
            Direction::Outbound => format!("You: {text}"),
        };
    }
    if let Some(note) = &event.note {
        return format!("Note: {}", excerpt(&note.body, 80));
    }
    String::new()
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    assets: &'static str,
    chrome: Chrome,
    q: String,
    channel: &'static str,
    channels: [ChannelOption; 3],
    rows: Vec<Row>,
    /// The link to the next page, when there is one.
    more: Option<String>,
    /// Searching what was said instead of names and numbers.
    transcripts: bool,
    hits: Vec<HitRow>,
    filters: Filters,
    chips: Vec<Chip>,
    /// The filters in force, named for the empty list ("Calls + Missed").
    filter_names: String,
    handlers: Vec<Choice>,
    numbers: Vec<Choice>,
}

/// "Last message channel": all, or one of the channels Quick Filters offers.
fn parse_channel(raw: Option<&str>) -> Result<Option<Channel>, PageError> {
    match raw.unwrap_or_default() {
        "" | "all" => Ok(None),
        other => Channel::parse(other)
            .filter(|c| CHANNELS.iter().any(|o| o.value == c.as_str()))
            .map(Some)
            .ok_or_else(|| {
                PageError::bad_request(format!(
                    "\u{201c}{other}\u{201d} is not a channel to filter by; choose All, Calls or SMS."
                ))
            }),
    }
}

pub async fn page(
    State(state): State<AppState>,
    PageUser(user): PageUser,
    PageQuery(params): PageQuery<InboxParams>,
) -> Result<Response, PageError> {
    let transcripts = match params.mode.as_deref().unwrap_or_default() {
        "" | "conversations" => false,
        "transcripts" => true,
        other => {
            return Err(PageError::bad_request(format!(
                "\u{201c}{other}\u{201d} is not a way to search; choose conversations or transcripts."
            )));
        }
    };
    let channel = parse_channel(params.channel.as_deref())?;
    if transcripts {
        let q = params.q.unwrap_or_default();
        let hits = if q.trim().is_empty() {
            Vec::new()
        } else {
            transcript_hits(&state, &user, &q, TRANSCRIPT_HITS).await?
        };
        return chrome::render(&InboxPage {
            assets: assets::base(),
            chrome: Chrome::new(&user, Section::Inbox),
            q,
            channel: channel.map_or("all", Channel::as_str),
            channels: CHANNELS,
            rows: Vec::new(),
            more: None,
            transcripts,
            hits: hits.into_iter().map(HitRow::new).collect(),
            filters: Filters::default(),
            chips: Vec::new(),
            filter_names: String::new(),
            handlers: Vec::new(),
            numbers: Vec::new(),
        });
    }
    let filters = Filters::parse(&params.filters)?;
    let channel_value = channel.map_or("all", Channel::as_str);
    let q = params.q.unwrap_or_default();
    let page = inbox(
        &state,
        &user,
        InboxQuery {
            q: Some(q.clone()),
            channel,
            direction: filters.direction,
            status: filters.status,
            handled_by: filters.handled_by,
            number: filters.number,
            since: filters.since_moment(),
            until: filters.until_moment(),
            unread: Some(filters.unread),
            limit: None,
            cursor: params.cursor,
        },
    )
    .await?;
    let mut keep: Vec<(&'static str, String)> = Vec::new();
    if !q.trim().is_empty() {
        keep.push(("q", q.clone()));
    }
    if channel.is_some() {
        keep.push(("channel", channel_value.to_owned()));
    }
    let more = page.next_cursor.map(|cursor| {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(keep.iter().map(|(k, v)| (*k, v.as_str())))
            .extend_pairs(filters.pairs().iter().map(|(k, v)| (*k, v.as_str())))
            .append_pair("cursor", &cursor)
            .finish();
        format!("/?{query}")
    });
    // Who may be picked: the whole team for an admin, yourself for anyone else.
    let team = if user.is_admin() {
        state
            .store
            .users()
            .await
            .map_err(crate::error::ApiError::from)?
    } else {
        vec![user.clone()]
    };
    let lines = state
        .store
        .numbers()
        .await
        .map_err(crate::error::ApiError::from)?;
    let chips = filters.chips(
        &keep,
        |id| {
            team.iter()
                .find(|u| u.id == id)
                .map_or_else(|| "someone".to_owned(), |u| u.name.clone())
        },
        |id| {
            lines
                .iter()
                .find(|n| n.id == id)
                .map_or_else(|| "a number".to_owned(), |n| n.label.clone())
        },
    );
    let mut named: Vec<String> = Vec::new();
    if let Some(option) = CHANNELS
        .iter()
        .find(|o| channel.is_some() && o.value == channel_value)
    {
        named.push(option.label.to_owned());
    }
    named.extend(chips.iter().map(|c| c.label.clone()));
    let handlers = team
        .iter()
        .map(|u| Choice {
            value: u.id.to_string(),
            label: if u.id == user.id {
                format!("{} (you)", u.name)
            } else {
                u.name.clone()
            },
            selected: filters.handled_by == Some(u.id),
        })
        .collect();
    let numbers = lines
        .iter()
        .map(|n| Choice {
            value: n.id.to_string(),
            label: n.label.clone(),
            selected: filters.number == Some(n.id),
        })
        .collect();
    chrome::render(&InboxPage {
        assets: assets::base(),
        chrome: Chrome::new(&user, Section::Inbox),
        q,
        channel: channel_value,
        channels: CHANNELS,
        rows: page
            .items
            .into_iter()
            .map(|item| Row::new(item, state.settings.default_region))
            .collect(),
        more,
        transcripts,
        hits: Vec::new(),
        filters,
        chips,
        filter_names: named.join(" + "),
        handlers,
        numbers,
    })
}
