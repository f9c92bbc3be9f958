//! What goes into the store and what comes out, in portable types: typed ids, `OffsetDateTime`,
//! plain Rust values. Nothing here knows which database sits behind the trait.

use callvault_core::call::{Call, CallStatus, CallTimes, Direction};
use callvault_core::contact::Contact;
use callvault_core::conversation::Channel;
use callvault_core::number::{ForwardTarget, Provider};
use callvault_core::permissions::ContactScope;
use callvault_core::phone::E164;
use callvault_core::recording::{Peaks, Recording};
use callvault_core::user::{Role, Scope};
use callvault_core::{
    CallId, ContactId, ConversationId, EventId, JobId, NumberId, RecordingId, TokenId, UserId,
};

use crate::SearchText;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct NewUser {
    /// Already normalised (see `callvault_core::user::normalise_email`).
    pub email: String,
    pub name: String,
    pub role: Role,
    pub scope: Scope,
    pub can_download: bool,
    pub can_delete: bool,
    /// Already normalised (see `callvault_core::user::normalise_extension`).
    pub extension: Option<String>,
    pub password_hash: Option<String>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub can_download: Option<bool>,
    pub can_delete: Option<bool>,
    pub disabled: Option<bool>,
    /// `Some(None)` clears the extension.
    pub extension: Option<Option<String>>,
    /// A new password hash; setting one ends the user's sessions.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub name: String,
    pub phone: E164,
    pub phone_raw: String,
    pub email: Option<String>,
    pub assigned: Vec<UserId>,
}

/// Changes to a contact; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub phone: Option<(E164, String)>,
    pub email: Option<Option<String>>,
    pub assigned: Option<Vec<UserId>>,
}

/// A user as shown next to what they did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserRef {
    pub id: UserId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ContactRef {
    pub id: ContactId,
    pub name: String,
    pub phone: E164,
}

/// Who may see something: the contact it belongs to and that contact's assignees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub contact_id: ContactId,
    pub assigned: Vec<UserId>,
}

/// Where an inbox page starts: just after this conversation in newest-first order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor {
    pub activity_at: OffsetDateTime,
    pub id: ConversationId,
}

#[derive(Debug, Clone)]
pub struct ConversationQuery {
    pub scope: ContactScope,
    /// Only conversations whose contact matches.
    pub text: Option<SearchText>,
    pub channel: Option<Channel>,
    /// Only conversations with a call (or, for dates alone, any activity) matching.
    pub activity: ActivityFilter,
    /// Only conversations with activity this user has not seen.
    pub unread_by: Option<UserId>,
    pub after: Option<ConversationCursor>,
    pub limit: u32,
}

/// What a conversation must have had: a call of this kind, in this time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    pub direction: Option<Direction>,
    pub status: Option<StatusFilter>,
    pub handled_by: Option<UserId>,
    pub number: Option<NumberId>,
    /// From this moment on.
    pub since: Option<OffsetDateTime>,
    /// Before this moment.
    pub until: Option<OffsetDateTime>,
}

impl ActivityFilter {
    /// Whether it asks about calls (rather than any activity, or nothing).
    #[must_use]
    pub fn about_calls(&self) -> bool {
        self.direction.is_some()
            || self.status.is_some()
            || self.handled_by.is_some()
            || self.number.is_some()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.about_calls() && self.since.is_none() && self.until.is_none()
    }
}

/// How a call went, as the Inbox filters by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Answered,
    /// An inbound call nobody answered: no answer, busy or failed.
    Missed,
}

/// Where a contacts page starts: just after this contact in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactCursor {
    pub name_folded: String,
    pub id: ContactId,
}

#[derive(Debug, Clone)]
pub struct ContactQuery {
    pub scope: ContactScope,
    pub text: Option<SearchText>,
    pub after: Option<ContactCursor>,
    pub limit: u32,
}

#[derive(Debug, Clone)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    pub next: Option<ContactCursor>,
}

