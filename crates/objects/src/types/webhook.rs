//! `Webhook` (an endpoint, never its secret after creation) and `WebhookDelivery` (one
//! event to it: attempts, the last answer, when the next attempt is due).

use async_graphql::{Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::entity::{enums, webhook, webhook_delivery};

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::DeliveryStatus")]
pub enum DeliveryStatus {
    /// Not answered 2xx yet; attempted again at `nextAttemptAt`.
    Pending,
    /// Answered 2xx.
    Delivered,
    /// Its retries ran out (the endpoint was disabled).
    Failed,
}

/// An endpoint that hears events.
pub struct Webhook(pub webhook::Model);

#[Object]
impl Webhook {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The event types it hears (empty: all).
    async fn event_types(&self) -> Vec<String> {
        self.0
            .event_types
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default()
    }
    /// What it is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// It hears every account's events (an operator's endpoint).
    async fn every_account(&self) -> bool {
        self.0.account_id.is_none()
    }
    /// When its deliveries ran out of retries (null: enabled). `updateWebhook` enables it.
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
    /// Until when the secret before the last rotation still signs too.
    async fn previous_secret_until(&self) -> Option<DateTime<Utc>> {
        self.0.previous_until
    }
    /// When made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An endpoint and its signing secret, shown only here (verify deliveries with it).
#[derive(SimpleObject)]
pub struct WebhookWithSecret {
    /// The endpoint.
    pub webhook: Webhook,
    /// `whsec_…`, as Standard Webhooks libraries take it.
    pub secret: String,
}

/// One event to one endpoint.
pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    /// Its id; the `webhook-id` header is `msg_` and this id without dashes.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The event's type.
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// The event's id.
    async fn event_id(&self) -> ID {
        ID(self.0.event_id.to_string())
    }
    /// Where it stands.
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }
    /// Attempts made.
    async fn attempts(&self) -> i64 {
        self.0.attempts
    }
    /// The last answer's status code.
    async fn response_status(&self) -> Option<i64> {
        self.0.last_status
    }
    /// The last attempt's time to answer.
    async fn latency_ms(&self) -> Option<i64> {
        self.0.last_latency_ms
    }
    /// Why the last attempt got no answer (a refused address, a timeout).
    async fn error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// The start of the last answer's body (`limits.webhookResponseExcerptBytes`).
    async fn response_excerpt(&self) -> Option<&str> {
        self.0.response_excerpt.as_deref()
    }
    /// When the next attempt is due (PENDING).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == enums::DeliveryStatus::Pending).then_some(self.0.next_attempt_at)
    }
    /// When it was answered 2xx.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
    /// When made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
