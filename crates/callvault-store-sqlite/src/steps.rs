//! Steps that several areas take inside one write transaction: finding or creating a contact,
//! ensuring its conversation, moving the conversation's latest message, letting a handler see a
//! contact, deleting a conversation with its audio's cleanup (unless a legal hold refuses it),
//! enqueuing a job, asking for a transcript. The area files call these; they never call each other.

use callvault_core::contact::fold_for_search;
use callvault_core::conversation::Channel;
use callvault_core::phone::E164;
use callvault_core::{ContactId, ConversationId, JobId, RecordingId, UserId};
use callvault_store::rules::{TranscriptAsk, ask_transcript, becomes_latest, effective_status};
use callvault_store::{
    Conflict, Deleted, JobSpec, Missing, NewContact, NewJob, StoreError, StoreResult,
    TranscriptRequest, TranscriptStatus,
};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use time::OffsetDateTime;

use crate::codec::{Db, conflict_on_unique, from_ms, missing_on_fk, ms};
use crate::rows::{hold_columns, hold_from_row, parse_id};

pub(crate) type Tx = Transaction<'static, Sqlite>;

/// Inserts a contact (without a conversation).
pub(crate) async fn insert_contact(
    tx: &mut Tx,
    contact: &NewContact,
    now: OffsetDateTime,
) -> StoreResult<ContactId> {
    let id = ContactId::new();
    sqlx::query(
        "INSERT INTO contacts (id, name, name_folded, phone_e164, phone_digits, phone_raw, email, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(&contact.name)
    .bind(fold_for_search(&contact.name))
    .bind(contact.phone.as_str())
    .bind(contact.phone.digits())
    .bind(&contact.phone_raw)
    .bind(&contact.email)
    .bind(ms(now))
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_on_unique(e, Conflict::PhoneTaken))?;
    assign(tx, id, &contact.assigned).await?;
    Ok(id)
}

/// Replaces the contact's assignees.
pub(crate) async fn assign(tx: &mut Tx, contact: ContactId, users: &[UserId]) -> StoreResult<()> {
    sqlx::query("DELETE FROM contact_assignments WHERE contact_id = ?")
        .bind(contact.to_string())
        .execute(&mut **tx)
        .await
        .db()?;
    for user in users {
        let_handler_see(tx, contact, *user).await?;
    }
    Ok(())
}

/// The contact with this number, created (named `name`) if there is none.
pub(crate) async fn contact_for_phone(
    tx: &mut Tx,
    phone: &E164,
    phone_raw: &str,
    name: &str,
    now: OffsetDateTime,
) -> StoreResult<ContactId> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM contacts WHERE phone_e164 = ?")
            .bind(phone.as_str())
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    if let Some(id) = parse_id(existing, "contact")? {
        return Ok(id);
    }
    let contact = NewContact {
        name: name.to_owned(),
        phone: phone.clone(),
        phone_raw: phone_raw.to_owned(),
        email: None,
        assigned: Vec::new(),
    };
    insert_contact(tx, &contact, now).await
}

/// Whoever handled a call may see its contact: a team member who sees only their own
/// contacts sees the caller they just spoke to.
pub(crate) async fn let_handler_see(
    tx: &mut Tx,
    contact: ContactId,
    user: UserId,
) -> StoreResult<()> {
    sqlx::query("INSERT OR IGNORE INTO contact_assignments (contact_id, user_id) VALUES (?, ?)")
        .bind(contact.to_string())
        .bind(user.to_string())
        .execute(&mut **tx)
        .await
        .map_err(|e| missing_on_fk(e, Missing::User))?;
    Ok(())
}

/// The contact's conversation, created if it has none.
pub(crate) async fn ensure_conversation(
    tx: &mut Tx,
    contact: ContactId,
    now: OffsetDateTime,
) -> StoreResult<ConversationId> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM conversations WHERE contact_id = ?")
            .bind(contact.to_string())
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    if let Some(id) = parse_id(existing, "conversation")? {
        return Ok(id);
    }
    let id = ConversationId::new();
    sqlx::query(
        "INSERT INTO conversations (id, contact_id, activity_at, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(contact.to_string())
    .bind(ms(now))
    .bind(ms(now))
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(id)
}

