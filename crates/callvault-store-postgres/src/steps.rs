//! Steps that several areas take inside one write transaction, each safe under PostgreSQL's
//! default isolation (read committed) with other processes writing at the same time:
//! find-or-create goes through `INSERT … ON CONFLICT`, checks that cannot be a constraint take
//! an advisory lock, and rows are locked in one order everywhere — the contact, then its
//! conversation, then a call — so two writers never wait on each other in a circle. A writer
//! holds the contact (`FOR SHARE`, or stronger to change it) before it adds to the contact's
//! conversation, so the copies triggers keep (the inbox's, the assignments') are never made
//! from a row another transaction is changing. The area files call these; they never call
//! each other.

use callvault_core::contact::fold_for_search;
use callvault_core::conversation::Channel;
use callvault_core::phone::E164;
use callvault_core::{ContactId, ConversationId, JobId, RecordingId, UserId};
use callvault_store::rules::{TranscriptAsk, ask_transcript, becomes_latest, effective_status};
use callvault_store::{
    Conflict, Deleted, JobSpec, Missing, NewContact, NewJob, StoreError, StoreResult,
    TranscriptRequest, TranscriptStatus,
};
use sqlx::{PgConnection, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{Db, conflict_on_unique, missing_on_fk};
use crate::rows::{hold_columns, hold_from_row};

pub(crate) type Tx = Transaction<'static, Postgres>;

/// The channel workers listen on; the payload is the job's kind.
pub(crate) const JOBS_CHANNEL: &str = "callvault_jobs";

/// The advisory lock between legal holds and deletions: each deletion holds it shared while
/// it checks and deletes, placing a hold takes it alone, so a hold placed while a deletion is
/// under way waits for it, and a deletion that starts after a hold sees it.
const HOLDS_LOCK: &str = "legal_holds";

/// Takes the holds' lock alone, until the transaction ends (placing a hold).
pub(crate) async fn lock_holds(tx: &mut Tx) -> StoreResult<()> {
    lock(tx, HOLDS_LOCK).await
}

/// Fails with `StoreError::Held` when a legal hold is in force over the contact (its own or
/// the installation's). Every deletion asks this inside its transaction, holding the holds'
/// lock shared until it commits.
pub(crate) async fn refuse_if_held(tx: &mut Tx, contact: ContactId) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))")
        .bind(HOLDS_LOCK)
        .execute(&mut **tx)
        .await
        .db()?;
    let held = sqlx::query(concat!(
        "SELECT ",
        hold_columns!(),
        " FROM legal_holds h
         WHERE h.released_at IS NULL AND (h.contact_id = $1 OR h.scope = 'installation')
         ORDER BY h.placed_at, h.id LIMIT 1"
    ))
    .bind(contact.0)
    .fetch_optional(&mut **tx)
    .await
    .db()?;
    match held {
        Some(row) => Err(StoreError::Held(Box::new(hold_from_row(&row)?))),
        None => Ok(()),
    }
}

/// Holds a lock named `key` until the transaction ends, for checks no constraint can make
/// (a call already reported under this id, the set of active admins).
pub(crate) async fn lock(tx: &mut Tx, key: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(&mut **tx)
        .await
        .db()?;
    Ok(())
}

/// Inserts a contact (without a conversation).
pub(crate) async fn insert_contact(
    tx: &mut Tx,
    contact: &NewContact,
    now: OffsetDateTime,
) -> StoreResult<ContactId> {
    let id = ContactId::new();
    sqlx::query(
        "INSERT INTO contacts (id, name, name_folded, phone_e164, phone_digits, phone_raw, email, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.0)
    .bind(&contact.name)
    .bind(fold_for_search(&contact.name))
    .bind(contact.phone.as_str())
    .bind(contact.phone.digits())
    .bind(&contact.phone_raw)
    .bind(&contact.email)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_on_unique(e, Conflict::PhoneTaken))?;
    assign(tx, id, &contact.assigned).await?;
    Ok(id)
}

/// Replaces the contact's assignees.
pub(crate) async fn assign(tx: &mut Tx, contact: ContactId, users: &[UserId]) -> StoreResult<()> {
    sqlx::query("DELETE FROM contact_assignments WHERE contact_id = $1")
        .bind(contact.0)
        .execute(&mut **tx)
        .await
        .db()?;
    for user in users {
        let_handler_see(tx, contact, *user).await?;
    }
    Ok(())
}

/// Holds the contact for this transaction against deletion and renaming (others may hold it
/// the same way at once). `false` if it does not exist.
pub(crate) async fn lock_contact(tx: &mut Tx, contact: ContactId) -> StoreResult<bool> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM contacts WHERE id = $1 FOR SHARE")
        .bind(contact.0)
        .fetch_optional(&mut **tx)
        .await
        .db()?;
    Ok(found.is_some())
}

