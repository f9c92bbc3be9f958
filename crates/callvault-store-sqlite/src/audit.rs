//! The audit log: who changed what, newest first.

use async_trait::async_trait;
use callvault_core::AuditId;

use callvault_store::{AuditEntry, AuditStore, NewAudit, StoreError, StoreResult, UserRef};

use crate::SqliteStore;
use crate::codec::{Db, RowExt, ms};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit(&self, entry: NewAudit) -> StoreResult<AuditId> {
        let id = AuditId::new();
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor_user_id, action, target_kind, target_id, detail)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(ms(entry.at))
        .bind(entry.actor.map(|u| u.to_string()))
        .bind(&entry.action)
        .bind(&entry.target_kind)
        .bind(&entry.target_id)
        .bind(entry.detail.to_string())
        .execute(&self.writer)
        .await
        .db()?;
        Ok(id)
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT l.id, l.at, l.actor_user_id, u.name AS actor_name, l.action, l.target_kind,
                    l.target_id, l.detail
             FROM audit_log l LEFT JOIN users u ON u.id = l.actor_user_id
             ORDER BY l.at DESC, l.id DESC LIMIT ?",
        )
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.reader)
        .await
        .db()?;
        rows.iter()
            .map(|row| {
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
                    detail: serde_json::from_str(&row.text("detail")?)
                        .map_err(|e| StoreError::corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}