/// Makes an event at `at` on `channel` the conversation's latest message, if the rule says it
/// is (see `rules::becomes_latest`).
pub(crate) async fn touch(
    tx: &mut Tx,
    conversation: ConversationId,
    channel: Channel,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let last: Option<Option<i64>> =
        sqlx::query_scalar("SELECT last_message_at FROM conversations WHERE id = ?")
            .bind(conversation.to_string())
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    let last = last.ok_or(StoreError::NotFound)?.map(from_ms).transpose()?;
    if !becomes_latest(last, at) {
        return Ok(());
    }
    sqlx::query(
        "UPDATE conversations SET last_message_channel = ?1, last_message_at = ?2, activity_at = ?2
         WHERE id = ?3",
    )
    .bind(channel.as_str())
    .bind(ms(at))
    .bind(conversation.to_string())
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(())
}

/// Deletes a conversation and everything in it, and enqueues removal of its audio objects in
/// the same transaction.
pub(crate) async fn purge_conversation(
    tx: &mut Tx,
    id: ConversationId,
    now: OffsetDateTime,
) -> StoreResult<Deleted> {
    let contact: Option<String> =
        sqlx::query_scalar("SELECT contact_id FROM conversations WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await
            .db()?;
    let contact: ContactId = parse_id(contact, "contact")?.ok_or(StoreError::NotFound)?;
    refuse_if_held(tx, contact).await?;
    let owned: Vec<(String, String)> = sqlx::query_as(
        "SELECT r.id, r.blob_key FROM recordings r JOIN calls k ON k.id = r.call_id
         WHERE k.conversation_id = ? ORDER BY r.blob_key",
    )
    .bind(id.to_string())
    .fetch_all(&mut **tx)
    .await
    .db()?;
    // Events, calls, recordings, transcripts and segments go by ON DELETE CASCADE.
    let done = sqlx::query("DELETE FROM conversations WHERE id = ?")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .db()?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    let mut deleted = Deleted::default();
    for (recording, key) in owned {
        deleted
            .cleanup_jobs
            .push(enqueue_in(tx, JobSpec::CollectBlob { key }.at(now), now).await?);
        deleted
            .recordings
            .extend(parse_id::<RecordingId>(Some(recording), "recording")?);
    }
    Ok(deleted)
}

/// Fails with `StoreError::Held` when a legal hold is in force over the contact (its own or
/// the installation's): every deletion asks this inside its transaction, and writes take
/// turns, so a hold placed meanwhile is seen.
pub(crate) async fn refuse_if_held(tx: &mut Tx, contact: ContactId) -> StoreResult<()> {
    let sql = concat!(
        "SELECT ",
        hold_columns!(),
        " FROM legal_holds h
         WHERE h.released_at IS NULL AND (h.contact_id = ? OR h.scope = 'installation')
         ORDER BY h.placed_at, h.id LIMIT 1"
    );
    let held = sqlx::query(sql)
        .bind(contact.to_string())
        .fetch_optional(&mut **tx)
        .await
        .db()?;
    match held {
        Some(row) => Err(StoreError::Held(Box::new(hold_from_row(&row)?))),
        None => Ok(()),
    }
}

/// Enqueues a job inside a caller's transaction, so it exists exactly when the caller's
/// change does.
pub(crate) async fn enqueue_in(
    tx: &mut Tx,
    job: NewJob,
    now: OffsetDateTime,
) -> StoreResult<JobId> {
    let id = JobId::new();
    let kind = job.spec.kind();
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, max_attempts, run_at, created_at, updated_at, dedupe_key)
         VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(kind.as_str())
    .bind(job.spec.payload().to_string())
    .bind(i64::from(kind.max_attempts()))
    .bind(ms(job.run_at))
    .bind(ms(now))
    .bind(ms(now))
    .bind(job.spec.dedupe_key())
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_on_unique(e, Conflict::DuplicateJob))?;
    Ok(id)
}

