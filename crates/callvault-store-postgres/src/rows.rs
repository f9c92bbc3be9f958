//! Reading rows back into the store's types: the column lists and decoders the area files
//! share, so they never import each other.

use std::collections::HashMap;

use callvault_core::call::{Call, CallStatus, CallTimes, Direction};
use callvault_core::contact::Contact;
use callvault_core::hold::HoldScope;
use callvault_core::number::RecordingChange;
use callvault_core::phone::E164;
use callvault_core::retention::RetentionPolicy;
use callvault_core::{CallId, ContactId, ConversationId, NumberId, UserId};
use callvault_store::{
    Access, CallRecord, LegalHold, RecordingRef, StoreError, StoreResult, UserRef,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::codec::{Db, RowExt, enum_col};

/// The columns `contact_from_row` reads, from `contacts c`.
macro_rules! contact_columns {
    () => {
        "c.id, c.name, c.phone_e164, c.phone_raw, c.email, c.created_at,
         (SELECT v.id FROM conversations v WHERE v.contact_id = c.id) AS conversation_id,
         ARRAY(SELECT a.user_id FROM contact_assignments a WHERE a.contact_id = c.id
               ORDER BY a.user_id) AS assigned"
    };
}
pub(crate) use contact_columns;

pub(crate) fn e164(raw: String) -> StoreResult<E164> {
    E164::try_from(raw).map_err(|e| StoreError::corrupt(e.to_string()))
}

pub(crate) fn contact_from_row(row: &PgRow) -> StoreResult<Contact> {
    Ok(Contact {
        id: row.id("id")?,
        name: row.text("name")?,
        phone: e164(row.text("phone_e164")?)?,
        phone_raw: row.text("phone_raw")?,
        email: row.opt_text("email")?,
        assigned_user_ids: assigned_from_row(row)?,
        conversation_id: row.opt_id::<ConversationId>("conversation_id")?,
        created_at: row.time("created_at")?,
    })
}

/// Reads the `assigned` column: an array of user ids.
pub(crate) fn assigned_from_row(row: &PgRow) -> StoreResult<Vec<UserId>> {
    let ids: Vec<Uuid> = row.try_get("assigned").db()?;
    let mut ids: Vec<UserId> = ids.into_iter().map(UserId::from).collect();
    ids.sort();
    Ok(ids)
}

pub(crate) async fn contact_in(
    conn: &mut PgConnection,
    id: ContactId,
) -> StoreResult<Option<Contact>> {
    let sql = concat!(
        "SELECT ",
        contact_columns!(),
        " FROM contacts c WHERE c.id = $1"
    );
    let row = sqlx::query(sql)
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .db()?;
    row.as_ref().map(contact_from_row).transpose()
}

/// The columns `record_from_row` reads, from `calls k`.
macro_rules! call_columns {
    () => {
        "k.id, k.conversation_id, k.contact_id, k.number_id, k.source, k.external_id, k.direction,
         k.status, k.from_addr, k.to_addr, k.started_at, k.answered_at, k.ended_at, k.handled_by,
         k.recording_allowed, k.recording_note, k.recording_expired_at,
         h.name AS handled_by_name,
         r.id AS recording_id, r.duration_ms AS recording_duration_ms, r.channels AS recording_channels,
         ARRAY(SELECT a.user_id FROM contact_assignments a WHERE a.contact_id = k.contact_id
               ORDER BY a.user_id) AS assigned
         FROM calls k
         LEFT JOIN users h ON h.id = k.handled_by
         LEFT JOIN recordings r ON r.call_id = k.id"
    };
}

fn call_from_row(row: &PgRow) -> StoreResult<Call> {
    Ok(Call {
        id: row.id("id")?,
        conversation_id: row.id("conversation_id")?,
        contact_id: row.id("contact_id")?,
        number_id: row.id("number_id")?,
        direction: enum_col(row, "direction", Direction::parse)?,
        status: enum_col(row, "status", CallStatus::parse)?,
        from: row.text("from_addr")?,
        to: row.text("to_addr")?,
        times: CallTimes {
            started_at: row.time("started_at")?,
            answered_at: row.opt_time("answered_at")?,
            ended_at: row.opt_time("ended_at")?,
        },
        handled_by: row.opt_id("handled_by")?,
        recording_allowed: row.flag("recording_allowed")?,
        recording_id: row.opt_id("recording_id")?,
        source: row.text("source")?,
        external_id: row.opt_text("external_id")?,
        recording_note: row.opt_text("recording_note")?,
        recording_expired_at: row.opt_time("recording_expired_at")?,
    })
}

fn record_from_row(row: &PgRow) -> StoreResult<CallRecord> {
    let call = call_from_row(row)?;
    let handled_by = match (call.handled_by, row.opt_text("handled_by_name")?) {
        (Some(id), Some(name)) => Some(UserRef { id, name }),
        _ => None,
    };
    let recording = match call.recording_id {
        Some(id) => Some(RecordingRef {
            id,
            duration_ms: row.unsigned("recording_duration_ms")?,
            channels: row.unsigned("recording_channels")?,
        }),
        None => None,
    };
    let access = Access {
        contact_id: call.contact_id,
        assigned: assigned_from_row(row)?,
    };
    Ok(CallRecord {
        call,
        handled_by,
        recording,
        access,
    })
}

pub(crate) async fn call_record_in(
    conn: &mut PgConnection,
    id: CallId,
) -> StoreResult<Option<CallRecord>> {
    let sql = concat!("SELECT ", call_columns!(), " WHERE k.id = $1");
    let row = sqlx::query(sql)
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .db()?;
    row.as_ref().map(record_from_row).transpose()
}

/// The calls named, as records.
pub(crate) async fn call_records_by_ids(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> StoreResult<HashMap<CallId, CallRecord>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = concat!("SELECT ", call_columns!(), " WHERE k.id = ANY($1)");
    let rows = sqlx::query(sql).bind(ids).fetch_all(conn).await.db()?;
    rows.iter()
        .map(|row| record_from_row(row).map(|r| (r.call.id, r)))
        .collect()
}

/// The history of a number's recording setting, oldest first.
pub(crate) async fn recording_history_in(
    conn: &mut PgConnection,
    id: NumberId,
) -> StoreResult<Vec<RecordingChange>> {
    let rows = sqlx::query(
        "SELECT call_recording, effective_at FROM number_recording_changes
         WHERE number_id = $1 ORDER BY effective_at, id",
    )
    .bind(id.0)
    .fetch_all(conn)
    .await
    .db()?;
    rows.iter()
        .map(|r| {
            Ok(RecordingChange {
                call_recording: r.flag("call_recording")?,
                effective_at: r.time("effective_at")?,
            })
        })
        .collect()
}

/// The columns `hold_from_row` reads, from `legal_holds h`.
macro_rules! hold_columns {
    () => {
        "h.id, h.scope, h.contact_id, h.reason, h.placed_at, h.released_at,
         h.placed_by, (SELECT u.name FROM users u WHERE u.id = h.placed_by) AS placed_by_name,
         h.released_by, (SELECT u.name FROM users u WHERE u.id = h.released_by) AS released_by_name"
    };
}
pub(crate) use hold_columns;

pub(crate) fn hold_from_row(row: &PgRow) -> StoreResult<LegalHold> {
    let user = |id: &str, name: &str| -> StoreResult<Option<UserRef>> {
        Ok(match (row.opt_id(id)?, row.opt_text(name)?) {
            (Some(id), Some(name)) => Some(UserRef { id, name }),
            _ => None,
        })
    };
    let scope = match (row.text("scope")?.as_str(), row.opt_id("contact_id")?) {
        ("installation", None) => HoldScope::Installation,
        ("contact", Some(contact)) => HoldScope::Contact(contact),
        (other, _) => return Err(StoreError::corrupt(format!("bad hold scope {other:?}"))),
    };
    Ok(LegalHold {
        id: row.id("id")?,
        scope,
        reason: row.text("reason")?,
        placed_by: user("placed_by", "placed_by_name")?,
        placed_at: row.time("placed_at")?,
        released_by: user("released_by", "released_by_name")?,
        released_at: row.opt_time("released_at")?,
    })
}

/// The retention policy in a row's `retention_action` and `retention_days` (a number's own,
/// or the installation's default), if it has one.
pub(crate) fn retention_of(row: &PgRow) -> StoreResult<Option<RetentionPolicy>> {
    let Some(action) = row.opt_text("retention_action")? else {
        return Ok(None);
    };
    let days: Option<i64> = row
        .try_get::<Option<i32>, _>("retention_days")
        .db()?
        .map(i64::from);
    let days = days
        .map(u32::try_from)
        .transpose()
        .map_err(|_| StoreError::corrupt("bad retention period"))?;
    RetentionPolicy::from_parts(&action, days)
        .map(Some)
        .ok_or_else(|| StoreError::corrupt(format!("bad retention policy {action:?}")))
}
