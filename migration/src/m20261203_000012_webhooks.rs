//! Webhooks: endpoints, the outbox of events (written with the change they tell of) and
//! the deliveries of events to endpoints, each retried under a lease.

use sea_orm_migration::prelude::*;

use crate::columns::{big, big_null, index, json, table, text, text_null, ts, ts_null, uuid, uuid_null};

/// Adds `webhooks`, `webhook_events` and `webhook_deliveries`.
#[derive(DeriveMigrationName)]
pub struct Migration;

fn flag(name: &str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).boolean().not_null().default(false).to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let hooks = vec![
            uuid_null("account_id"),
            text("url"),
            json("event_types"),
            text_null("description"),
            text("secret"),
            text_null("previous_secret"),
            ts_null("previous_until"),
            ts_null("disabled_at"),
        ];
        m.create_table(table("webhooks", hooks, &[])).await?;
        m.create_index(index("webhooks", &["account_id"], false)).await?;
        let events =
            vec![uuid("account_id"), uuid_null("sandbox_id"), text("event_type"), json("payload"), flag("fanned_out")];
        m.create_table(table("webhook_events", events, &[])).await?;
        m.create_index(index("webhook_events", &["fanned_out", "id"], false)).await?;
        let deliveries = vec![
            uuid("webhook_id"),
            uuid("event_id"),
            uuid_null("sandbox_id"),
            text("event_type"),
            text("status"),
            big("attempts"),
            ts("next_attempt_at"),
            ts_null("leased_until"),
            big_null("last_status"),
            big_null("last_latency_ms"),
            text_null("last_error"),
            text_null("response_excerpt"),
            ts_null("delivered_at"),
        ];
        m.create_table(table("webhook_deliveries", deliveries, &[("webhook_id", "webhooks")])).await?;
        m.create_index(index("webhook_deliveries", &["webhook_id", "event_id"], true)).await?;
        m.create_index(index("webhook_deliveries", &["status", "next_attempt_at"], false)).await?;
        // The turn check: an earlier PENDING delivery of the same endpoint and sandbox.
        m.create_index(index("webhook_deliveries", &["webhook_id", "sandbox_id", "status", "event_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
