//! `webhook_deliveries`: one event to one endpoint, retried until it is answered 2xx or
//! its schedule runs out. An instance delivers it only under its lease (`leased_until`),
//! taken with a conditional update, so a dead instance's delivery is taken up again.

use sea_orm::entity::prelude::*;

use crate::enums::DeliveryStatus;

/// One delivery.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// Its id (the `webhook-id` header: the same on every attempt).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The endpoint.
    pub webhook_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// The event's sandbox (deliveries to one endpoint go in order per sandbox).
    pub sandbox_id: Option<Uuid>,
    /// The event's type.
    pub event_type: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: DateTimeUtc,
    /// Until when an instance holds it (None: nobody).
    pub leased_until: Option<DateTimeUtc>,
    /// The last answer's status code.
    pub last_status: Option<i64>,
    /// The last attempt's time to answer, in milliseconds.
    pub last_latency_ms: Option<i64>,
    /// Why the last attempt failed without an answer (refused address, timeout…).
    pub last_error: Option<String>,
    /// The start of the last answer's body.
    pub response_excerpt: Option<String>,
    /// When answered 2xx.
    pub delivered_at: Option<DateTimeUtc>,
    /// When made.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
