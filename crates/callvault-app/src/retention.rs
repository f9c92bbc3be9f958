//! Retention as admins run it: the plan (the installation's default and each number's own
//! policy), a dry run that says what a plan would delete, the run that deletes it (daily, or
//! on demand), each deletion through the store so it is as complete as a user's, and audited
//! in batches, one entry per contact (ids and counts only).

use callvault_store::AuditAction;
use std::collections::HashMap;

use callvault_core::permissions::OrgAction;
use callvault_core::retention::{
    RetentionPolicy, conversation_idle_cutoff, shortest_conversation_period,
};
use callvault_core::user::User;
use callvault_core::{ContactId, ConversationId, NumberId, RecordingId};
use callvault_store::{CallAgeCursor, ConversationCursor, JobSpec, StoreError};
use time::{Duration, OffsetDateTime};

use crate::access::require_org;
use crate::error::{AppError, AppResult};
use crate::{App, audit};

/// Candidates read per page of a walk.
const PAGE: u32 = 500;
/// Deletions named in one audit entry.
const AUDIT_BATCH: usize = 200;
/// Items a dry run shows as examples.
const SAMPLE: usize = 10;

/// Which policy applies where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub default: RetentionPolicy,
    /// Each number's own policy (`None`: the default).
    pub numbers: HashMap<NumberId, Option<RetentionPolicy>>,
}

impl Plan {
    /// The policy in force for a number's calls.
    #[must_use]
    pub fn effective(&self, number: NumberId) -> RetentionPolicy {
        self.numbers
            .get(&number)
            .copied()
            .flatten()
            .unwrap_or(self.default)
    }

    fn policies(&self) -> impl Iterator<Item = RetentionPolicy> + '_ {
        std::iter::once(self.default).chain(self.numbers.keys().map(|n| self.effective(*n)))
    }
}

/// How many things, how large, and since when.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: u64,
    pub bytes: u64,
    pub oldest: Option<OffsetDateTime>,
}

impl Tally {
    fn add(&mut self, bytes: u64, at: OffsetDateTime) {
        self.count += 1;
        self.bytes += bytes;
        self.oldest = Some(self.oldest.map_or(at, |o| o.min(at)));
    }
}

/// One thing a plan would delete, as an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub conversation_id: ConversationId,
    pub contact_id: ContactId,
    /// A recording (its call's start), or a whole conversation (its last activity).
    pub recording_id: Option<RecordingId>,
    pub at: OffsetDateTime,
    pub bytes: u64,
}

/// What a plan would delete now, and what holds keep.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    /// Recordings deleted on their own (their calls stay).
    pub recordings: Tally,
    /// Whole conversations.
    pub conversations: Tally,
    /// Calls and recordings inside those conversations.
    pub conversation_calls: u64,
    pub conversation_recordings: u64,
    pub held_recordings: u64,
    pub held_conversations: u64,
    /// The oldest few of each.
    pub examples: Vec<Example>,
}

impl Preview {
    /// Whether the plan would delete anything now.
    #[must_use]
    pub fn deletes_anything(&self) -> bool {
        self.recordings.count + self.conversations.count > 0
    }

    /// "12 recordings (3.1 MB) and 2 conversations": for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.recordings.count > 0 {
            parts.push(format!(
                "{} recording{} ({})",
                self.recordings.count,
                if self.recordings.count == 1 { "" } else { "s" },
                human_bytes(self.recordings.bytes)
            ));
        }
        if self.conversations.count > 0 {
            parts.push(format!(
                "{} conversation{} with {} recording{} ({})",
                self.conversations.count,
                if self.conversations.count == 1 {
                    ""
                } else {
                    "s"
                },
                self.conversation_recordings,
                if self.conversation_recordings == 1 {
                    ""
                } else {
                    "s"
                },
                human_bytes(self.conversations.bytes)
            ));
        }
        if parts.is_empty() {
            "nothing".to_owned()
        } else {
            parts.join(" and ")
        }
    }
}

/// Bytes as people read them: "3.1 GB".
#[must_use]
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    #[allow(clippy::cast_precision_loss, reason = "a size shown to one decimal")]
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// What a run deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub recordings: u64,
    pub conversations: u64,
    pub bytes: u64,
    pub held_recordings: u64,
    pub held_conversations: u64,
    /// The jobs removing the audio, queued (workers take them at once; a caller that wants
    /// the files gone before it answers runs them).
    pub cleanup_jobs: Vec<callvault_core::JobId>,
}

/// The plan in force.
pub async fn plan(app: &App) -> AppResult<Plan> {
    let default = app.store.retention_default().await?;
    let numbers = app
        .store
        .numbers()
        .await?
        .into_iter()
        .map(|n| (n.id, n.retention))
        .collect();
    Ok(Plan { default, numbers })
}

