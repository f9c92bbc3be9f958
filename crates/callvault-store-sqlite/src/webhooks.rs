//! Outgoing webhooks and their deliveries; each delivery is sent by a job queued with it.

use async_trait::async_trait;
use callvault_core::webhook::WebhookEvent;
use callvault_core::{DeliveryId, JobId, WebhookId};
use callvault_store::{
    Attempt, Delivery, DeliveryState, JobSpec, NewWebhook, StoreError, StoreResult, Webhook,
    WebhookStore,
};
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use crate::SqliteStore;
use crate::codec::{Db, RowExt, enum_col, ms};
use crate::steps::enqueue_in;

fn webhook_from_row(row: &SqliteRow) -> StoreResult<Webhook> {
    let names: Vec<String> = serde_json::from_str(&row.text("events")?)
        .map_err(|e| StoreError::corrupt(e.to_string()))?;
    Ok(Webhook {
        id: row.parsed("id")?,
        url: row.text("url")?,
        events: names
            .iter()
            .map(|n| {
                WebhookEvent::parse(n)
                    .ok_or_else(|| StoreError::corrupt(format!("unknown webhook event {n:?}")))
            })
            .collect::<StoreResult<_>>()?,
        secret: row.text("secret")?,
        created_by: row.opt_parsed("created_by")?,
        created_at: row.time("created_at")?,
    })
}

fn delivery_from_row(row: &SqliteRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: row.parsed("id")?,
        webhook_id: row.parsed("webhook_id")?,
        event: enum_col(row, "event", WebhookEvent::parse)?,
        body: row.text("body")?,
        state: enum_col(row, "state", DeliveryState::parse)?,
        attempts: row.unsigned("attempts")?,
        last_status: row
            .opt_int("last_status")?
            .map(u16::try_from)
            .transpose()
            .map_err(|_| StoreError::corrupt("bad status code"))?,
        last_error: row.opt_text("last_error")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, new: NewWebhook, now: OffsetDateTime) -> StoreResult<Webhook> {
        let id = WebhookId::new();
        let events: Vec<&str> = new.events.iter().map(|e| e.as_str()).collect();
        sqlx::query(
            "INSERT INTO webhooks (id, url, events, secret, created_by, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&new.url)
        .bind(serde_json::to_string(&events).map_err(StoreError::backend)?)
        .bind(&new.secret)
        .bind(new.created_by.to_string())
        .bind(ms(now))
        .execute(&self.writer)
        .await
        .db()?;
        self.webhook(id).await?.ok_or(StoreError::NotFound)
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT id, url, events, secret, created_by, created_at FROM webhooks
             ORDER BY created_at, id",
        )
        .fetch_all(&self.reader)
        .await
        .db()?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn webhook(&self, id: WebhookId) -> StoreResult<Option<Webhook>> {
        let row = sqlx::query(
            "SELECT id, url, events, secret, created_by, created_at FROM webhooks WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .db()?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = ?")
            .bind(id.to_string())
            .execute(&self.writer)
            .await
            .db()?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn enqueue_deliveries(
        &self,
        event: WebhookEvent,
        body: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Vec<JobId>> {
        let mut tx = self.write().await?;
        let subscribed: Vec<String> = sqlx::query_scalar(
            "SELECT w.id FROM webhooks w
             WHERE EXISTS (SELECT 1 FROM json_each(w.events) e WHERE e.value = ?)
             ORDER BY w.created_at, w.id",
        )
        .bind(event.as_str())
        .fetch_all(&mut *tx)
        .await
        .db()?;
        let mut jobs = Vec::with_capacity(subscribed.len());
        for webhook in subscribed {
            let id = DeliveryId::new();
            sqlx::query(
                "INSERT INTO webhook_deliveries
                    (id, webhook_id, event, body, state, attempts, created_at, updated_at)
                 VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
            )
            .bind(id.to_string())
            .bind(&webhook)
            .bind(event.as_str())
            .bind(body)
            .bind(ms(now))
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .db()?;
            jobs.push(
                enqueue_in(
                    &mut tx,
                    JobSpec::DeliverWebhook { delivery_id: id }.at(now),
                    now,
                )
                .await?,
            );
        }
        tx.commit().await.db()?;
        Ok(jobs)
    }

    async fn delivery(&self, id: DeliveryId) -> StoreResult<Option<(Delivery, Webhook)>> {
        let row = sqlx::query(
            "SELECT d.id, d.webhook_id, d.event, d.body, d.state, d.attempts, d.last_status,
                    d.last_error, d.created_at, d.updated_at
             FROM webhook_deliveries d WHERE d.id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await
        .db()?;
        let Some(row) = row else { return Ok(None) };
        let delivery = delivery_from_row(&row)?;
        Ok(self
            .webhook(delivery.webhook_id)
            .await?
            .map(|webhook| (delivery, webhook)))
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: Attempt,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?,
                state = ?, updated_at = ? WHERE id = ?",
        )
        .bind(attempt.status.map(i64::from))
        .bind(&attempt.error)
        .bind(attempt.state.as_str())
        .bind(ms(now))
        .bind(id.to_string())
        .execute(&self.writer)
        .await
        .db()?;
        Ok(())
    }

    async fn deliveries(&self, webhook: WebhookId, limit: u32) -> StoreResult<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT id, webhook_id, event, body, state, attempts, last_status, last_error,
                    created_at, updated_at
             FROM webhook_deliveries WHERE webhook_id = ?
             ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(webhook.to_string())
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.reader)
        .await
        .db()?;
        rows.iter().map(delivery_from_row).collect()
    }
}
