//! What the API answers with: the stored records shaped for clients.

use callvault_app::inbox::InboxRow;
use callvault_core::call::{CallStatus, Direction};
use callvault_core::contact::Contact;
use callvault_core::conversation::Channel;
use callvault_core::hold::HoldScope;
use callvault_core::recording::Peaks;
use callvault_core::{CallId, ContactId, ConversationId, EventId, HoldId, NumberId, RecordingId};
use callvault_store::{
    CallRecord, ContactRef, ConversationDetail, EventKind, LegalHold, RecordingRecord,
    RecordingRef, TimelineEvent, TranscriptStatus, UserRef,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The transcript status of a recording nobody asked to transcribe.
pub const NO_TRANSCRIPT: &str = "none";

#[allow(
    clippy::cast_precision_loss,
    reason = "milliseconds of audio fit an f64 exactly"
)]
pub fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordingSummary {
    pub id: RecordingId,
    /// Length of the audio in seconds.
    pub duration_s: f64,
    pub channels: u16,
}

impl From<RecordingRef> for RecordingSummary {
    fn from(r: RecordingRef) -> Self {
        Self {
            id: r.id,
            duration_s: seconds(r.duration_ms),
            channels: r.channels,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CallView {
    pub id: CallId,
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    pub number_id: NumberId,
    pub direction: Direction,
    pub status: CallStatus,
    pub from: String,
    pub to: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Talk time in whole seconds: from answer to hang-up.
    pub duration_s: u64,
    /// The team member who took the call.
    pub handled_by: Option<UserRef>,
    /// Whether the number recorded calls when this one started; fixed for the call's life.
    pub recording_allowed: bool,
    pub recording: Option<RecordingSummary>,
    /// Why there is no recording though recording was on (the provider reported none, or it
    /// could not be fetched).
    pub recording_note: Option<String>,
    /// When the retention policy deleted the recording (its transcript went with it).
    #[serde(with = "time::serde::rfc3339::option")]
    pub recording_expired_at: Option<OffsetDateTime>,
    pub source: String,
    pub external_id: Option<String>,
}

impl From<CallRecord> for CallView {
    fn from(r: CallRecord) -> Self {
        let c = r.call;
        Self {
            id: c.id,
            conversation_id: c.conversation_id,
            contact_id: c.contact_id,
            number_id: c.number_id,
            direction: c.direction,
            status: c.status,
            from: c.from,
            to: c.to,
            started_at: c.times.started_at,
            answered_at: c.times.answered_at,
            ended_at: c.times.ended_at,
            duration_s: c.times.talk_seconds(),
            handled_by: r.handled_by,
            recording_allowed: c.recording_allowed,
            recording: r.recording.map(Into::into),
            recording_note: c.recording_note,
            recording_expired_at: c.recording_expired_at,
            source: c.source,
            external_id: c.external_id,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationListItem {
    pub id: ConversationId,
    pub contact: ContactRef,
    pub last_message_channel: Option<Channel>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_message_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// What happened last: the newest entry of the timeline.
    pub last_event: Option<EventView>,
    /// Something happened since you last opened it (or you never have).
    pub unread: bool,
    /// A legal hold keeps it: nothing of it can be deleted until the hold is released.
    pub on_hold: bool,
}

impl From<InboxRow> for ConversationListItem {
    fn from(row: InboxRow) -> Self {
        let s = row.conversation;
        Self {
            unread: row.unread,
            on_hold: row.on_hold,
            id: s.id,
            contact: s.contact,
            last_message_channel: s.last_message_channel,
            last_message_at: s.last_message_at,
            created_at: s.created_at,
            last_event: s.last_event.map(EventView::from),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SmsView {
    pub direction: Direction,
    pub body: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoteView {
    pub body: String,
    pub author: Option<UserRef>,
}

/// One entry of a timeline; exactly one of `call`, `sms` and `note` is present, as `channel` says.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: EventId,
    pub channel: Channel,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<CallView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<NoteView>,
}

impl From<TimelineEvent> for EventView {
    fn from(e: TimelineEvent) -> Self {
        let (call, sms, note) = match e.kind {
            EventKind::Call(record) => (Some(CallView::from(*record)), None, None),
            EventKind::Sms { direction, body } => (None, Some(SmsView { direction, body }), None),
            EventKind::Note { body, author } => (None, None, Some(NoteView { body, author })),
        };
        Self {
            id: e.id,
            channel: e.channel,
            occurred_at: e.occurred_at,
            call,
            sms,
            note,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConversationView {
    pub id: ConversationId,
    pub contact: Contact,
    pub last_message_channel: Option<Channel>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_message_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Oldest first.
    pub events: Vec<EventView>,
    /// The legal holds in force over it (the contact's and the installation's), oldest first:
    /// while there is one, nothing of it can be deleted.
    pub legal_holds: Vec<HoldView>,
}

impl ConversationView {
    pub fn new(d: ConversationDetail, holds: Vec<LegalHold>) -> Self {
        Self {
            id: d.id,
            contact: d.contact,
            last_message_channel: d.last_message_channel,
            last_message_at: d.last_message_at,
            created_at: d.created_at,
            events: d.events.into_iter().map(Into::into).collect(),
            legal_holds: holds.into_iter().map(Into::into).collect(),
        }
    }
}

/// What a legal hold covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldScopeKind {
    /// Every contact, conversation and recording.
    Installation,
    /// One contact (`contact_id`) and everything in their conversation.
    Contact,
}

/// A legal hold: while it is in force, nothing it covers can be deleted (409 `legal_hold`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HoldView {
    pub id: HoldId,
    pub scope: HoldScopeKind,
    /// The contact held, for a contact's hold.
    pub contact_id: Option<ContactId>,
    pub reason: String,
    pub placed_by: Option<UserRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub placed_at: OffsetDateTime,
    /// Whether it is in force (not yet released).
    pub active: bool,
    pub released_by: Option<UserRef>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
}

impl From<LegalHold> for HoldView {
    fn from(h: LegalHold) -> Self {
        let (scope, contact_id) = match h.scope {
            HoldScope::Installation => (HoldScopeKind::Installation, None),
            HoldScope::Contact(contact) => (HoldScopeKind::Contact, Some(contact)),
        };
        Self {
            active: h.is_active(),
            id: h.id,
            scope,
            contact_id,
            reason: h.reason,
            placed_by: h.placed_by,
            placed_at: h.placed_at,
            released_by: h.released_by,
            released_at: h.released_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordingView {
    pub id: RecordingId,
    pub call_id: CallId,
    pub conversation_id: ConversationId,
    pub duration_ms: u64,
    pub duration_s: f64,
    pub channels: u16,
    pub sample_rate: u32,
    /// Size of the MP3 in bytes.
    pub bytes: u64,
    /// Hex SHA-256 of the MP3.
    pub sha256: String,
    pub peaks: Peaks,
    /// `none` until a transcript is asked for; then `queued`, `running`, `done` or `failed`.
    pub transcript_status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub audio_url: String,
    pub download_url: String,
    /// Spans of the audio covered by a tone because they held card or ID details (the
    /// transcript says `[redacted]` there).
    pub redactions: Vec<callvault_core::redaction::RedactedSpan>,
    /// Its number redacts and it has not been checked yet: the audio answers 409
    /// `redaction_pending` until it has.
    pub redaction_pending: bool,
}

impl From<RecordingRecord> for RecordingView {
    fn from(r: RecordingRecord) -> Self {
        let rec = r.recording;
        Self {
            audio_url: format!("/api/v1/recordings/{}/audio", rec.id),
            download_url: format!("/api/v1/recordings/{}/download", rec.id),
            id: rec.id,
            call_id: rec.call_id,
            conversation_id: r.conversation_id,
            duration_ms: rec.duration_ms,
            duration_s: seconds(rec.duration_ms),
            channels: rec.channels,
            sample_rate: rec.sample_rate,
            bytes: rec.bytes,
            sha256: rec.sha256,
            peaks: rec.peaks,
            transcript_status: r
                .transcript_status
                .map_or(NO_TRANSCRIPT, TranscriptStatus::as_str)
                .to_owned(),
            created_at: rec.created_at,
            redactions: rec.redactions,
            redaction_pending: rec.redaction_pending,
        }
    }
}
