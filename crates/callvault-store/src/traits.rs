//! The `Store` trait, split by area so each backend implements it one file per area.
//! Signatures use only portable types, so every backend implements the same trait and callers
//! never know which one they have.

use std::collections::HashMap;

use async_trait::async_trait;
use callvault_core::contact::Contact;
use callvault_core::number::{PhoneNumber, RecordingChange};
use callvault_core::phone::E164;
use callvault_core::recording::Recording;
use callvault_core::retention::RetentionPolicy;
use callvault_core::user::User;
use callvault_core::webhook::WebhookEvent;
use callvault_core::{
    AuditId, CallId, ContactId, ConversationId, DeliveryId, HoldId, JobId, NumberId, RecordingId,
    TokenId, UserId, WebhookId,
};
use time::{Duration, OffsetDateTime};

use crate::model::*;
use crate::{AuditCursor, AuditFilter, AuditPage, Job, JobKind, NewAudit, NewJob, StoreResult};

/// Everything the server keeps. Use it as `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    UserStore
    + ContactStore
    + ConversationStore
    + NumberStore
    + CallStore
    + RecordingStore
    + TranscriptStore
    + JobStore
    + AuditStore
    + HoldStore
    + RetentionStore
    + WebhookStore
    + ThrottleStore
{
    /// Which backend this is, for logs ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
    /// Answers once the database does.
    async fn ping(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// `Conflict::EmailTaken` when the email is in use.
    async fn create_user(&self, user: NewUser, now: OffsetDateTime) -> StoreResult<User>;
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    /// The user whose extension (PBX extension or SIP user part) is this one.
    async fn user_by_extension(&self, extension: &str) -> StoreResult<Option<User>>;
    /// The user and their password hash, for signing in.
    async fn credentials(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn count_users(&self) -> StoreResult<u64>;
    /// Applies the patch in one transaction. `Conflict::LastAdmin` when it would leave no
    /// active admin, however many admins are changed at once. A new password ends the user's
    /// sessions; disabling them ends their sessions and revokes their tokens (so enabling
    /// them again brings neither back).
    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User>;
    /// Sets the password and ends every session of the user.
    async fn set_password(&self, id: UserId, password_hash: &str) -> StoreResult<()>;

    async fn create_session(&self, session: NewSession) -> StoreResult<()>;
    /// The user of a live session; expired sessions and disabled users give `None`.
    async fn session_user(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<User>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    async fn create_token(
        &self,
        user_id: UserId,
        name: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TokenInfo>;
    /// The user a token belongs to; disabled users give `None`.
    async fn token_user(&self, token_hash: &str) -> StoreResult<Option<User>>;
    async fn tokens(&self, user_id: UserId) -> StoreResult<Vec<TokenInfo>>;
    async fn delete_token(&self, user_id: UserId, id: TokenId) -> StoreResult<()>;
    /// Revokes every token of the user; how many there were.
    async fn delete_tokens(&self, user_id: UserId) -> StoreResult<u64>;
}

/// Failures counted per key (an account, a client address), for throttling; the rules of how
/// long a key waits live in the app, the store only counts and remembers.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Until when `key` is blocked, if it is now.
    async fn blocked_until(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>>;
    /// Counts one more failure under `key`, from one again when the last was longer ago than
    /// `forget_after` (an old block is forgotten with it); the count now. Keys idle that long
    /// are removed on the way.
    async fn add_failure(
        &self,
        key: &str,
        now: OffsetDateTime,
        forget_after: Duration,
    ) -> StoreResult<u32>;
    /// Blocks `key` until `until`; a longer block already there stays.
    async fn block(&self, key: &str, until: OffsetDateTime) -> StoreResult<()>;
    /// Forgets `key`'s failures and block.
    async fn clear_failures(&self, key: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    /// Creates the contact with its (empty) conversation. `Conflict::PhoneTaken` when
    /// another contact has the number; `Missing::User` for an unknown assignee.
    async fn create_contact(
        &self,
        contact: NewContact,
        now: OffsetDateTime,
    ) -> StoreResult<Contact>;
    async fn contact(&self, id: ContactId) -> StoreResult<Option<Contact>>;
    /// Contacts by name, filtered by scope and text like the inbox.
    async fn contacts(&self, query: ContactQuery) -> StoreResult<ContactPage>;
    async fn contact_by_phone(&self, phone: &E164) -> StoreResult<Option<Contact>>;
    async fn update_contact(&self, id: ContactId, patch: ContactPatch) -> StoreResult<Contact>;
    /// Deletes the contact, its conversation and everything in it; audio objects are left to
    /// the returned jobs.
    async fn delete_contact(&self, id: ContactId, now: OffsetDateTime) -> StoreResult<Deleted>;
}

/// The inbox and what happens in a conversation.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// The inbox: newest activity first, filtered by scope, text and channel.
    async fn conversations(&self, query: ConversationQuery) -> StoreResult<ConversationPage>;
    /// A conversation with its whole timeline.
    async fn conversation(&self, id: ConversationId) -> StoreResult<Option<ConversationDetail>> {
        self.conversation_window(id, TimelineWindow::All).await
    }
    /// A conversation with the part of its timeline `window` names (a long history is read a
    /// page at a time: `earlier` says where the next page starts).
    async fn conversation_window(
        &self,
        id: ConversationId,
        window: TimelineWindow,
    ) -> StoreResult<Option<ConversationDetail>>;
    /// Who may see a conversation, without loading its timeline.
    async fn conversation_access(&self, id: ConversationId) -> StoreResult<Option<Access>>;
    /// Notes that `user` has seen the conversation as of `at`, or of its latest activity if
    /// that is later (a phone clock running ahead must not leave it unread); a later mark
    /// wins, an earlier one changes nothing. A conversation that is gone is ignored.
    async fn mark_read(
        &self,
        user: UserId,
        conversation: ConversationId,
        at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// When `user` last saw each of these conversations (those never seen are left out).
    async fn read_marks(
        &self,
        user: UserId,
        conversations: &[ConversationId],
    ) -> StoreResult<HashMap<ConversationId, OffsetDateTime>>;
    /// Adds a text message to the contact's conversation (both made if needed). Returns
    /// `false` when a message with the same external id is already there.
    /// `Missing::Number` when the number is not configured.
    async fn record_sms(&self, sms: NewSms, now: OffsetDateTime) -> StoreResult<bool>;
    /// Adds a team member's note to the timeline; it counts as the latest message.
    async fn add_note(
        &self,
        conversation: ConversationId,
        author: UserId,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<TimelineEvent>;
    /// Deletes the conversation with its events, calls, recordings and transcripts. The contact
    /// stays; its next call starts a new conversation. Audio objects are left to the returned
    /// jobs, enqueued in the same transaction so a crash cannot lose them.
    async fn delete_conversation(
        &self,
        id: ConversationId,
        now: OffsetDateTime,
    ) -> StoreResult<Deleted>;
}

#[async_trait]
pub trait NumberStore: Send + Sync {
    /// `Conflict::NumberTaken` when the number is already configured.
    async fn create_number(
        &self,
        number: NewNumber,
        now: OffsetDateTime,
    ) -> StoreResult<PhoneNumber>;
    async fn number(&self, id: NumberId) -> StoreResult<Option<PhoneNumber>>;
    async fn number_by_e164(&self, e164: &E164) -> StoreResult<Option<PhoneNumber>>;
    async fn numbers(&self) -> StoreResult<Vec<PhoneNumber>>;
    /// A change of `call_recording` takes effect at `now` and only for calls starting from then.
    async fn update_number(
        &self,
        id: NumberId,
        patch: NumberPatch,
        now: OffsetDateTime,
    ) -> StoreResult<PhoneNumber>;
    /// Every value `call_recording` has had, oldest first.
    async fn recording_history(&self, id: NumberId) -> StoreResult<Vec<RecordingChange>>;
}

#[async_trait]
pub trait CallStore: Send + Sync {
    /// Stores a reported call in one transaction: finds or creates the contact and its
    /// conversation, freezes `recording_allowed` from the number's setting at the call's start,
    /// and adds the timeline event. A repeat of a report (same source and external id) returns
    /// the stored call unchanged. `Missing::Number` when the number is unknown.
    /// Whoever handled the call is added to the contact's assignees, so a team member who sees
    /// only assigned contacts sees the caller they spoke to.
    async fn report_call(&self, call: NewCall, now: OffsetDateTime) -> StoreResult<ReportedCall>;
    async fn call(&self, id: CallId) -> StoreResult<Option<CallRecord>>;
    async fn call_by_external_id(
        &self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<CallRecord>>;
    /// Applies what a provider reported about a call as it progressed.
    async fn update_call(&self, id: CallId, update: CallUpdate) -> StoreResult<CallRecord>;
}

#[async_trait]
pub trait RecordingStore: Send + Sync {
    /// Records that the audio object is in place. `Conflict::RecordingExists` when the call has
    /// one and `replace` is false; with `replace`, the old object is handed to a cleanup job.
    /// `guard` is the cleanup job enqueued before the object was written; it is dropped here,
    /// in the same transaction, because the object now belongs to a row. When the call's number
    /// transcribes automatically, the transcript is asked for in the same transaction too.
    async fn add_recording(
        &self,
        recording: NewRecording,
        replace: bool,
        guard: Option<JobId>,
        now: OffsetDateTime,
    ) -> StoreResult<(Recording, Deleted)>;
    async fn recording(&self, id: RecordingId) -> StoreResult<Option<RecordingRecord>>;
    /// What streaming the recording's audio needs (see [`RecordingMedia`]).
    async fn recording_media(&self, id: RecordingId) -> StoreResult<Option<RecordingMedia>>;
    /// The recording stored for a provider's recording id, if any.
    async fn recording_by_source_ref(&self, source_ref: &str) -> StoreResult<Option<RecordingId>>;
    /// Whether any recording row refers to this object key.
    async fn blob_in_use(&self, key: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait TranscriptStore: Send + Sync {
    /// Asks for a recording's transcript: queues it (and its job, in the same transaction)
    /// unless it is queued, running or done already. A failed one is queued again.
    async fn request_transcript(
        &self,
        recording: RecordingId,
        now: OffsetDateTime,
    ) -> StoreResult<TranscriptRequest>;
    async fn transcript(&self, recording: RecordingId) -> StoreResult<Option<TranscriptRecord>>;
    async fn transcript_running(
        &self,
        recording: RecordingId,
        progress: f64,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Stores the segments (replacing any) and marks the transcript done.
    async fn transcript_done(
        &self,
        recording: RecordingId,
        language: &str,
        segments: &[TranscriptSegment],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Stores a redacted transcript and swaps the recording's audio for its redacted copy, in
    /// one transaction, so the unredacted text is never stored and the unredacted audio goes
    /// (its object through the cleanup job returned). `NotFound` when the recording is gone;
    /// `Conflict::UploadExpired` when it no longer points at the audio that was redacted or
    /// the guard already ran.
    async fn transcript_redacted(
        &self,
        recording: RecordingId,
        language: &str,
        segments: &[TranscriptSegment],
        audio: RedactedAudio,
        now: OffsetDateTime,
    ) -> StoreResult<JobId>;
    /// The attempt failed and the job will try again: queued, with the error kept to show.
    async fn transcript_retrying(
        &self,
        recording: RecordingId,
        error: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    async fn transcript_failed(
        &self,
        recording: RecordingId,
        error: &str,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Segments whose text holds the phrase, newest call first, within the scope.
    async fn search_transcripts(&self, query: SearchQuery) -> StoreResult<Vec<SearchHit>>;
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// `Conflict::DuplicateJob` while a job with the same dedupe key is queued or running.
    async fn enqueue(&self, job: NewJob, now: OffsetDateTime) -> StoreResult<JobId>;
    /// Takes the oldest job of these kinds that is due, or whose lease ran out, and leases it.
    /// A job whose lease ran out with no attempts left is buried as dead instead, and so is a
    /// job that cannot be read. Two workers never get the same job.
    async fn claim_next(
        &self,
        kinds: &[JobKind],
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> StoreResult<Option<Job>>;
    /// Leases one job by id if it is free to run now.
    async fn claim(
        &self,
        id: JobId,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
    ) -> StoreResult<Option<Job>>;
    /// Extends the lease of a job `worker` is running; `NotFound` if it no longer holds it.
    async fn heartbeat(&self, id: JobId, worker: &str, until: OffsetDateTime) -> StoreResult<()>;
    /// `worker` finished the job: it is removed. `NotFound` if the worker no longer held it
    /// (its lease ran out and someone else took the job).
    async fn complete(&self, id: JobId, worker: &str) -> StoreResult<()>;
    /// `worker`'s attempt failed: the job is retried at `retry_at`, or kept as dead with its
    /// error when `retry_at` is `None` (the failure is permanent) or no attempts are left.
    /// `NotFound` if the worker no longer held the job.
    async fn fail(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// `worker` stopped before finishing (it is shutting down): the job is queued again, due at
    /// `now`, and the attempt does not count. `NotFound` if the worker no longer held the job.
    async fn release(&self, id: JobId, worker: &str, now: OffsetDateTime) -> StoreResult<()>;
    /// Removes a job that nobody has started (a guard no longer needed); `NotFound` if it is
    /// running or gone.
    async fn cancel(&self, id: JobId) -> StoreResult<()>;
    async fn job(&self, id: JobId) -> StoreResult<Option<Job>>;
    /// Jobs not yet done (queued or running), by kind.
    async fn pending_jobs(&self, kind: JobKind) -> StoreResult<u64>;
    /// The soonest time a queued job of these kinds becomes due.
    async fn next_due(&self, kinds: &[JobKind]) -> StoreResult<Option<OffsetDateTime>>;
    /// Counts jobs queued by other processes, when the backend hears of them (PostgreSQL's
    /// LISTEN/NOTIFY); `None` when only polling finds them. A worker waits for it to change.
    fn jobs_queued_elsewhere(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        None
    }
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn audit(&self, entry: NewAudit) -> StoreResult<AuditId>;
    /// The entries `filter` admits, newest first, before `before`; at most `limit` (1–1000).
    async fn audit_page(
        &self,
        filter: &AuditFilter,
        before: Option<AuditCursor>,
        limit: u32,
    ) -> StoreResult<AuditPage>;
    /// Removes entries older than `before` (the log's own retention), but those about a
    /// contact on hold; how many.
    async fn prune_audit(&self, before: OffsetDateTime) -> StoreResult<u64>;
}

/// Legal holds. Every deletion of a contact, a conversation or a recording asks, in its own
/// transaction, whether a hold covers it, and fails with `StoreError::Held` if one does.
#[async_trait]
pub trait HoldStore: Send + Sync {
    /// `NotFound` when the hold names a contact that does not exist.
    async fn place_hold(&self, hold: NewHold, now: OffsetDateTime) -> StoreResult<LegalHold>;
    /// `NotFound` for an unknown hold, `Conflict::HoldReleased` when it was released already.
    async fn release_hold(
        &self,
        id: HoldId,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<LegalHold>;
    async fn legal_hold(&self, id: HoldId) -> StoreResult<Option<LegalHold>>;
    /// Newest first; released ones too when asked.
    async fn legal_holds(&self, include_released: bool) -> StoreResult<Vec<LegalHold>>;
    /// The holds in force over this contact (its own and the installation's), oldest first.
    async fn holds_covering(&self, contact: ContactId) -> StoreResult<Vec<LegalHold>>;
}

/// What the retention policy reads and deletes. The policy's rules live in
/// `callvault_core::retention`; the store walks candidates in pages and deletes one at a time,
/// each deletion checking again, in its transaction, that it is still due and not held.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// The installation's default policy (keep forever until an admin sets one).
    async fn retention_default(&self) -> StoreResult<RetentionPolicy>;
    async fn set_retention_default(
        &self,
        policy: RetentionPolicy,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// How many days audit entries are kept (`None`: forever).
    async fn audit_retention_days(&self) -> StoreResult<Option<u32>>;
    async fn set_audit_retention_days(
        &self,
        days: Option<u32>,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Recordings of the number's calls that started before `before`, oldest call first, after
    /// `after`.
    async fn recordings_started_before(
        &self,
        number: NumberId,
        before: OffsetDateTime,
        after: Option<CallAgeCursor>,
        limit: u32,
    ) -> StoreResult<Vec<AgedRecording>>;
    /// Conversations whose last activity was before `before`, least recent first, after
    /// `after`.
    async fn conversations_idle_since(
        &self,
        before: OffsetDateTime,
        after: Option<ConversationCursor>,
        limit: u32,
    ) -> StoreResult<Vec<IdleConversation>>;
    /// Deletes a recording the policy expired: its row, transcript and search entries now, its
    /// audio by the returned job; the call stays, marked with when. `NotFound` when it is gone,
    /// `Held` when a hold keeps it.
    async fn expire_recording(&self, id: RecordingId, now: OffsetDateTime) -> StoreResult<Deleted>;
    /// Deletes the conversation as `delete_conversation` does, if it has had no activity since
    /// `idle_before` and its calls are still on just `numbers` (the policies judged were
    /// theirs); `None` when not (or it is gone). `Held` when a hold keeps it.
    async fn expire_conversation(
        &self,
        id: ConversationId,
        numbers: &[NumberId],
        idle_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Deleted>>;
}

/// Outgoing webhooks and their deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook(
        &self,
        webhook: NewWebhook,
        now: OffsetDateTime,
    ) -> StoreResult<Webhook>;
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, id: WebhookId) -> StoreResult<Option<Webhook>>;
    /// Removes it with its deliveries (queued ones are dropped). `NotFound` when unknown.
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()>;
    /// For each webhook subscribed to `event`, a delivery of `body` and the job that sends it,
    /// in one transaction; the jobs.
    async fn enqueue_deliveries(
        &self,
        event: WebhookEvent,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<JobId>>;
    /// A delivery with its webhook, if both are still there.
    async fn delivery(&self, id: DeliveryId) -> StoreResult<Option<(Delivery, Webhook)>>;
    /// Records an attempt: one more tried, its answer, the state after it.
    async fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: Attempt,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// A webhook's deliveries, newest first.
    async fn deliveries(&self, webhook: WebhookId, limit: u32) -> StoreResult<Vec<Delivery>>;
}
