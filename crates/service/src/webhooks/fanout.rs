//! Fanning events out: each new event of the outbox becomes one PENDING delivery per
//! endpoint that hears it (its account's, and the operator-wide ones), made once — a
//! unique endpoint+event, so an event two instances fan out at once is delivered once per
//! endpoint.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use tokio::sync::Notify;

use crate::{
    entity::{enums::DeliveryStatus, new_id, now, webhook, webhook_delivery, webhook_event},
    error::AppResult,
};

/// Events fanned out per pass.
const FAN_OUT_BATCH: u64 = 500;

/// A new PENDING delivery of `event` to the endpoint `webhook_id`, due now.
fn pending(
    webhook_id: uuid::Uuid,
    event: &webhook_event::Model,
    t: chrono::DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(new_id()),
        webhook_id: Set(webhook_id),
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
    }
}

/// Makes `event`'s delivery to `hook` (None when it exists already).
pub async fn insert_delivery<C: ConnectionTrait>(
    db: &C,
    hook: &webhook::Model,
    event: &webhook_event::Model,
) -> AppResult<Option<webhook_delivery::Model>> {
    let row = pending(hook.id, event, now());
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

/// Makes the deliveries of a batch of new events in one transaction: the endpoints of
/// the batch's accounts (and the operator-wide ones) read once, the deliveries
/// inserted together (a unique endpoint+event: an event two instances fan out at once
/// gets one delivery per endpoint), the events marked.
pub(super) async fn fan_out(db: &DatabaseConnection, wake: &Notify) -> AppResult<()> {
    let events = webhook_event::Entity::find()
        .filter(webhook_event::Column::FannedOut.eq(false))
        .order_by_asc(webhook_event::Column::Id)
        .limit(FAN_OUT_BATCH)
        .all(db)
        .await?;
    if events.is_empty() {
        return Ok(());
    }
    let accounts: std::collections::HashSet<_> = events.iter().map(|e| e.account_id).collect();
    let hooks = webhook::Entity::find()
        .filter(
            Condition::any().add(webhook::Column::AccountId.is_in(accounts)).add(webhook::Column::AccountId.is_null()),
        )
        .filter(webhook::Column::DisabledAt.is_null())
        .all(db)
        .await?;
    let t = now();
    let heard = |h: &&webhook::Model, e: &webhook_event::Model| {
        (h.account_id.is_none() || h.account_id == Some(e.account_id)) && hears(h, e)
    };
    let rows: Vec<webhook_delivery::ActiveModel> = events
        .iter()
        .flat_map(|e| hooks.iter().filter(move |h| heard(h, e)).map(move |h| pending(h.id, e, t)))
        .collect();
    let txn = crate::entity::db::write_txn(db).await?;
    for chunk in rows.chunks(100) {
        webhook_delivery::Entity::insert_many(chunk.to_vec())
            .on_conflict_do_nothing_on([webhook_delivery::Column::WebhookId, webhook_delivery::Column::EventId])
            .exec_without_returning(&txn)
            .await?;
    }
    webhook_event::Entity::update_many()
        .col_expr(webhook_event::Column::FannedOut, Expr::value(true))
        .filter(webhook_event::Column::Id.is_in(events.iter().map(|e| e.id)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    if !rows.is_empty() {
        wake.notify_one();
    }
    Ok(())
}