/// A recording's transcript status as users should see it, if it has a transcript.
pub(crate) async fn transcript_status(
    conn: &mut SqliteConnection,
    recording: RecordingId,
) -> StoreResult<Option<TranscriptStatus>> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT t.status, j.state FROM transcripts t LEFT JOIN jobs j ON j.id = t.job_id
         WHERE t.recording_id = ?",
    )
    .bind(recording.to_string())
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
/// `TranscriptStore::request_transcript`).
pub(crate) async fn request_transcript_in(
    tx: &mut Tx,
    recording: RecordingId,
    now: OffsetDateTime,
) -> StoreResult<TranscriptRequest> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM recordings WHERE id = ?")
        .bind(recording.to_string())
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
            "UPDATE transcripts SET status = 'queued', progress = 0, error = NULL, updated_at = ?,
                    job_id = ?
             WHERE recording_id = ?",
        )
        .bind(ms(now))
        .bind(job.to_string())
        .bind(recording.to_string())
        .execute(&mut **tx)
        .await
        .db()?;
    } else {
        sqlx::query(
            "INSERT INTO transcripts (id, recording_id, status, progress, created_at, updated_at, job_id)
             VALUES (?, ?, 'queued', 0, ?, ?, ?)",
        )
        .bind(callvault_core::TranscriptId::new().to_string())
        .bind(recording.to_string())
        .bind(ms(now))
        .bind(ms(now))
        .bind(job.to_string())
        .execute(&mut **tx)
        .await
        .db()?;
    }
    // A number that redacts now: the recording waits for the check before anyone hears it
    // again (one stored before the switch was turned on is checked with its transcript).
    sqlx::query(
        "UPDATE recordings SET redaction_pending = 1
         WHERE id = ?1 AND EXISTS (SELECT 1 FROM calls k JOIN phone_numbers n ON n.id = k.number_id
                                   WHERE k.id = recordings.call_id AND n.redact_sensitive = 1)",
    )
    .bind(recording.to_string())
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(TranscriptRequest {
        status: TranscriptStatus::Queued,
        job: Some(job),
    })
}

/// The version of `fold_for_search` the stored `name_folded` values follow.
const SEARCH_FOLD_VERSION: i64 = 2;

/// Refolds every contact's search name once after the folding rule changed (it needs Unicode
/// tables SQLite lacks, so a SQL migration cannot do it).
pub(crate) async fn refold_search_names(pool: &SqlitePool) -> StoreResult<()> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.db()?;
    let done: Option<i64> =
        sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'search_fold'")
            .fetch_optional(&mut *tx)
            .await
            .db()?;
    if done.is_some_and(|v| v >= SEARCH_FOLD_VERSION) {
        return Ok(());
    }
    let names: Vec<(String, String)> = sqlx::query_as("SELECT id, name FROM contacts")
        .fetch_all(&mut *tx)
        .await
        .db()?;
    for (id, name) in names {
        sqlx::query("UPDATE contacts SET name_folded = ? WHERE id = ?")
            .bind(fold_for_search(&name))
            .bind(id)
            .execute(&mut *tx)
            .await
            .db()?;
    }
    sqlx::query("INSERT OR REPLACE INTO store_meta (key, value) VALUES ('search_fold', ?)")
        .bind(SEARCH_FOLD_VERSION)
        .execute(&mut *tx)
        .await
        .db()?;
    tx.commit().await.db()
}

/// Takes over the object a cleanup guard was protecting: drops the guard in `tx`, so the
/// object belongs to the row written with it. `Conflict::UploadExpired` when the guard already
/// started (it may be deleting the object): the caller gives up rather than keep a row whose
/// audio may vanish.
pub(crate) async fn adopt_guard_in(tx: &mut Tx, guard: JobId) -> StoreResult<()> {
    let dropped = sqlx::query("DELETE FROM jobs WHERE id = ? AND state = 'queued'")
        .bind(guard.to_string())
        .execute(&mut **tx)
        .await
        .db()?;
    if dropped.rows_affected() == 0 {
        return Err(Conflict::UploadExpired.into());
    }
    Ok(())
}
