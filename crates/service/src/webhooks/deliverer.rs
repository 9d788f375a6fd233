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
    ActiveEnum, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, Query, SelectStatement},
};
use tokio::sync::{Notify, Semaphore};

use super::sender::{self, Attempt};
use crate::{
    config::Limits,
    entity::{enums::DeliveryStatus, now, webhook, webhook_delivery, webhook_event},
    error::AppResult,
};

/// An earlier PENDING delivery of the outer one's endpoint and sandbox (it is not in
/// turn while one exists).
fn earlier_pending() -> SelectStatement {
    use sea_orm::sea_query::ExprTrait;
    use webhook_delivery::{Column as D, Entity as Deliveries};
    let e = Alias::new("earlier");
    Query::select()
        .expr(Expr::val(1))
        .from_as(Deliveries, e.clone())
        .and_where(Expr::col((e.clone(), D::WebhookId)).equals((Deliveries, D::WebhookId)))
        .and_where(Expr::col((e.clone(), D::SandboxId)).equals((Deliveries, D::SandboxId)))
        .and_where(Expr::col((e.clone(), D::Status)).eq(DeliveryStatus::Pending.to_value()))
        .and_where(Expr::col((e.clone(), D::EventId)).lt(Expr::col((Deliveries, D::EventId))))
        .to_owned()
}

/// The deliverer of this instance.
pub struct Deliverer {
    db: DatabaseConnection,
    limits: Arc<Limits>,
    client: reqwest::Client,
    allow_private: bool,
    wake: Arc<Notify>,
    slots: Arc<Semaphore>,
    /// Opens the endpoints' secrets.
    secrets: super::signing::SecretBox,
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
        Ok(Self {
            db,
            limits,
            client,
            allow_private,
            wake,
            slots,
            secrets: Default::default(),
            sent: Default::default(),
        })
    }

    /// This deliverer opening sealed secrets from `secrets`.
    pub fn with_secrets(mut self, secrets: super::signing::SecretBox) -> Self {
        self.secrets = secrets;
        self
    }

    /// Runs for ever in its own task: fan out, deliver what is due, wait for an event or
    /// the poll interval.
    pub fn spawn(self) {
        let this = Arc::new(self);
        tokio::spawn(async move {
            let poll = Duration::from_millis(this.limits.webhooks.webhook_poll_ms.max(10));
            loop {
                if let Err(e) = super::fanout::fan_out(&this.db, &this.wake).await {
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

    /// Claims what is due and in turn (no earlier delivery of its endpoint and sandbox
    /// pending: one query), within each endpoint's rate, under one lease value, and
    /// attempts each in a task of its own.
    async fn deliver_due(self: Arc<Self>) -> AppResult<usize> {
        use webhook_delivery::{Column as D, Entity as Deliveries};
        let t = now();
        let lease_ms = i64::try_from(self.limits.webhooks.webhook_lease_secs.max(1)).unwrap_or(60) * 1000;
        // The lease value is also this pass's mark: what carries it was claimed here.
        let mark = t
            + chrono::Duration::milliseconds(lease_ms)
            + chrono::Duration::microseconds(rand::random_range(0..1_000_000));
        let free = Condition::any().add(D::LeasedUntil.is_null()).add(D::LeasedUntil.lt(t));
        let earlier = earlier_pending();
        let due = Deliveries::find()
            .filter(D::Status.eq(DeliveryStatus::Pending))
            .filter(D::NextAttemptAt.lte(t))
            .filter(free.clone())
            .filter(sea_orm::sea_query::ExprTrait::not(Expr::exists(earlier)))
            .order_by_asc(D::EventId)
            .limit(self.limits.webhooks.webhook_concurrency.max(1) * 2)
            .all(&self.db)
            .await?;
        let ids: Vec<uuid::Uuid> = due.iter().filter(|d| self.rate_allows(d.webhook_id)).map(|d| d.id).collect();
        if ids.is_empty() {
            return Ok(0);
        }
        Deliveries::update_many()
            .col_expr(D::LeasedUntil, Expr::value(Some(mark)))
            .filter(D::Id.is_in(ids.clone()))
            .filter(D::Status.eq(DeliveryStatus::Pending))
            .filter(free)
            .exec(&self.db)
            .await?;
        let claimed = Deliveries::find().filter(D::Id.is_in(ids)).filter(D::LeasedUntil.eq(mark)).all(&self.db).await?;
        let hooks: HashMap<_, _> = webhook::Entity::find()
            .filter(webhook::Column::Id.is_in(claimed.iter().map(|d| d.webhook_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|h| (h.id, Arc::new(h)))
            .collect();
        let events: HashMap<_, _> = webhook_event::Entity::find()
            .filter(webhook_event::Column::Id.is_in(claimed.iter().map(|d| d.event_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let mut started = 0;
        for d in claimed {
            let (Some(hook), Some(event)) = (hooks.get(&d.webhook_id).cloned(), events.get(&d.event_id).cloned())
            else {
                continue;
            };
            let Ok(permit) = self.slots.clone().acquire_owned().await else { break };
            started += 1;
            let this = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = this.deliver(d, &hook, event).await {
                    tracing::warn!(error = ?e.log_detail(), "recording a webhook delivery failed");
                }
                this.wake.notify_one();
            });
        }
        Ok(started)
    }

    async fn deliver(
        &self,
        d: webhook_delivery::Model,
        hook: &webhook::Model,
        event: webhook_event::Model,
    ) -> AppResult<()> {
        let limits = &self.limits.webhooks;
        let mut hook = hook.clone();
        hook.secret = self.secrets.open(hook.id, &hook.secret)?;
        if let Some(prev) = &hook.previous_secret {
            hook.previous_secret = Some(self.secrets.open(hook.id, prev)?);
        }
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
        let update = webhook_delivery::Entity::update_many()
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
            .filter(webhook_delivery::Column::Id.eq(d.id));
        if status != DeliveryStatus::Failed || hook.disabled_at.is_some() {
            update.exec(&self.db).await?;
            return Ok(());
        }
        // Out of retries: the delivery fails, its endpoint is disabled and the account's
        // other endpoints are told, together.
        let txn = crate::entity::db::write_txn(&self.db).await?;
        update.exec(&txn).await?;
        webhook::Entity::update_many()
            .col_expr(webhook::Column::DisabledAt, Expr::value(Some(t)))
            .filter(webhook::Column::Id.eq(hook.id))
            .exec(&txn)
            .await?;
        if let Some(account) = hook.account_id {
            let data = serde_json::json!({"webhookId": hook.id, "url": hook.url, "lastStatus": a.status});
            webhook_event::record(&txn, account, None, webhook_event::WEBHOOK_DISABLED, data).await?;
        }
        txn.commit().await?;
        Ok(())
    }
}
