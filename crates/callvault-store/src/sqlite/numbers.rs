//! The business's phone numbers, their forward targets and the history of their recording
//! setting.

use async_trait::async_trait;
use callvault_core::NumberId;
use callvault_core::number::{ForwardTarget, PhoneNumber, Provider, RecordingChange};
use callvault_core::phone::E164;
use sqlx::sqlite::SqliteRow;
use sqlx::{Sqlite, SqliteConnection, Transaction};
use time::OffsetDateTime;

use super::codec::{RowExt, enum_col, flag, ms};
use super::{SqliteStore, conflict_on_unique};
use crate::{NewNumber, NumberPatch, NumberStore, StoreError, StoreResult};

macro_rules! number_columns {
    () => {
        "n.id, n.e164, n.label, n.provider, n.call_recording, n.consent_announcement,
         n.created_at, n.updated_at"
    };
}

fn e164(raw: String) -> StoreResult<E164> {
    E164::try_from(raw).map_err(|e| StoreError::corrupt(e.to_string()))
}

async fn number_from_row(conn: &mut SqliteConnection, row: &SqliteRow) -> StoreResult<PhoneNumber> {
    let id: NumberId = row.parsed("id")?;
    let targets = sqlx::query(
        "SELECT phone_e164, user_id FROM forward_targets WHERE number_id = ? ORDER BY position",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let forward_to = targets
        .iter()
        .map(|t| {
            Ok(ForwardTarget {
                phone: e164(t.text("phone_e164")?)?,
                user_id: t.opt_parsed("user_id")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(PhoneNumber {
        id,
        e164: e164(row.text("e164")?)?,
        label: row.text("label")?,
        provider: enum_col(row, "provider", Provider::parse)?,
        call_recording: row.flag("call_recording")?,
        consent_announcement: row.opt_text("consent_announcement")?,
        forward_to,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

async fn number_in(conn: &mut SqliteConnection, id: NumberId) -> StoreResult<Option<PhoneNumber>> {
    let sql = concat!(
        "SELECT ",
        number_columns!(),
        " FROM phone_numbers n WHERE n.id = ?"
    );
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => Ok(Some(number_from_row(conn, &row).await?)),
        None => Ok(None),
    }
}

async fn set_forward_targets(
    tx: &mut Transaction<'static, Sqlite>,
    id: NumberId,
    targets: &[ForwardTarget],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM forward_targets WHERE number_id = ?")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
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
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::MissingReference("user")
            }
            _ => StoreError::backend(e),
        })?;
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
    .await?;
    Ok(())
}

/// The history of a number's recording setting, oldest first.
pub(super) async fn recording_history_in(
    conn: &mut SqliteConnection,
    id: NumberId,
) -> StoreResult<Vec<RecordingChange>> {
    let rows = sqlx::query(
        "SELECT call_recording, effective_at FROM number_recording_changes
         WHERE number_id = ? ORDER BY effective_at, id",
    )
    .bind(id.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RecordingChange {
                call_recording: r.flag("call_recording")?,
                effective_at: r.time("effective_at")?,
            })
        })
        .collect()
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
            "INSERT INTO phone_numbers (id, e164, label, provider, call_recording, consent_announcement, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(number.e164.as_str())
        .bind(&number.label)
        .bind(number.provider.as_str())
        .bind(flag(number.call_recording))
        .bind(&number.consent_announcement)
        .bind(ms(now))
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, "number_taken"))?;
        set_forward_targets(&mut tx, id, &number.forward_to).await?;
        record_change(&mut tx, id, number.call_recording, now).await?;
        let created = number_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(created)
    }

    async fn number(&self, id: NumberId) -> StoreResult<Option<PhoneNumber>> {
        let mut conn = self.reader.acquire().await?;
        number_in(&mut conn, id).await
    }

    async fn number_by_e164(&self, e164: &E164) -> StoreResult<Option<PhoneNumber>> {
        let mut conn = self.reader.acquire().await?;
        let sql = concat!(
            "SELECT ",
            number_columns!(),
            " FROM phone_numbers n WHERE n.e164 = ?"
        );
        let row = sqlx::query(sql)
            .bind(e164.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            Some(row) => Ok(Some(number_from_row(&mut conn, &row).await?)),
            None => Ok(None),
        }
    }

    async fn numbers(&self) -> StoreResult<Vec<PhoneNumber>> {
        let mut conn = self.reader.acquire().await?;
        let sql = concat!(
            "SELECT ",
            number_columns!(),
            " FROM phone_numbers n ORDER BY n.label COLLATE NOCASE, n.e164"
        );
        let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
        let mut numbers = Vec::with_capacity(rows.len());
        for row in &rows {
            numbers.push(number_from_row(&mut conn, row).await?);
        }
        Ok(numbers)
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
                updated_at = ?6
             WHERE id = ?7",
        )
        .bind(&patch.label)
        .bind(patch.provider.map(Provider::as_str))
        .bind(patch.call_recording.map(flag))
        .bind(patch.consent_announcement.is_some())
        .bind(patch.consent_announcement.clone().flatten())
        .bind(ms(now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
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
        tx.commit().await?;
        Ok(updated)
    }

    async fn recording_history(&self, id: NumberId) -> StoreResult<Vec<RecordingChange>> {
        let mut conn = self.reader.acquire().await?;
        recording_history_in(&mut conn, id).await
    }
}
