//! Outgoing webhooks and their deliveries; each delivery is sent by a job queued with it.

use async_trait::async_trait;
use callvault_core::webhook::WebhookEvent;
use callvault_core::{DeliveryId, JobId, WebhookId};
use callvault_store::{
    Attempt, Delivery, DeliveryState, JobSpec, NewWebhook, StoreError, StoreResult, Webhook,
    WebhookStore,
};
use sqlx::postgres::PgRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::PostgresStore;
use crate::codec::{Db, RowExt, enum_col};
use crate::steps::enqueue_in;

fn webhook_from_row(row: &PgRow) -> StoreResult<Webhook> {
    let names: Vec<String> = serde_json::from_str(&row.text("events")?)
        .map_err(|e| StoreError::corrupt(e.to_string()))?;
    Ok(Webhook {
        id: row.id("id")?,
        url: row.text("url")?,
        events: names
            .iter()
            .map(|n| {
                WebhookEvent::parse(n)
                    .ok_or_else(|| StoreError::corrupt(format!("unknown webhook event {n:?}")))
            })
            .collect::<StoreResult<_>>()?,
        secret: row.text("secret")?,
        created_by: row.opt_id("created_by")?,
        created_at: row.time("created_at")?,
    })
}

fn delivery_from_row(row: &PgRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        id: row.id("id")?,
        webhook_id: row.id("webhook_id")?,
        event: enum_col(row, "event", WebhookEvent::parse)?,
        body: row.text("body")?,
        state: enum_col(row, "state", DeliveryState::parse)?,
        attempts: row.unsigned("attempts")?,
        last_status: sqlx::Row::try_get::<Option<i32>, _>(row, "last_status")
            .db()?
            .map(u16::try_from)
            .transpose()
            .map_err(|_| StoreError::corrupt("bad status code"))?,
        last_error: row.opt_text("last_error")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_webhook(&self, new: NewWebhook, now: OffsetDateTime) -> StoreResult<Webhook> {
        let id = WebhookId::new();
        let events: Vec<&str> = new.events.iter().map(|e| e.as_str()).collect();
        sqlx::query(
            "INSERT INTO webhooks (id, url, events, secret, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.0)
        .bind(&new.url)
        .bind(serde_json::to_string(&events).map_err(StoreError::backend)?)
        .bind(&new.secret)
        .bind(new.created_by.0)
        .bind(now)
        .execute(&self.pool)
        .await
        .db()?;
        self.webhook(id).await?.ok_or(StoreError::NotFound)
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT id, url, events, secret, created_by, created_at FROM webhooks
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.iter().map(webhook_from_row).collect()
    }

    async fn webhook(&self, id: WebhookId) -> StoreResult<Option<Webhook>> {
        let row = sqlx::query(
            "SELECT id, url, events, secret, created_by, created_at FROM webhooks WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
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
        let subscribed: Vec<Uuid> = sqlx::query_scalar(
            "SELECT w.id FROM webhooks w WHERE w.events::jsonb ? $1 ORDER BY w.created_at, w.id",
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
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
            )
            .bind(id.0)
            .bind(webhook)
            .bind(event.as_str())
            .bind(body)
            .bind(now)
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
             FROM webhook_deliveries d WHERE d.id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
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
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $1, last_error = $2,
                state = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(attempt.status.map(i32::from))
        .bind(&attempt.error)
        .bind(attempt.state.as_str())
        .bind(now)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .db()?;
        Ok(())
    }

    async fn deliveries(&self, webhook: WebhookId, limit: u32) -> StoreResult<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT id, webhook_id, event, body, state, attempts, last_status, last_error,
                    created_at, updated_at
             FROM webhook_deliveries WHERE webhook_id = $1
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(webhook.0)
        .bind(i64::from(limit.clamp(1, 1000)))
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.iter().map(delivery_from_row).collect()
    }
}
