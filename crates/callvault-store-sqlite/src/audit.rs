//! The audit log: written once, never changed; read newest first through filters and pages,
//! and pruned only by the log's own retention setting.

use async_trait::async_trait;
use callvault_core::AuditId;
use callvault_store::{
    AuditCursor, AuditEntry, AuditFilter, AuditPage, AuditStore, NewAudit, StoreError, StoreResult,
    UserRef,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite};
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{Db, RowExt, ms};

fn entry_from_row(row: &SqliteRow) -> StoreResult<AuditEntry> {
    let actor = match (
        row.opt_parsed("actor_user_id")?,
        row.opt_text("actor_name")?,
    ) {
        (Some(id), Some(name)) => Some(UserRef { id, name }),
        _ => None,
    };
    Ok(AuditEntry {
        id: row.parsed("id")?,
        at: row.time("at")?,
        actor,
        action: row.text("action")?,
        target_kind: row.text("target_kind")?,
        target_id: row.opt_text("target_id")?,
        contact_id: row.opt_parsed("contact_id")?,
        detail: serde_json::from_str(&row.text("detail")?)
            .map_err(|e| StoreError::corrupt(e.to_string()))?,
    })
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit(&self, entry: NewAudit) -> StoreResult<AuditId> {
        let id = AuditId::new();
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_user_id, action, target_kind, target_id, detail, contact_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(ms(entry.at))
        .bind(entry.actor.map(|u| u.to_string()))
        .bind(entry.action.as_str())
        .bind(&entry.target_kind)
        .bind(&entry.target_id)
        .bind(entry.detail.to_string())
        .bind(entry.contact.map(|c| c.to_string()))
        .execute(&self.writer)
        .await
        .db()?;
        Ok(id)
    }

    async fn audit_page(
        &self,
        filter: &AuditFilter,
        before: Option<AuditCursor>,
        limit: u32,
    ) -> StoreResult<AuditPage> {
        let limit = limit.clamp(1, 1000);
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT l.id, l.at, l.actor_user_id, u.name AS actor_name, l.action, l.target_kind,
                    l.target_id, l.contact_id, l.detail
             FROM audit_log l LEFT JOIN users u ON u.id = l.actor_user_id WHERE 1 = 1",
        );
        if let Some(actor) = filter.actor {
            sql.push(" AND l.actor_user_id = ")
                .push_bind(actor.to_string());
        }
        if let Some(action) = filter.action {
            sql.push(" AND l.action = ").push_bind(action.as_str());
        }
        if let Some(contact) = filter.contact {
            sql.push(" AND l.contact_id = ")
                .push_bind(contact.to_string());
        }
        if let Some(since) = filter.since {
            sql.push(" AND l.at >= ").push_bind(ms(since));
        }
        if let Some(until) = filter.until {
            sql.push(" AND l.at < ").push_bind(ms(until));
        }
        if let Some(cursor) = before {
            sql.push(" AND (l.at, l.id) < (")
                .push_bind(ms(cursor.at))
                .push(", ")
                .push_bind(cursor.id.to_string())
                .push(")");
        }
        sql.push(" ORDER BY l.at DESC, l.id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = sql.build().fetch_all(&self.reader).await.db()?;
        let items = rows
            .iter()
            .take(limit as usize)
            .map(entry_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let next = (rows.len() > limit as usize)
            .then(|| items.last().map(|e| AuditCursor { at: e.at, id: e.id }))
            .flatten();
        Ok(AuditPage { items, next })
    }

    async fn prune_audit(&self, before: OffsetDateTime) -> StoreResult<u64> {
        // What concerns a contact on hold stays: who heard what is part of what a hold keeps.
        let done = sqlx::query(
            "DELETE FROM audit_log WHERE at < ? AND (contact_id IS NULL OR contact_id NOT IN
                (SELECT contact_id FROM legal_holds
                 WHERE released_at IS NULL AND contact_id IS NOT NULL))",
        )
        .bind(ms(before))
        .execute(&self.writer)
        .await
        .db()?;
        Ok(done.rows_affected())
    }
}
