//! Legal holds: placed and released by admins, kept after release. Deletions ask
//! `steps::refuse_if_held` in their own transactions; placing a hold takes the lock they share
//! (`steps::lock_holds`), so it waits for deletions under way and later ones see it.

use async_trait::async_trait;
use callvault_core::hold::HoldScope;
use callvault_core::{ContactId, HoldId, UserId};
use callvault_store::{Conflict, HoldStore, LegalHold, NewHold, StoreError, StoreResult};
use time::OffsetDateTime;

use crate::PostgresStore;
use crate::codec::Db;
use crate::rows::{hold_columns, hold_from_row};
use crate::steps::{Tx, lock_holds};

async fn hold_in(tx: &mut Tx, id: HoldId) -> StoreResult<Option<LegalHold>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        hold_columns!(),
        " FROM legal_holds h WHERE h.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await
    .db()?;
    row.as_ref().map(hold_from_row).transpose()
}

#[async_trait]
impl HoldStore for PostgresStore {
    async fn place_hold(&self, hold: NewHold, now: OffsetDateTime) -> StoreResult<LegalHold> {
        let mut tx = self.write().await?;
        lock_holds(&mut tx).await?;
        let contact = match hold.scope {
            HoldScope::Installation => None,
            HoldScope::Contact(contact) => {
                let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM contacts WHERE id = $1")
                    .bind(contact.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .db()?;
                known.ok_or(StoreError::NotFound)?;
                Some(contact.0)
            }
        };
        let id = HoldId::new();
        sqlx::query(
            "INSERT INTO legal_holds (id, scope, contact_id, reason, placed_by, placed_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.0)
        .bind(hold.scope.kind())
        .bind(contact)
        .bind(&hold.reason)
        .bind(hold.placed_by.0)
        .bind(now)
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
        let released = sqlx::query(
            "UPDATE legal_holds SET released_by = $2, released_at = $3
             WHERE id = $1 AND released_at IS NULL",
        )
        .bind(id.0)
        .bind(by.0)
        .bind(now)
        .execute(&mut *tx)
        .await
        .db()?;
        let hold = hold_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        if released.rows_affected() == 0 {
            return Err(Conflict::HoldReleased.into());
        }
        tx.commit().await.db()?;
        Ok(hold)
    }

    async fn legal_hold(&self, id: HoldId) -> StoreResult<Option<LegalHold>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            hold_columns!(),
            " FROM legal_holds h WHERE h.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.as_ref().map(hold_from_row).transpose()
    }

    async fn legal_holds(&self, include_released: bool) -> StoreResult<Vec<LegalHold>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            hold_columns!(),
            " FROM legal_holds h
             WHERE $1 OR h.released_at IS NULL ORDER BY h.placed_at DESC, h.id DESC"
        ))
        .bind(include_released)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.iter().map(hold_from_row).collect()
    }

    async fn holds_covering(&self, contact: ContactId) -> StoreResult<Vec<LegalHold>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            hold_columns!(),
            " FROM legal_holds h
             WHERE h.released_at IS NULL AND (h.contact_id = $1 OR h.scope = 'installation')
             ORDER BY h.placed_at, h.id"
        ))
        .bind(contact.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.iter().map(hold_from_row).collect()
    }
}
