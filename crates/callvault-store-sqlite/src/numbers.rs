//! The business's phone numbers, their forward targets and the history of their recording
//! setting.

use std::collections::HashMap;

use async_trait::async_trait;
use callvault_core::NumberId;
use callvault_core::number::{ForwardTarget, PhoneNumber, Provider, RecordingChange};
use callvault_core::phone::E164;
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, SqliteConnection, Transaction};
use time::OffsetDateTime;

use callvault_core::retention::RetentionPolicy;
use callvault_store::{
    Conflict, Missing, NewNumber, NumberPatch, NumberStore, StoreError, StoreResult,
};

use crate::SqliteStore;
use crate::codec::{Db, RowExt, conflict_on_unique, enum_col, flag, missing_on_fk, ms};
use crate::rows::{e164, recording_history_in, retention_of};

macro_rules! number_columns {
    () => {
        "n.id, n.e164, n.label, n.provider, n.call_recording, n.consent_announcement, n.transcribe_automatically,
         n.created_at, n.updated_at, n.retention_action, n.retention_days, n.redact_sensitive"
    };
}

/// Forward targets by number, in ring order: of one number, or of all when `only` is `None`.
async fn forward_targets(
    conn: &mut SqliteConnection,
    only: Option<NumberId>,
) -> StoreResult<HashMap<NumberId, Vec<ForwardTarget>>> {
    let rows = sqlx::query(
        "SELECT number_id, phone_e164, user_id FROM forward_targets
         WHERE ?1 IS NULL OR number_id = ?1 ORDER BY number_id, position",
    )
    .bind(only.map(|id| id.to_string()))
    .fetch_all(conn)
    .await
    .db()?;
    let mut targets: HashMap<NumberId, Vec<ForwardTarget>> = HashMap::new();
    for row in &rows {
        targets
            .entry(row.parsed("number_id")?)
            .or_default()
            .push(ForwardTarget {
                phone: e164(row.text("phone_e164")?)?,
                user_id: row.opt_parsed("user_id")?,
            });
    }
    Ok(targets)
}