/// Walks what `plan` would delete at `now`, handing each candidate to `visit`.
async fn walk<F, Fut>(app: &App, plan: &Plan, now: OffsetDateTime, mut visit: F) -> AppResult<()>
where
    F: FnMut(Candidate) -> Fut,
    Fut: std::future::Future<Output = AppResult<()>>,
{
    for number in plan.numbers.keys().copied() {
        let Some(before) = plan.effective(number).recordings_expire_before(now) else {
            continue;
        };
        let mut after = None;
        loop {
            let page = app
                .store
                .recordings_started_before(number, before, after, PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some(CallAgeCursor {
                started_at: last.call_started_at,
                call_id: last.call_id,
            });
            let full = page.len() == PAGE as usize;
            for r in page {
                visit(Candidate::Recording(r)).await?;
            }
            if !full {
                break;
            }
        }
    }
    let Some(shortest) = shortest_conversation_period(plan.policies()) else {
        return Ok(());
    };
    let before = now - Duration::days(i64::from(shortest));
    let mut after = None;
    loop {
        let page = app
            .store
            .conversations_idle_since(before, after, PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(ConversationCursor {
            activity_at: last.activity_at,
            id: last.id,
        });
        let full = page.len() == PAGE as usize;
        for c in page {
            let policies: Vec<RetentionPolicy> =
                c.numbers.iter().map(|n| plan.effective(*n)).collect();
            let Some(cutoff) = conversation_idle_cutoff(&policies, plan.default, now) else {
                continue;
            };
            if c.activity_at < cutoff {
                visit(Candidate::Conversation(c, cutoff)).await?;
            }
        }
        if !full {
            break;
        }
    }
    Ok(())
}

enum Candidate {
    Recording(callvault_store::AgedRecording),
    /// With the moment it must still have been idle before.
    Conversation(callvault_store::IdleConversation, OffsetDateTime),
}

/// What `plan` would delete now (admins).
pub async fn preview(app: &App, user: &User, plan: &Plan) -> AppResult<Preview> {
    require_org(user, OrgAction::ManageRetention)?;
    dry_run(app, plan).await
}

async fn dry_run(app: &App, plan: &Plan) -> AppResult<Preview> {
    let preview = std::sync::Mutex::new(Preview::default());
    walk(app, plan, app.now(), |candidate| {
        let mut p = preview
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match candidate {
            Candidate::Recording(r) if r.held => p.held_recordings += 1,
            Candidate::Recording(r) => {
                p.recordings.add(r.bytes, r.call_started_at);
                p.examples.push(Example {
                    conversation_id: r.conversation_id,
                    contact_id: r.contact_id,
                    recording_id: Some(r.id),
                    at: r.call_started_at,
                    bytes: r.bytes,
                });
            }
            Candidate::Conversation(c, _) if c.held => p.held_conversations += 1,
            Candidate::Conversation(c, _) => {
                p.conversations.add(c.bytes, c.activity_at);
                p.conversation_calls += c.calls;
                p.conversation_recordings += c.recordings;
                p.examples.push(Example {
                    conversation_id: c.id,
                    contact_id: c.contact_id,
                    recording_id: None,
                    at: c.activity_at,
                    bytes: c.bytes,
                });
            }
        }
        // Only the oldest few are kept as examples.
        if p.examples.len() > SAMPLE * 4 {
            p.examples.sort_by_key(|e| e.at);
            p.examples.truncate(SAMPLE);
        }
        std::future::ready(Ok(()))
    })
    .await?;
    let mut p = preview
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    p.examples.sort_by_key(|e| e.at);
    p.examples.truncate(SAMPLE);
    Ok(p)
}

/// Changes the installation's default (admins); audited. What it deletes goes at the next run:
/// the dry run (`preview`) says what that is, and the web UI shows it before saving.
pub async fn set_default(app: &App, user: &User, policy: RetentionPolicy) -> AppResult<Plan> {
    require_org(user, OrgAction::ManageRetention)?;
    let policy = policy
        .checked()
        .map_err(|_| AppError::Invalid(crate::Invalid::RetentionPeriod))?;
    let mut plan = plan(app).await?;
    let before = plan.default;
    plan.default = policy;
    app.store.set_retention_default(policy, app.now()).await?;
    audit::record(
        app,
        Some(user),
        AuditAction::RetentionPolicy,
        "installation",
        None,
        serde_json::json!({"before": before, "after": policy}),
    )
    .await;
    Ok(plan)
}

/// Deletes what the policy in force says is past its time; `actor` is who asked (none for the
/// daily run). Each deletion is its own transaction, checked again there; the audio goes by
/// the queue (see [`RunSummary::cleanup_jobs`]).
pub async fn run(app: &App, actor: Option<&User>) -> AppResult<RunSummary> {
    if let Some(user) = actor {
        require_org(user, OrgAction::ManageRetention)?;
    }
    let plan = plan(app).await?;
    let now = app.now();
    let summary = std::sync::Mutex::new(RunSummary::default());
    let batch = std::sync::Mutex::new(Batch::default());
    walk(app, &plan, now, |candidate| {
        let (summary, batch) = (&summary, &batch);
        async move {
            let outcome = match &candidate {
                Candidate::Recording(r) if !r.held => app
                    .store
                    .expire_recording(r.id, now)
                    .await
                    .map(|d| Some((d, r.bytes))),
                Candidate::Conversation(c, cutoff) if !c.held => app
                    .store
                    .expire_conversation(c.id, &c.numbers, *cutoff, now)
                    .await
                    .map(|d| d.map(|d| (d, c.bytes))),
                _ => Ok(None),
            };
            let held = matches!(&candidate, Candidate::Recording(r) if r.held)
                || matches!(&candidate, Candidate::Conversation(c, _) if c.held)
                || matches!(outcome, Err(StoreError::Held(_)));
            let deleted = match outcome {
                Ok(deleted) => deleted,
                // Deleted meanwhile, or held since the walk read it.
                Err(StoreError::NotFound | StoreError::Held(_)) => None,
                Err(e) => return Err(e.into()),
            };
            {
                let mut s = summary
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match (&candidate, &deleted, held) {
                    (Candidate::Recording(_), _, true) => s.held_recordings += 1,
                    (Candidate::Conversation(..), _, true) => s.held_conversations += 1,
                    (Candidate::Recording(_), Some((_, bytes)), false) => {
                        s.recordings += 1;
                        s.bytes += bytes;
                    }
                    (Candidate::Conversation(..), Some((_, bytes)), false) => {
                        s.conversations += 1;
                        s.bytes += bytes;
                    }
                    _ => {}
                }
            }
            if let Some((deleted, _)) = deleted {
                let (conversation, contact) = match &candidate {
                    Candidate::Recording(r) => (r.conversation_id, r.contact_id),
                    Candidate::Conversation(c, _) => (c.id, c.contact_id),
                };
                crate::webhooks::recordings_deleted(
                    app,
                    &deleted.recordings,
                    conversation,
                    contact,
                    "retention",
                )
                .await;
                summary
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .cleanup_jobs
                    .extend(deleted.cleanup_jobs);
                app.jobs.wake();
                let full = {
                    let mut b = batch
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    match candidate {
                        Candidate::Recording(r) => {
                            b.of(r.contact_id).recordings.push(r.id);
                        }
                        Candidate::Conversation(c, _) => {
                            b.of(c.contact_id).conversations.push(c.id);
                        }
                    }
                    b.count += 1;
                    (b.count >= AUDIT_BATCH).then(|| std::mem::take(&mut *b))
                };
                if let Some(full) = full {
                    full.audit(app, actor).await;
                }
            }
            Ok(())
        }
    })
    .await?;
    let rest = batch
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    rest.audit(app, actor).await;
    let summary = summary
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // A daily run that found nothing to do leaves no line; one a person asked for always does.
    let found = summary.recordings
        + summary.conversations
        + summary.held_recordings
        + summary.held_conversations;
    if found == 0 && actor.is_none() {
        return Ok(summary);
    }
    audit::record(
        app,
        actor,
        AuditAction::RetentionRun,
        "installation",
        None,
        serde_json::json!({
            "recordings": summary.recordings,
            "conversations": summary.conversations,
            "bytes": summary.bytes,
            "held_recordings": summary.held_recordings,
            "held_conversations": summary.held_conversations,
        }),
    )
    .await;
    Ok(summary)
}

/// Deletions not yet written to the audit log, by the contact they were of (so a contact's
/// audit log shows what the policy took from them).
#[derive(Default)]
struct Batch {
    contacts: HashMap<ContactId, ContactDeletions>,
    count: usize,
}

#[derive(Default)]
struct ContactDeletions {
    recordings: Vec<RecordingId>,
    conversations: Vec<ConversationId>,
}

impl Batch {
    fn of(&mut self, contact: ContactId) -> &mut ContactDeletions {
        self.contacts.entry(contact).or_default()
    }

    async fn audit(self, app: &App, actor: Option<&User>) {
        for (contact, deleted) in self.contacts {
            audit::record_about(
                app,
                actor,
                AuditAction::RetentionDelete,
                "contact",
                Some(contact.to_string()),
                contact,
                serde_json::json!({
                    "recordings": deleted.recordings,
                    "conversations": deleted.conversations,
                }),
            )
            .await;
        }
    }
}

/// The day's run, queued for `now` plus `delay` unless it is queued already (any process may
/// ask; the day in its key keeps it to one).
pub async fn schedule(app: &App, delay: Duration) {
    let at = app.now() + delay;
    let job = JobSpec::ApplyRetention {
        day: at.date().to_string(),
    }
    .at(at);
    match app.store.enqueue(job, app.now()).await {
        Ok(_) | Err(StoreError::Conflict(callvault_store::Conflict::DuplicateJob)) => {}
        Err(e) => tracing::warn!(error = %e, "could not schedule the retention run"),
    }
}

/// The daily job: runs the policy, removes audit entries past theirs, then queues the next
/// day's.
pub async fn run_daily(app: &App) -> AppResult<()> {
    // Tomorrow's first, so a run that fails every attempt does not end the daily runs.
    schedule(app, Duration::days(1)).await;
    let summary = run(app, None).await?;
    let pruned = crate::audit::prune(app).await?;
    if pruned > 0 {
        tracing::info!(
            entries = pruned,
            "audit entries past their retention removed"
        );
    }
    tracing::info!(
        recordings = summary.recordings,
        conversations = summary.conversations,
        bytes = summary.bytes,
        "retention run finished"
    );
    Ok(())
}