#[derive(Debug, Clone)]
pub struct ConversationSummary {
    pub id: ConversationId,
    pub contact: ContactRef,
    pub last_message_channel: Option<Channel>,
    pub last_message_at: Option<OffsetDateTime>,
    pub activity_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    /// What happened last (the inbox row says it): the newest event of the timeline.
    pub last_event: Option<TimelineEvent>,
}

#[derive(Debug, Clone)]
pub struct ConversationPage {
    pub items: Vec<ConversationSummary>,
    pub next: Option<ConversationCursor>,
}

#[derive(Debug, Clone)]
pub struct ConversationDetail {
    pub id: ConversationId,
    pub contact: Contact,
    pub last_message_channel: Option<Channel>,
    pub last_message_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// Oldest first: all of them, or the window asked for.
    pub events: Vec<TimelineEvent>,
    /// Where the events before these end, when there are any.
    pub earlier: Option<EventCursor>,
    /// The conversation's calls and recordings, all of them (whatever the window).
    pub call_count: u64,
    pub recording_count: u64,
}

/// A place in a timeline: the events before it (by time, then id) are the earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCursor {
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub id: EventId,
}

impl EventCursor {
    /// The place just before `event`.
    #[must_use]
    pub fn before(event: &TimelineEvent) -> Self {
        Self {
            occurred_at: event.occurred_at,
            id: event.id,
        }
    }
}

/// Which of a conversation's events to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimelineWindow {
    All,
    /// The newest `limit` events before `before` (before the end, without one).
    Newest {
        before: Option<EventCursor>,
        limit: u32,
    },
}

impl TimelineWindow {
    /// The rows a backend reads, newest first: one more than the window holds, so that
    /// [`TimelineWindow::keep`] can tell whether earlier events remain.
    #[must_use]
    pub fn rows_to_read(self) -> Option<i64> {
        match self {
            Self::All => None,
            Self::Newest { limit, .. } => Some(i64::from(limit) + 1),
        }
    }

    /// The window's rows, oldest first, from rows read newest first; `true` when earlier
    /// events remain beyond them.
    pub fn keep<R>(self, rows: &mut Vec<R>) -> bool {
        let more = match self {
            Self::All => false,
            Self::Newest { limit, .. } => {
                let limit = limit as usize;
                let more = rows.len() > limit;
                rows.truncate(limit);
                more
            }
        };
        rows.reverse();
        more
    }
}

#[derive(Debug, Clone)]
pub struct TimelineEvent {
    pub id: EventId,
    pub channel: Channel,
    pub occurred_at: OffsetDateTime,
    pub kind: EventKind,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    Call(Box<CallRecord>),
    Sms {
        direction: Direction,
        body: String,
    },
    Note {
        body: String,
        author: Option<UserRef>,
    },
}

/// A call with what the timeline and the API show beside it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub call: Call,
    pub handled_by: Option<UserRef>,
    pub recording: Option<RecordingRef>,
    pub access: Access,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecordingRef {
    pub id: RecordingId,
    pub duration_ms: u64,
    pub channels: u16,
}

/// A call as a phone system or provider reports it.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub number: E164,
    pub contact_phone: E164,
    pub contact_phone_raw: String,
    /// Name for the contact if it has to be created; the formatted number otherwise.
    pub contact_name: Option<String>,
    pub direction: Direction,
    pub status: CallStatus,
    pub times: CallTimes,
    pub handled_by: Option<UserId>,
    pub source: String,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReportedCall {
    pub record: CallRecord,
    /// False when the report repeated one already stored (same source and external id).
    pub created: bool,
}

/// What a provider tells about a call as it goes. `None` leaves a field as it is; times
/// already known are kept (callbacks may arrive out of order), and a final status is never
/// turned back into `ringing`.
#[derive(Debug, Clone, Default)]
pub struct CallUpdate {
    pub status: Option<CallStatus>,
    pub answered_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    /// Who took the call, if no one is named yet; they are added to the contact's assignees.
    pub handled_by: Option<UserId>,
    /// Who the call was handed to (a transfer): replaces who handled it, and is added to the
    /// contact's assignees too.
    pub handed_to: Option<UserId>,
    pub recording_note: Option<String>,
}

