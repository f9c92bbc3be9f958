//! Legal holds: placed and released by admins, kept after release. Deletions ask
//! `steps::refuse_if_held` in their own transactions.

use async_trait::async_trait;
use callvault_core::hold::HoldScope;
use callvault_core::{ContactId, HoldId, UserId};
use callvault_store::{Conflict, HoldStore, LegalHold, NewHold, StoreError, StoreResult};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{Db, ms};
use crate::rows::{hold_columns, hold_from_row};
use crate::steps::Tx;

async fn hold_in(tx: &mut Tx, id: HoldId) -> StoreResult<Option<LegalHold>> {
    let sql = concat!(
        "SELECT ",
        hold_columns!(),
        " FROM legal_holds h WHERE h.id = ?"
    );
    let row = sqlx::query(sql)
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await
        .db()?;
    row.as_ref().map(hold_from_row).transpose()
}

#[async_trait]
impl HoldStore for SqliteStore {
    async fn place_hold(&self, hold: NewHold, now: OffsetDateTime) -> StoreResult<LegalHold> {
        let mut tx = self.write().await?;
        let contact = match hold.scope {
            HoldScope::Installation => None,
            HoldScope::Contact(contact) => {
                let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM contacts WHERE id = ?")
                    .bind(contact.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .db()?;
                known.ok_or(StoreError::NotFound)?;
                Some(contact.to_string())
            }
        };
        let id = HoldId::new();
        sqlx::query(
            "INSERT INTO legal_holds (id, scope, contact_id, reason, placed_by, placed_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(hold.scope.kind())
        .bind(contact)
        .bind(&hold.reason)
        .bind(hold.placed_by.to_string())
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .db()?;
        let placed = hold_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(placed)
    }

    async fn release_hold(
        &self,
        id: HoldId,
        by: UserId,
        now: OffsetDateTime,
    ) -> StoreResult<LegalHold> {
        let mut tx = self.write().await?;
        let hold = hold_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        if !hold.is_active() {
            return Err(Conflict::HoldReleased.into());
        }
        sqlx::query("UPDATE legal_holds SET released_by = ?, released_at = ? WHERE id = ?")
            .bind(by.to_string())
            .bind(ms(now))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .db()?;
        let released = hold_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.db()?;
        Ok(released)
    }

    async fn legal_hold(&self, id: HoldId) -> StoreResult<Option<LegalHold>> {
        let sql = concat!(
            "SELECT ",
            hold_columns!(),
            " FROM legal_holds h WHERE h.id = ?"
        );
        let row = sqlx::query(sql)
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .db()?;
        row.as_ref().map(hold_from_row).transpose()
    }

    async fn legal_holds(&self, include_released: bool) -> StoreResult<Vec<LegalHold>> {
        let sql = concat!(
            "SELECT ",
            hold_columns!(),
            " FROM legal_holds h
             WHERE ? OR h.released_at IS NULL ORDER BY h.placed_at DESC, h.id DESC"
        );
        let rows = sqlx::query(sql)
            .bind(include_released)
            .fetch_all(&self.reader)
            .await
            .db()?;
        rows.iter().map(hold_from_row).collect()
    }

    async fn holds_covering(&self, contact: ContactId) -> StoreResult<Vec<LegalHold>> {
        let sql = concat!(
            "SELECT ",
            hold_columns!(),
            " FROM legal_holds h
             WHERE h.released_at IS NULL AND (h.contact_id = ? OR h.scope = 'installation')
             ORDER BY h.placed_at, h.id"
        );
        let rows = sqlx::query(sql)
            .bind(contact.to_string())
            .fetch_all(&self.reader)
            .await
            .db()?;
        rows.iter().map(hold_from_row).collect()
    }
}
