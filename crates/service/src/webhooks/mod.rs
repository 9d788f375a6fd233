//! Webhooks (`createWebhook`): endpoints that hear an account's events, signed as Standard
//! Webhooks asks, retried for about a day, never lost. Events are written to an outbox in
//! the same transaction as their cause (`entity::webhook_event`); the [`deliverer`] of any
//! live instance fans them out and delivers them under a lease. Operator-wide endpoints
//! (admins, no account) hear every account.

pub mod deliverer;
mod fanout;
mod sender;
pub mod signing;
mod validate;

use std::sync::Arc;

use chrono::Duration;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

pub use self::validate::{NewWebhook, WebhookChange};
use crate::{
    auth::Viewer,
    config::Limits,
    entity::{
        change_log::{self, Change},
        enums::DeliveryStatus,
        new_id, now, webhook, webhook_delivery, webhook_event,
    },
    error::{AppError, AppResult},
};

/// A new endpoint and its secret (shown this once).
pub struct Created {
    /// The endpoint.
    pub webhook: webhook::Model,
    /// Its signing secret, `whsec_…`.
    pub secret: String,
}

/// Endpoints and their deliveries.
#[derive(Clone)]
pub struct Webhooks {
    db: DatabaseConnection,
    limits: Arc<Limits>,
    /// Wakes this instance's deliverer (a test delivery or a redelivery is due now).
    wake: Arc<tokio::sync::Notify>,
    /// How secrets rest.
    secrets: signing::SecretBox,
}