/// A text message, as a provider reports it.
#[derive(Debug, Clone)]
pub struct NewSms {
    pub number: E164,
    pub contact_phone: E164,
    pub contact_phone_raw: String,
    pub direction: Direction,
    pub body: String,
    /// The provider's id (Twilio's MessageSid); a repeat of it is ignored.
    pub external_id: String,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewRecording {
    pub id: RecordingId,
    pub call_id: CallId,
    pub blob_key: String,
    pub duration_ms: u64,
    pub channels: u16,
    pub sample_rate: u32,
    pub bytes: u64,
    pub sha256: String,
    pub peaks: Peaks,
    /// The provider's id for the recording (Twilio's RecordingSid); unique.
    pub source_ref: Option<String>,
}

/// A recording's audio after redaction: a new object in the audio store, with the spans it
/// covers, to replace the one that was read.
#[derive(Debug, Clone)]
pub struct RedactedAudio {
    /// The object that was redacted; the recording must still point at it.
    pub replaces: String,
    pub blob_key: String,
    pub bytes: u64,
    pub sha256: String,
    pub peaks: Peaks,
    pub spans: Vec<callvault_core::redaction::RedactedSpan>,
    /// The cleanup job enqueued before the new object was written (dropped with the swap).
    pub guard: JobId,
}

/// A recording with the call and contact it belongs to.
#[derive(Debug, Clone)]
pub struct RecordingRecord {
    pub recording: Recording,
    pub conversation_id: ConversationId,
    pub contact_name: String,
    pub call_started_at: OffsetDateTime,
    /// As users should see it (see [`crate::rules::effective_status`]).
    pub transcript_status: Option<TranscriptStatus>,
    pub access: Access,
}

/// What serving a recording's audio needs, and nothing more: the player asks for it once per
/// byte range, so it is one query without the waveform or the transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingMedia {
    pub id: RecordingId,
    pub blob_key: String,
    /// Not checked for card and ID details yet: nobody may hear it.
    pub redaction_pending: bool,
    pub bytes: u64,
    pub sha256: String,
    pub conversation_id: ConversationId,
    pub contact_name: String,
    pub call_started_at: OffsetDateTime,
    pub access: Access,
}

/// What deleting a conversation or contact left to do outside the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deleted {
    /// Jobs that remove the audio objects; run them now, or the worker will.
    pub cleanup_jobs: Vec<JobId>,
    /// The recordings that went (for those who are told: webhooks).
    pub recordings: Vec<callvault_core::RecordingId>,
}

/// A recording as the retention policy weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgedRecording {
    pub id: callvault_core::RecordingId,
    pub call_id: callvault_core::CallId,
    pub conversation_id: ConversationId,
    pub contact_id: callvault_core::ContactId,
    pub call_started_at: OffsetDateTime,
    pub bytes: u64,
    /// A legal hold keeps it.
    pub held: bool,
}

/// Where a walk of a number's calls, oldest first, goes on from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallAgeCursor {
    pub started_at: OffsetDateTime,
    pub call_id: callvault_core::CallId,
}

/// A conversation as the retention policy weighs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleConversation {
    pub id: ConversationId,
    pub contact_id: callvault_core::ContactId,
    /// Its last activity (or creation, while empty).
    pub activity_at: OffsetDateTime,
    /// The numbers its calls were on.
    pub numbers: Vec<NumberId>,
    pub calls: u64,
    pub recordings: u64,
    /// The recordings' audio, in bytes.
    pub bytes: u64,
    /// A legal hold keeps it.
    pub held: bool,
}

/// A legal hold as stored: who placed it and why, and when it was released, if it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: callvault_core::HoldId,
    pub scope: callvault_core::hold::HoldScope,
    pub reason: String,
    pub placed_by: Option<UserRef>,
    pub placed_at: OffsetDateTime,
    pub released_by: Option<UserRef>,
    pub released_at: Option<OffsetDateTime>,
}

