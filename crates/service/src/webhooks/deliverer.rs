//! Delivering webhooks, on every instance: new events are fanned out to the endpoints
//! that hear them (a delivery row each, made once: a unique endpoint+event), and due
//! deliveries are taken under a lease (a conditional update, so one instance attempts
//! each at a time and a dead one's are taken up when the lease ends), in event order per
//! endpoint and sandbox (one waits while an earlier one of its sandbox is pending).
//! Failures are retried on `webhookRetrySecs` with jitter; when that runs out the delivery
//! FAILS, its endpoint is disabled and `webhook.disabled` goes to the account's others.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use tokio::sync::{Notify, Semaphore};

use super::sender::{self, Attempt};
use crate::{
    config::Limits,
    entity::{enums::DeliveryStatus, new_id, now, webhook, webhook_delivery, webhook_event},
    error::AppResult,
};

/// Events fanned out per pass.
const FAN_OUT_BATCH: u64 = 500;

/// Makes `event`'s delivery to `hook` (None when it exists already).
pub async fn insert_delivery<C: ConnectionTrait>(
    db: &C,
    hook: &webhook::Model,
    event: &webhook_event::Model,
) -> AppResult<Option<webhook_delivery::Model>> {
    let t = now();
    let row = webhook_delivery::ActiveModel {
        id: Set(new_id()),
        webhook_id: Set(hook.id),
        event_id: Set(event.id),
        sandbox_id: Set(event.sandbox_id),
        event_type: Set(event.event_type.clone()),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(t),
        leased_until: Set(None),
        last_status: Set(None),
        last_latency_ms: Set(None),
        last_error: Set(None),
        response_excerpt: Set(None),
        delivered_at: Set(None),
        created_at: Set(t),
        updated_at: Set(t),
    };
    let id = row.id.clone().unwrap();
    let done = webhook_delivery::Entity::insert(row)
        .on_conflict_do_nothing_on([webhook_delivery::Column::WebhookId, webhook_delivery::Column::EventId])
        .exec_without_returning(db)
        .await?;
    if !matches!(done, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
        return Ok(None);
    }
    Ok(webhook_delivery::Entity::find_by_id(id).one(db).await?)
}

fn hears(hook: &webhook::Model, event: &webhook_event::Model) -> bool {
    let types = hook.event_types.as_array().cloned().unwrap_or_default();
    types.is_empty() || types.iter().any(|t| t.as_str() == Some(event.event_type.as_str()))
}

/// The deliverer of this instance.
pub struct Deliverer {
    db: DatabaseConnection,
    limits: Arc<Limits>,
    client: reqwest::Client,
    allow_private: bool,
    wake: Arc<Notify>,
    slots: Arc<Semaphore>,
    /// Deliveries started per endpoint in the current second.
    sent: std::sync::Mutex<HashMap<uuid::Uuid, (i64, u64)>>,
}

impl Deliverer {
    /// A deliverer over `db`, woken by `wake`.
    pub fn new(
        db: DatabaseConnection,
        limits: Arc<Limits>,
        allow_private: bool,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        let client = sender::client(&limits.webhooks, allow_private)?;
        let slots = Arc::new(Semaphore::new(limits.webhooks.webhook_concurrency.max(1) as usize));
        Ok(Self { db, limits, client, allow_private, wake, slots, sent: Default::default() })
    }

