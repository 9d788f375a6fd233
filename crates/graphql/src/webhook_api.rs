//! Webhooks: `webhooks`, `webhookDeliveries`, `createWebhook`, `updateWebhook`,
//! `rotateWebhookSecret`, `deleteWebhook`, `testWebhook`, `redeliverWebhook`. Another
//! account's endpoints and deliveries are NOT_FOUND.

use async_graphql::{Context, ID, InputObject, Object, Result};

use crate::{
    context::{parse_id, parse_opt_id, scope},
    cost,
    service::webhooks::{NewWebhook, WebhookChange},
    types::webhook::{DeliveryStatus, Webhook, WebhookDelivery, WebhookWithSecret},
};

/// A new endpoint.
#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// Where deliveries are POSTed (resolved at each delivery; private addresses refused).
    pub url: String,
    /// Event types to hear (README lists them; empty: all).
    #[graphql(default)]
    pub event_types: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Hear every account's events (admins only).
    #[graphql(default)]
    pub every_account: bool,
}

/// Changes to an endpoint (any change enables a disabled one).
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    /// New URL.
    pub url: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// New description.
    pub description: Option<String>,
}

/// Webhook queries.
#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The caller's endpoints (admins: the operator-wide ones too).
    #[graphql(complexity = "cost::QUERY + 10 * child_complexity")]
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let (svc, viewer) = scope(ctx)?;
        Ok(svc.webhooks.list(viewer).await?.into_iter().map(Webhook).collect())
    }

    /// An endpoint's deliveries, newest first (`before`: older than that delivery).
    #[graphql(complexity = "cost::page(first as i64, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        #[graphql(default = 20)] first: i32,
        before: Option<ID>,
        status: Option<DeliveryStatus>,
    ) -> Result<Vec<WebhookDelivery>> {
        let (svc, viewer) = scope(ctx)?;
        let id = parse_id(&webhook_id, "webhookId")?;
        let before = parse_opt_id(before.as_ref(), "before")?;
        let first = u64::try_from(first.max(1)).unwrap_or(20);
        let rows = svc.webhooks.deliveries(viewer, id, status.map(Into::into), first, before).await?;
        Ok(rows.into_iter().map(WebhookDelivery).collect())
    }
}

/// Webhook mutations.
#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Makes an endpoint; its signing secret is in this answer only.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn create_webhook(&self, ctx: &Context<'_>, input: CreateWebhookInput) -> Result<WebhookWithSecret> {
        let (svc, viewer) = scope(ctx)?;
        let new = NewWebhook {
            url: input.url,
            event_types: input.event_types,
            description: input.description,
            every_account: input.every_account,
        };
        let c = svc.webhooks.create(viewer, new).await?;
        Ok(WebhookWithSecret { webhook: Webhook(c.webhook), secret: c.secret })
    }

    /// Changes an endpoint, and enables it again if its deliveries had failed.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn update_webhook(&self, ctx: &Context<'_>, id: ID, input: UpdateWebhookInput) -> Result<Webhook> {
        let (svc, viewer) = scope(ctx)?;
        let change = WebhookChange { url: input.url, event_types: input.event_types, description: input.description };
        Ok(Webhook(svc.webhooks.update(viewer, parse_id(&id, "id")?, change).await?))
    }

    /// A new signing secret (in this answer only); the old one keeps signing beside it for
    /// `limits.webhookRotationOverlapSecs`, so receivers can switch without a gap.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookWithSecret> {
        let (svc, viewer) = scope(ctx)?;
        let c = svc.webhooks.rotate(viewer, parse_id(&id, "id")?).await?;
        Ok(WebhookWithSecret { webhook: Webhook(c.webhook), secret: c.secret })
    }

    /// Deletes an endpoint and its deliveries; false when there was none.
    #[graphql(complexity = "cost::QUERY")]
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let (svc, viewer) = scope(ctx)?;
        Ok(svc.webhooks.delete(viewer, parse_id(&id, "id")?).await?)
    }

    /// Sends a `webhook.test` event to this endpoint only; its delivery.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn test_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let (svc, viewer) = scope(ctx)?;
        Ok(WebhookDelivery(svc.webhooks.test(viewer, parse_id(&id, "id")?).await?))
    }

    /// Sends a delivery again now, with the same `webhook-id`, whatever it came to.
    #[graphql(complexity = "cost::CREATE + child_complexity")]
    async fn redeliver_webhook(&self, ctx: &Context<'_>, delivery_id: ID) -> Result<WebhookDelivery> {
        let (svc, viewer) = scope(ctx)?;
        Ok(WebhookDelivery(svc.webhooks.redeliver(viewer, parse_id(&delivery_id, "deliveryId")?).await?))
    }
}