/// The contact with this number, created (named `name`) if there is none, and held (see
/// [`lock_contact`]). Two reports for the same new number at once make one contact: the
/// second insert waits for the first and then finds it.
pub(crate) async fn contact_for_phone(
    tx: &mut Tx,
    phone: &E164,
    phone_raw: &str,
    name: &str,
    now: OffsetDateTime,
) -> StoreResult<ContactId> {
    for _ in 0..3 {
        let existing: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM contacts WHERE phone_e164 = $1 FOR SHARE")
                .bind(phone.as_str())
                .fetch_optional(&mut **tx)
                .await
                .db()?;
        if let Some(id) = existing {
            return Ok(id.into());
        }
        let created: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO contacts (id, name, name_folded, phone_e164, phone_digits, phone_raw, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (phone_e164) DO NOTHING
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(fold_for_search(name))
        .bind(phone.as_str())
        .bind(phone.digits())
        .bind(phone_raw)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await
        .db()?;
        if let Some(id) = created {
            return Ok(id.into());
        }
        // Another transaction made it meanwhile (or made and deleted it): look again.
    }
    Err(StoreError::corrupt(
        "the contact for this number kept changing under us",
    ))
}

/// Whoever handled a call may see its contact: a team member who sees only their own
/// contacts sees the caller they just spoke to. The caller holds the contact's conversation,
/// if it has one, or the contact itself more strongly than `FOR SHARE` (the new assignment
/// copies the conversation's place in the inbox, which must not move meanwhile).
pub(crate) async fn let_handler_see(
    tx: &mut Tx,
    contact: ContactId,
    user: UserId,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO contact_assignments (contact_id, user_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(contact.0)
    .bind(user.0)
    .execute(&mut **tx)
    .await
    .map_err(|e| missing_on_fk(e, Missing::User))?;
    Ok(())
}

/// Locks a conversation for this transaction (its contact first, see the module's order), so
/// nothing is added to it while it is deleted and its latest message moves one writer at a
/// time. `false` if it does not exist.
pub(crate) async fn lock_conversation(tx: &mut Tx, id: ConversationId) -> StoreResult<bool> {
    let contact: Option<Uuid> =
        sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    let Some(contact) = contact else {
        return Ok(false);
    };
    if !lock_contact(tx, contact.into()).await? {
        return Ok(false);
    }
    let found: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE")
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    Ok(found.is_some())
}

/// The contact's conversation, created if it has none, locked (see [`lock_conversation`]).
/// The caller holds the contact.
pub(crate) async fn ensure_conversation(
    tx: &mut Tx,
    contact: ContactId,
    now: OffsetDateTime,
) -> StoreResult<ConversationId> {
    for _ in 0..3 {
        let existing: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = $1 FOR UPDATE")
                .bind(contact.0)
                .fetch_optional(&mut **tx)
                .await
                .db()?;
        if let Some(id) = existing {
            return Ok(id.into());
        }
        let created: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO conversations (id, contact_id, activity_at, created_at)
             VALUES ($1, $2, $3, $3)
             ON CONFLICT (contact_id) DO NOTHING
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(contact.0)
        .bind(now)
        .fetch_optional(&mut **tx)
        .await
        .db()?;
        if let Some(id) = created {
            return Ok(id.into());
        }
        // Another transaction made it meanwhile (or made and deleted it): look again.
    }
    Err(StoreError::corrupt(
        "the contact's conversation kept changing under us",
    ))
}

/// Makes an event at `at` on `channel` the conversation's latest message, if the rule says it
/// is (see `rules::becomes_latest`).
pub(crate) async fn touch(
    tx: &mut Tx,
    conversation: ConversationId,
    channel: Channel,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let last: Option<Option<OffsetDateTime>> =
        sqlx::query_scalar("SELECT last_message_at FROM conversations WHERE id = $1 FOR UPDATE")
            .bind(conversation.0)
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    let last = last.ok_or(StoreError::NotFound)?;
    if !becomes_latest(last, at) {
        return Ok(());
    }
    sqlx::query(
        "UPDATE conversations SET last_message_channel = $1, last_message_at = $2, activity_at = $2
         WHERE id = $3",
    )
    .bind(channel.as_str())
    .bind(at)
    .bind(conversation.0)
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(())
}

/// Deletes a conversation and everything in it, and enqueues removal of its audio objects in
/// the same transaction. The conversation is locked first, so a recording being stored for one
/// of its calls either commits before (and its object is collected here) or finds its call gone.
pub(crate) async fn purge_conversation(
    tx: &mut Tx,
    id: ConversationId,
    now: OffsetDateTime,
) -> StoreResult<Deleted> {
    let contact: Option<Uuid> =
        sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    let contact = contact.ok_or(StoreError::NotFound)?;
    if !lock_conversation(tx, id).await? {
        return Err(StoreError::NotFound);
    }
    refuse_if_held(tx, contact.into()).await?;
    let owned: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT r.id, r.blob_key FROM recordings r JOIN calls k ON k.id = r.call_id
         WHERE k.conversation_id = $1 ORDER BY r.blob_key",
    )
    .bind(id.0)
    .fetch_all(&mut **tx)
    .await
    .db()?;
    // Events, calls, recordings, transcripts and segments go by ON DELETE CASCADE.
    sqlx::query("DELETE FROM conversations WHERE id = $1")
        .bind(id.0)
        .execute(&mut **tx)
        .await
        .db()?;
    let mut deleted = Deleted::default();
    for (recording, key) in owned {
        deleted
            .cleanup_jobs
            .push(enqueue_in(tx, JobSpec::CollectBlob { key }.at(now), now).await?);
        deleted.recordings.push(recording.into());
    }
    Ok(deleted)
}

/// Enqueues a job inside a caller's transaction, so it exists exactly when the caller's
/// change does; workers listening anywhere hear of it when the transaction commits.
pub(crate) async fn enqueue_in(
    tx: &mut Tx,
    job: NewJob,
    now: OffsetDateTime,
) -> StoreResult<JobId> {
    let id = JobId::new();
    let kind = job.spec.kind();
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, max_attempts, run_at, created_at, updated_at, dedupe_key)
         VALUES ($1, $2, $3::jsonb, 'queued', $4, $5, $6, $6, $7)",
    )
    .bind(id.0)
    .bind(kind.as_str())
    .bind(job.spec.payload().to_string())
    .bind(i32::try_from(kind.max_attempts()).unwrap_or(i32::MAX))
    .bind(job.run_at)
    .bind(now)
    .bind(job.spec.dedupe_key())
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_on_unique(e, Conflict::DuplicateJob))?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(JOBS_CHANNEL)
        .bind(kind.as_str())
        .execute(&mut **tx)
        .await
        .db()?;
    Ok(id)
}