    /// Runs for ever in its own task: fan out, deliver what is due, wait for an event or
    /// the poll interval.
    pub fn spawn(self) {
        let this = Arc::new(self);
        tokio::spawn(async move {
            let poll = Duration::from_millis(this.limits.webhooks.webhook_poll_ms.max(10));
            loop {
                if let Err(e) = this.fan_out().await {
                    tracing::warn!(error = ?e.log_detail(), "fanning out webhook events failed");
                }
                match this.clone().deliver_due().await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = ?e.log_detail(), "delivering webhooks failed"),
                }
                let _ = tokio::time::timeout(poll, this.wake.notified()).await;
            }
        });
    }

    async fn fan_out(&self) -> AppResult<()> {
        let events = webhook_event::Entity::find()
            .filter(webhook_event::Column::FannedOut.eq(false))
            .order_by_asc(webhook_event::Column::Id)
            .limit(FAN_OUT_BATCH)
            .all(&self.db)
            .await?;
        for event in events {
            let hooks = webhook::Entity::find()
                .filter(
                    Condition::any()
                        .add(webhook::Column::AccountId.eq(event.account_id))
                        .add(webhook::Column::AccountId.is_null()),
                )
                .filter(webhook::Column::DisabledAt.is_null())
                .all(&self.db)
                .await?;
            let txn = crate::entity::db::write_txn(&self.db).await?;
            for hook in hooks.iter().filter(|h| hears(h, &event)) {
                insert_delivery(&txn, hook, &event).await?;
            }
            webhook_event::Entity::update_many()
                .col_expr(webhook_event::Column::FannedOut, Expr::value(true))
                .filter(webhook_event::Column::Id.eq(event.id))
                .exec(&txn)
                .await?;
            txn.commit().await?;
        }
        Ok(())
    }

    /// Whether `d` may go now: no earlier delivery of its endpoint and sandbox is pending.
    async fn in_turn(&self, d: &webhook_delivery::Model) -> AppResult<bool> {
        let Some(sb) = d.sandbox_id else { return Ok(true) };
        let earlier = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::WebhookId.eq(d.webhook_id))
            .filter(webhook_delivery::Column::SandboxId.eq(sb))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(webhook_delivery::Column::EventId.lt(d.event_id))
            .one(&self.db)
            .await?;
        Ok(earlier.is_none())
    }

    /// Within the endpoint's rate for this second.
    fn rate_allows(&self, hook: uuid::Uuid) -> bool {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let second = Utc::now().timestamp();
        let e = sent.entry(hook).or_insert((second, 0));
        if e.0 != second {
            *e = (second, 0);
        }
        e.1 += 1;
        e.1 <= self.limits.webhooks.webhook_per_endpoint_per_sec.max(1)
    }

    async fn deliver_due(self: Arc<Self>) -> AppResult<usize> {
        let t = now();
        let lease =
            chrono::Duration::seconds(i64::try_from(self.limits.webhooks.webhook_lease_secs.max(1)).unwrap_or(60));
        let free = Condition::any()
            .add(webhook_delivery::Column::LeasedUntil.is_null())
            .add(webhook_delivery::Column::LeasedUntil.lt(t));
        let due = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(t))
            .filter(free.clone())
            .order_by_asc(webhook_delivery::Column::EventId)
            .limit(self.limits.webhooks.webhook_concurrency.max(1) * 2)
            .all(&self.db)
            .await?;
        let mut started = 0;
        for d in due {
            if !self.in_turn(&d).await? || !self.rate_allows(d.webhook_id) {
                continue;
            }
            let claimed = webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::LeasedUntil, Expr::value(Some(t + lease)))
                .filter(webhook_delivery::Column::Id.eq(d.id))
                .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
                .filter(free.clone())
                .exec(&self.db)
                .await?;
            if claimed.rows_affected != 1 {
                continue;
            }
            let Ok(permit) = self.slots.clone().acquire_owned().await else { break };
            started += 1;
            let this = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = this.deliver(d).await {
                    tracing::warn!(error = ?e.log_detail(), "recording a webhook delivery failed");
                }
                this.wake.notify_one();
            });
        }
        Ok(started)
    }

    async fn deliver(&self, d: webhook_delivery::Model) -> AppResult<()> {
        let hook = webhook::Entity::find_by_id(d.webhook_id).one(&self.db).await?;
        let event = webhook_event::Entity::find_by_id(d.event_id).one(&self.db).await?;
        let (Some(hook), Some(event)) = (hook, event) else { return Ok(()) };
        let limits = &self.limits.webhooks;
        let attempt = sender::attempt(&self.client, &hook, &d, &event.payload, limits, self.allow_private).await;
        crate::metrics::webhook_attempt(attempt.ok());
        if attempt.ok() {
            crate::metrics::webhook_lag((now() - event.created_at).num_milliseconds() as f64 / 1000.0);
        }
        self.record(d, &hook, attempt).await
    }

    async fn record(&self, d: webhook_delivery::Model, hook: &webhook::Model, a: Attempt) -> AppResult<()> {
        let t = now();
        let attempts = d.attempts + 1;
        let schedule = &self.limits.webhooks.webhook_retry_secs;
        let (status, next) = if a.ok() {
            (DeliveryStatus::Delivered, t)
        } else if let Some(secs) = schedule.get(usize::try_from(d.attempts).unwrap_or(usize::MAX)) {
            let jitter = 1.0 + rand::random::<f64>() * 0.2;
            (DeliveryStatus::Pending, t + chrono::Duration::milliseconds((*secs as f64 * 1000.0 * jitter) as i64))
        } else {
            (DeliveryStatus::Failed, t)
        };
        let txn = crate::entity::db::write_txn(&self.db).await?;
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value(status))
            .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(next))
            .col_expr(webhook_delivery::Column::LeasedUntil, Expr::value(None::<chrono::DateTime<Utc>>))
            .col_expr(webhook_delivery::Column::LastStatus, Expr::value(a.status.map(i64::from)))
            .col_expr(webhook_delivery::Column::LastLatencyMs, Expr::value(Some(a.latency_ms)))
            .col_expr(webhook_delivery::Column::LastError, Expr::value(a.error.clone()))
            .col_expr(webhook_delivery::Column::ResponseExcerpt, Expr::value(a.excerpt.clone()))
            .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(a.ok().then_some(t)))
            .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(t))
            .filter(webhook_delivery::Column::Id.eq(d.id))
            .exec(&txn)
            .await?;
        if status == DeliveryStatus::Failed && hook.disabled_at.is_none() {
            webhook::Entity::update_many()
                .col_expr(webhook::Column::DisabledAt, Expr::value(Some(t)))
                .filter(webhook::Column::Id.eq(hook.id))
                .exec(&txn)
                .await?;
            if let Some(account) = hook.account_id {
                let data = serde_json::json!({"webhookId": hook.id, "url": hook.url, "lastStatus": a.status});
                webhook_event::record(&txn, account, None, webhook_event::WEBHOOK_DISABLED, data).await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }
}