fn number_from_row(
    row: &SqliteRow,
    targets: &mut HashMap<NumberId, Vec<ForwardTarget>>,
) -> StoreResult<PhoneNumber> {
    let id: NumberId = row.parsed("id")?;
    Ok(PhoneNumber {
        id,
        e164: e164(row.text("e164")?)?,
        label: row.text("label")?,
        provider: enum_col(row, "provider", Provider::parse)?,
        call_recording: row.flag("call_recording")?,
        consent_announcement: row.opt_text("consent_announcement")?,
        transcribe_automatically: row.flag("transcribe_automatically")?,
        retention: retention_of(row)?,
        redact_sensitive: row.flag("redact_sensitive")?,
        forward_to: targets.remove(&id).unwrap_or_default(),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// One number, looked up by a column of `phone_numbers n` (`n.id` or `n.e164`).
async fn number_where(
    conn: &mut SqliteConnection,
    by_e164: bool,
    key: &str,
) -> StoreResult<Option<PhoneNumber>> {
    let sql = concat!(
        "SELECT ",
        number_columns!(),
        " FROM phone_numbers n WHERE (?1 AND n.e164 = ?2) OR (NOT ?1 AND n.id = ?2)"
    );
    let Some(row) = sqlx::query(sql)
        .bind(by_e164)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
        .db()?
    else {
        return Ok(None);
    };
    let mut targets = forward_targets(conn, Some(row.parsed("id")?)).await?;
    number_from_row(&row, &mut targets).map(Some)
}

async fn number_in(conn: &mut SqliteConnection, id: NumberId) -> StoreResult<Option<PhoneNumber>> {
    number_where(conn, false, &id.to_string()).await
}

async fn set_forward_targets(
    tx: &mut Transaction<'static, Sqlite>,
    id: NumberId,
    targets: &[ForwardTarget],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM forward_targets WHERE number_id = ?")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await
        .db()?;
    for (position, target) in targets.iter().enumerate() {
        sqlx::query(
            "INSERT INTO forward_targets (number_id, position, phone_e164, user_id) VALUES (?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(target.phone.as_str())
        .bind(target.user_id.map(|u| u.to_string()))
        .execute(&mut **tx)
        .await
        .map_err(|e| missing_on_fk(e, Missing::User))?;
    }
    Ok(())
}

async fn record_change(
    tx: &mut Transaction<'static, Sqlite>,
    id: NumberId,
    call_recording: bool,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO number_recording_changes (number_id, call_recording, effective_at) VALUES (?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(flag(call_recording))
    .bind(ms(now))
    .execute(&mut **tx)
    .await.db()?;
    Ok(())
}

#[async_trait]
impl NumberStore for SqliteStore {
    async fn create_number(
        &self,
        number: NewNumber,
        now: OffsetDateTime,
    ) -> StoreResult<PhoneNumber> {
        let id = NumberId::new();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO phone_numbers (id, e164, label, provider, call_recording, consent_announcement, created_at, updated_at, transcribe_automatically, redact_sensitive)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(number.e164.as_str())
        .bind(&number.label)
        .bind(number.provider.as_str())
        .bind(flag(number.call_recording))
        .bind(&number.consent_announcement)
        .bind(ms(now))
        .bind(ms(now))
        .bind(flag(number.transcribe_automatically))
        .bind(flag(number.redact_sensitive))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, Conflict::NumberTaken))?;
        set_forward_targets(&mut tx, id, &number.forward_to).await?;
        let since = number.recording_since.map_or(now, |since| since.min(now));
        record_change(&mut tx, id, number.call_recording, since).await?;
        let created = number_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(created)
    }

    async fn number(&self, id: NumberId) -> StoreResult<Option<PhoneNumber>> {
        let mut conn = self.reader.acquire().await.db()?;
        number_in(&mut conn, id).await
    }

    async fn number_by_e164(&self, e164: &E164) -> StoreResult<Option<PhoneNumber>> {
        let mut conn = self.reader.acquire().await.db()?;
        number_where(&mut conn, true, e164.as_str()).await
    }

    async fn numbers(&self) -> StoreResult<Vec<PhoneNumber>> {
        let mut conn = self.reader.acquire().await.db()?;
        let sql = concat!(
            "SELECT ",
            number_columns!(),
            " FROM phone_numbers n ORDER BY n.label COLLATE NOCASE, n.e164"
        );
        let rows = sqlx::query(sql).fetch_all(&mut *conn).await.db()?;
        let mut targets = forward_targets(&mut conn, None).await?;
        rows.iter()
            .map(|row| number_from_row(row, &mut targets))
            .collect()
    }

    async fn update_number(
        &self,
        id: NumberId,
        patch: NumberPatch,
        now: OffsetDateTime,
    ) -> StoreResult<PhoneNumber> {
        let mut tx = self.write().await?;
        let before = number_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        sqlx::query(
            "UPDATE phone_numbers SET
                label = COALESCE(?1, label),
                provider = COALESCE(?2, provider),
                call_recording = COALESCE(?3, call_recording),
                consent_announcement = CASE WHEN ?4 THEN ?5 ELSE consent_announcement END,
                updated_at = ?6,
                transcribe_automatically = COALESCE(?8, transcribe_automatically),
                retention_action = CASE WHEN ?9 THEN ?10 ELSE retention_action END,
                retention_days = CASE WHEN ?9 THEN ?11 ELSE retention_days END,
                redact_sensitive = COALESCE(?12, redact_sensitive)
             WHERE id = ?7",
        )
        .bind(&patch.label)
        .bind(patch.provider.map(Provider::as_str))
        .bind(patch.call_recording.map(flag))
        .bind(patch.consent_announcement.is_some())
        .bind(patch.consent_announcement.clone().flatten())
        .bind(ms(now))
        .bind(id.to_string())
        .bind(patch.transcribe_automatically.map(flag))
        .bind(patch.retention.is_some())
        .bind(patch.retention.flatten().map(RetentionPolicy::kind))
        .bind(
            patch
                .retention
                .flatten()
                .and_then(RetentionPolicy::days)
                .map(i64::from),
        )
        .bind(patch.redact_sensitive.map(flag))
        .execute(&mut *tx)
        .await
        .db()?;
        if let Some(targets) = &patch.forward_to {
            set_forward_targets(&mut tx, id, targets).await?;
        }
        if let Some(on) = patch
            .call_recording
            .filter(|on| *on != before.call_recording)
        {
            record_change(&mut tx, id, on, now).await?;
        }
        let updated = number_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(updated)
    }

    async fn recording_history(&self, id: NumberId) -> StoreResult<Vec<RecordingChange>> {
        let mut conn = self.reader.acquire().await.db()?;
        recording_history_in(&mut conn, id).await
    }
}