/// A recording's transcript status as users should see it, if it has a transcript.
pub(crate) async fn transcript_status(
    conn: &mut PgConnection,
    recording: RecordingId,
) -> StoreResult<Option<TranscriptStatus>> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT t.status, j.state FROM transcripts t LEFT JOIN jobs j ON j.id = t.job_id
         WHERE t.recording_id = $1",
    )
    .bind(recording.0)
    .fetch_optional(&mut *conn)
    .await
    .db()?;
    row.map(|(status, job_state)| {
        let stored = TranscriptStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt(format!("bad transcript status {status:?}")))?;
        let alive = matches!(job_state.as_deref(), Some("queued" | "running"));
        Ok(effective_status(stored, alive))
    })
    .transpose()
}

/// Asks for a recording's transcript inside the caller's transaction (see
/// `TranscriptStore::request_transcript`). The recording's row is locked, so two requests at
/// once queue one job.
pub(crate) async fn request_transcript_in(
    tx: &mut Tx,
    recording: RecordingId,
    now: OffsetDateTime,
) -> StoreResult<TranscriptRequest> {
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM recordings WHERE id = $1 FOR UPDATE")
            .bind(recording.0)
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    let ask = ask_transcript(transcript_status(tx, recording).await?);
    if let TranscriptAsk::Keep(status) = ask {
        return Ok(TranscriptRequest { status, job: None });
    }
    let job = enqueue_in(
        tx,
        JobSpec::Transcribe {
            recording_id: recording,
        }
        .at(now),
        now,
    )
    .await?;
    if ask == TranscriptAsk::Requeue {
        sqlx::query(
            "UPDATE transcripts SET status = 'queued', progress = 0, error = NULL, updated_at = $1,
                    job_id = $2
             WHERE recording_id = $3",
        )
        .bind(now)
        .bind(job.0)
        .bind(recording.0)
        .execute(&mut **tx)
        .await
        .db()?;
    } else {
        sqlx::query(
            "INSERT INTO transcripts (id, recording_id, status, progress, created_at, updated_at, job_id)
             VALUES ($1, $2, 'queued', 0, $3, $3, $4)",
        )
        .bind(callvault_core::TranscriptId::new().0)
        .bind(recording.0)
        .bind(now)
        .bind(job.0)
        .execute(&mut **tx)
        .await
        .db()?;
    }
    // A number that redacts now: the recording waits for the check before anyone hears it
    // again (one stored before the switch was turned on is checked with its transcript).
    sqlx::query(
        "UPDATE recordings r SET redaction_pending = true
         FROM calls k JOIN phone_numbers n ON n.id = k.number_id
         WHERE r.id = $1 AND k.id = r.call_id AND n.redact_sensitive",
    )
    .bind(recording.0)
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(TranscriptRequest {
        status: TranscriptStatus::Queued,
        job: Some(job),
    })
}

/// Takes over the object a cleanup guard was protecting: drops the guard in `tx`, so the
/// object belongs to the row written with it. `Conflict::UploadExpired` when the guard already
/// started (it may be deleting the object): the caller gives up rather than keep a row whose
/// audio may vanish.
pub(crate) async fn adopt_guard_in(tx: &mut Tx, guard: JobId) -> StoreResult<()> {
    let dropped = sqlx::query("DELETE FROM jobs WHERE id = $1 AND state = 'queued'")
        .bind(guard.0)
        .execute(&mut **tx)
        .await
        .db()?;
    if dropped.rows_affected() == 0 {
        return Err(Conflict::UploadExpired.into());
    }
    Ok(())
}
