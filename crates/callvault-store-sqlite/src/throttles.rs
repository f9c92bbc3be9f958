//! Failures counted per key, for throttling (the rules are the app's).

use async_trait::async_trait;
use callvault_store::{StoreResult, ThrottleStore};
use time::{Duration, OffsetDateTime};

use crate::SqliteStore;
use crate::codec::{Db, from_ms, ms};

#[async_trait]
impl ThrottleStore for SqliteStore {
    async fn blocked_until(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>> {
        let until: Option<i64> = sqlx::query_scalar(
            "SELECT blocked_until FROM throttles WHERE key = ? AND blocked_until > ?",
        )
        .bind(key)
        .bind(ms(now))
        .fetch_optional(&self.writer)
        .await
        .db()?
        .flatten();
        until.map(from_ms).transpose()
    }

    async fn add_failure(
        &self,
        key: &str,
        now: OffsetDateTime,
        forget_after: Duration,
    ) -> StoreResult<u32> {
        let forgotten = ms(now - forget_after);
        let mut tx = self.write().await?;
        sqlx::query(
            "DELETE FROM throttles WHERE last_failure_at < ?
               AND (blocked_until IS NULL OR blocked_until < ?) AND key <> ?",
        )
        .bind(forgotten)
        .bind(ms(now))
        .bind(key)
        .execute(&mut *tx)
        .await
        .db()?;
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO throttles (key, failures, last_failure_at) VALUES (?1, 1, ?2)
             ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN last_failure_at < ?3 THEN 1 ELSE failures + 1 END,
                blocked_until = CASE WHEN last_failure_at < ?3 THEN NULL ELSE blocked_until END,
                last_failure_at = ?2
             RETURNING failures",
        )
        .bind(key)
        .bind(ms(now))
        .bind(forgotten)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn block(&self, key: &str, until: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE throttles SET blocked_until = MAX(COALESCE(blocked_until, 0), ?) WHERE key = ?",
        )
        .bind(ms(until))
        .bind(key)
        .execute(&self.writer)
        .await
        .db()?;
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttles WHERE key = ?")
            .bind(key)
            .execute(&self.writer)
            .await
            .db()?;
        Ok(())
    }
}
