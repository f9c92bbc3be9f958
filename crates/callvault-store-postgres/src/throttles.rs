//! Failures counted per key, for throttling (the rules are the app's). Each statement is one
//! atomic upsert, so replicas counting the same key at once never lose a failure.

use async_trait::async_trait;
use callvault_store::{StoreResult, ThrottleStore};
use time::{Duration, OffsetDateTime};

use crate::PostgresStore;
use crate::codec::Db;

#[async_trait]
impl ThrottleStore for PostgresStore {
    async fn blocked_until(
        &self,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<OffsetDateTime>> {
        let until: Option<OffsetDateTime> = sqlx::query_scalar(
            "SELECT blocked_until FROM throttles WHERE key = $1 AND blocked_until > $2",
        )
        .bind(key)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .db()?
        .flatten();
        Ok(until)
    }

    async fn add_failure(
        &self,
        key: &str,
        now: OffsetDateTime,
        forget_after: Duration,
    ) -> StoreResult<u32> {
        let forgotten = now - forget_after;
        sqlx::query(
            "DELETE FROM throttles WHERE last_failure_at < $1
               AND (blocked_until IS NULL OR blocked_until < $2) AND key <> $3",
        )
        .bind(forgotten)
        .bind(now)
        .bind(key)
        .execute(&self.pool)
        .await
        .db()?;
        let failures: i32 = sqlx::query_scalar(
            "INSERT INTO throttles AS t (key, failures, last_failure_at) VALUES ($1, 1, $2)
             ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN t.last_failure_at < $3 THEN 1 ELSE t.failures + 1 END,
                blocked_until = CASE WHEN t.last_failure_at < $3 THEN NULL ELSE t.blocked_until END,
                last_failure_at = $2
             RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .bind(forgotten)
        .fetch_one(&self.pool)
        .await
        .db()?;
        Ok(u32::try_from(failures).unwrap_or(u32::MAX))
    }

    async fn block(&self, key: &str, until: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE throttles SET blocked_until = GREATEST(blocked_until, $1) WHERE key = $2",
        )
        .bind(until)
        .bind(key)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttles WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await
            .db()?;
        Ok(())
    }
}