fn audit(viewer: &Viewer, id: Uuid, action: &'static str) -> Change<'static> {
    Change { actor: Some(viewer.account_id), entity: "webhooks", entity_id: id, action }
}

impl Webhooks {
    /// Webhooks kept in `db`.
    pub fn new(db: DatabaseConnection, limits: Arc<Limits>) -> Self {
        Self { db, limits, wake: Arc::default(), secrets: signing::SecretBox::default() }
    }

    /// These webhooks sealing their secrets in `secrets`.
    pub fn with_secrets(mut self, secrets: signing::SecretBox) -> Self {
        self.secrets = secrets;
        self
    }

    /// How secrets rest (the deliverer opens them).
    pub fn secrets(&self) -> signing::SecretBox {
        self.secrets.clone()
    }

    /// What wakes the deliverer.
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// The endpoint if the viewer may see it: its account's, or (admins) any.
    pub async fn visible(&self, viewer: &Viewer, id: Uuid) -> AppResult<webhook::Model> {
        let row = webhook::Entity::find_by_id(id).one(&self.db).await?.ok_or(AppError::NotFound("webhook"))?;
        match row.account_id {
            Some(a) if viewer.can_see(a) => Ok(row),
            None if viewer.is_admin() => Ok(row),
            _ => Err(AppError::NotFound("webhook")),
        }
    }

    /// Makes an endpoint of the viewer's account (operator-wide: admins only).
    pub async fn create(&self, viewer: &Viewer, new: NewWebhook) -> AppResult<Created> {
        viewer.require_writer()?;
        if new.every_account {
            viewer.require_admin()?;
        }
        let new = new.checked()?;
        let account = (!new.every_account).then_some(viewer.account_id);
        let txn = crate::entity::db::write_txn(&self.db).await?;
        crate::accounts::lock_account(&txn, viewer.account_id).await?;
        let n = webhook::Entity::find().filter(webhook::Column::AccountId.eq(viewer.account_id)).count(&txn).await?;
        let max = self.limits.webhooks.webhooks_per_account;
        if account.is_some() && n >= max {
            return Err(AppError::conflict(format!("an account keeps at most {max} webhooks")));
        }
        let (t, secret, id) = (now(), signing::new_secret(), new_id());
        let row = webhook::ActiveModel {
            id: Set(id),
            account_id: Set(account),
            url: Set(new.url),
            event_types: Set(serde_json::json!(new.event_types)),
            description: Set(new.description),
            secret: Set(self.secrets.seal(id, &secret)?),
            previous_secret: Set(None),
            previous_until: Set(None),
            disabled_at: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&txn)
        .await?;
        change_log::record(&txn, audit(viewer, row.id, "create"), None::<&()>, Some(&row.url)).await?;
        txn.commit().await?;
        Ok(Created { webhook: row, secret })
    }

    /// The viewer's endpoints (admins: the operator-wide ones too), oldest first.
    pub async fn list(&self, viewer: &Viewer) -> AppResult<Vec<webhook::Model>> {
        let mut cond = Condition::any().add(webhook::Column::AccountId.eq(viewer.account_id));
        if viewer.is_admin() {
            cond = cond.add(webhook::Column::AccountId.is_null());
        }
        Ok(webhook::Entity::find().filter(cond).order_by_asc(webhook::Column::Id).all(&self.db).await?)
    }

    /// Changes an endpoint; any change enables a disabled one again.
    pub async fn update(&self, viewer: &Viewer, id: Uuid, change: WebhookChange) -> AppResult<webhook::Model> {
        viewer.require_writer()?;
        let row = self.visible(viewer, id).await?;
        let change = change.checked()?;
        let mut am: webhook::ActiveModel = row.into();
        if let Some(url) = change.url {
            am.url = Set(url);
        }
        if let Some(types) = change.event_types {
            am.event_types = Set(serde_json::json!(types));
        }
        if let Some(d) = change.description {
            am.description = Set(Some(d));
        }
        am.disabled_at = Set(None);
        am.updated_at = Set(now());
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let row = am.update(&txn).await?;
        change_log::record(&txn, audit(viewer, id, "update"), None::<&()>, Some(&row.url)).await?;
        txn.commit().await?;
        Ok(row)
    }

    /// A new secret; the old one still signs (beside it) for `webhookRotationOverlapSecs`.
    pub async fn rotate(&self, viewer: &Viewer, id: Uuid) -> AppResult<Created> {
        viewer.require_writer()?;
        let row = self.visible(viewer, id).await?;
        let secret = signing::new_secret();
        let overlap = i64::try_from(self.limits.webhooks.webhook_rotation_overlap_secs).unwrap_or(i64::MAX);
        let mut am: webhook::ActiveModel = row.clone().into();
        am.previous_secret = Set(Some(row.secret));
        am.previous_until = Set(Some(now() + Duration::seconds(overlap)));
        am.secret = Set(self.secrets.seal(id, &secret)?);
        am.updated_at = Set(now());
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let row = am.update(&txn).await?;
        change_log::record(&txn, audit(viewer, id, "rotate_secret"), None::<&()>, None::<&()>).await?;
        txn.commit().await?;
        Ok(Created { webhook: row, secret })
    }

    /// Deletes an endpoint with its deliveries; whether there was one.
    pub async fn delete(&self, viewer: &Viewer, id: Uuid) -> AppResult<bool> {
        viewer.require_writer()?;
        let Ok(row) = self.visible(viewer, id).await else { return Ok(false) };
        let txn = crate::entity::db::write_txn(&self.db).await?;
        webhook_delivery::Entity::delete_many().filter(webhook_delivery::Column::WebhookId.eq(id)).exec(&txn).await?;
        webhook::Entity::delete_by_id(id).exec(&txn).await?;
        change_log::record(&txn, audit(viewer, id, "delete"), Some(&row.url), None::<&()>).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Sends a `webhook.test` event to this endpoint only; its delivery.
    pub async fn test(&self, viewer: &Viewer, id: Uuid) -> AppResult<webhook_delivery::Model> {
        viewer.require_writer()?;
        let hook = self.visible(viewer, id).await?;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let data = serde_json::json!({"webhookId": hook.id});
        let account = hook.account_id.unwrap_or(viewer.account_id);
        let event = webhook_event::record_fanned(&txn, account, webhook_event::WEBHOOK_TEST, data).await?;
        let delivery = fanout::insert_delivery(&txn, &hook, &event).await?;
        txn.commit().await?;
        self.wake.notify_one();
        delivery.ok_or_else(|| AppError::Internal(anyhow::anyhow!("the test delivery was not made")))
    }

    /// The endpoint's deliveries, newest first, optionally of one status.
    pub async fn deliveries(
        &self,
        viewer: &Viewer,
        webhook_id: Uuid,
        status: Option<DeliveryStatus>,
        first: u64,
        before: Option<Uuid>,
    ) -> AppResult<Vec<webhook_delivery::Model>> {
        self.visible(viewer, webhook_id).await?;
        let mut q = webhook_delivery::Entity::find().filter(webhook_delivery::Column::WebhookId.eq(webhook_id));
        if let Some(s) = status {
            q = q.filter(webhook_delivery::Column::Status.eq(s));
        }
        if let Some(b) = before {
            q = q.filter(webhook_delivery::Column::Id.lt(b));
        }
        let first = first.clamp(1, self.limits.max_page_size);
        Ok(q.order_by_desc(webhook_delivery::Column::Id).limit(first).all(&self.db).await?)
    }

    /// Sends a delivery again now (the same `webhook-id`), whatever it came to.
    pub async fn redeliver(&self, viewer: &Viewer, delivery_id: Uuid) -> AppResult<webhook_delivery::Model> {
        viewer.require_writer()?;
        let d = webhook_delivery::Entity::find_by_id(delivery_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("delivery"))?;
        self.visible(viewer, d.webhook_id).await.map_err(|_| AppError::NotFound("delivery"))?;
        let mut am: webhook_delivery::ActiveModel = d.into();
        am.status = Set(DeliveryStatus::Pending);
        am.next_attempt_at = Set(now());
        am.leased_until = Set(None);
        am.updated_at = Set(now());
        let row = am.update(&self.db).await?;
        self.wake.notify_one();
        Ok(row)
    }
}