impl LegalHold {
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.released_at.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct NewHold {
    pub scope: callvault_core::hold::HoldScope,
    /// Already cleaned (`callvault_core::hold::clean_reason`).
    pub reason: String,
    pub placed_by: UserId,
}

#[derive(Debug, Clone)]
pub struct NewNumber {
    pub e164: E164,
    pub label: String,
    pub provider: Provider,
    pub call_recording: bool,
    pub consent_announcement: Option<String>,
    pub forward_to: Vec<ForwardTarget>,
    pub transcribe_automatically: bool,
    pub redact_sensitive: bool,
    /// When the recording setting took effect, if earlier than now: a number that recorded on
    /// its phone system before being configured here. Only at creation, when it has no calls.
    pub recording_since: Option<OffsetDateTime>,
}

/// Changes to a number; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct NumberPatch {
    pub label: Option<String>,
    pub provider: Option<Provider>,
    pub call_recording: Option<bool>,
    pub consent_announcement: Option<Option<String>>,
    pub forward_to: Option<Vec<ForwardTarget>>,
    pub transcribe_automatically: Option<bool>,
    /// `Some(None)` makes the number follow the installation's default.
    pub retention: Option<Option<callvault_core::retention::RetentionPolicy>>,
    pub redact_sensitive: Option<bool>,
}

/// Where a recording's transcript is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl TranscriptStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// One stretch of speech in a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TranscriptSegment {
    /// Seconds from the start of the recording.
    pub start: f64,
    pub end: f64,
    /// The recording's channel it was heard on: 0 the contact, 1 the team member (in a
    /// two-channel call); none for transcripts made before channels were kept.
    pub channel: Option<u16>,
    /// Who spoke: the contact's or team member's name, or Caller / Agent / Speaker.
    pub speaker: String,
    pub text: String,
}

impl TranscriptSegment {
    /// A time in seconds as stored: whole milliseconds.
    #[must_use]
    #[allow(
        clippy::cast_possible_truncation,
        reason = "seconds of a call in milliseconds"
    )]
    pub fn millis(seconds: f64) -> i64 {
        (seconds * 1000.0).round() as i64
    }

    /// A stored time in milliseconds, as seconds.
    #[must_use]
    #[allow(clippy::cast_precision_loss, reason = "milliseconds of a call")]
    pub fn seconds(millis: i64) -> f64 {
        millis as f64 / 1000.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptRecord {
    pub status: TranscriptStatus,
    /// 0 to 1.
    pub progress: f64,
    pub language: Option<String>,
    pub error: Option<String>,
    pub segments: Vec<TranscriptSegment>,
}

/// What asking for a transcript did.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptRequest {
    pub status: TranscriptStatus,
    /// The job queued for it, if this request queued one.
    pub job: Option<JobId>,
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub scope: ContactScope,
    /// Words as typed; matched as a phrase, ignoring case and accents.
    pub text: String,
    /// At most [`MAX_SEARCH_HITS`].
    pub limit: u32,
}

/// The most hits one search returns.
pub const MAX_SEARCH_HITS: u32 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub recording_id: RecordingId,
    pub conversation_id: ConversationId,
    pub call_id: CallId,
    pub contact_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub call_started_at: OffsetDateTime,
    pub start: f64,
    pub end: f64,
    pub speaker: String,
    /// The segment's text with the match in [brackets].
    pub snippet: String,
}

/// A URL that receives events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: callvault_core::WebhookId,
    pub url: String,
    pub events: Vec<callvault_core::webhook::WebhookEvent>,
    /// Signs each delivery; shown once, when the webhook is made.
    pub secret: String,
    pub created_by: Option<UserId>,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<callvault_core::webhook::WebhookEvent>,
    pub secret: String,
    pub created_by: UserId,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet answered with a 2xx; tried again with backoff.
    Pending,
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl DeliveryState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One event sent (or to send) to one webhook, and how its receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: callvault_core::DeliveryId,
    pub webhook_id: callvault_core::WebhookId,
    pub event: callvault_core::webhook::WebhookEvent,
    /// The JSON body, exactly as sent.
    pub body: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// The receiver's last status code, when it answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed, when it did.
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The state after it: delivered, still pending, or failed for good.
    pub state: DeliveryState,
}
