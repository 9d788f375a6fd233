//! Interactive runs: what users send to a running Claude (follow-up messages, interrupts,
//! end) queued for its runner, the tool permission requests Claude asks and their answers,
//! and each run's permission mode and interactivity.

use sea_orm_migration::prelude::*;

use crate::columns::{big, index, table, text, text_null, ts_null, uuid, uuid_null};

/// Adds `run_inputs`, `permission_requests` and the run's interaction columns.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let inputs = vec![
            uuid("run_id"),
            uuid("account_id"),
            big("seq"),
            text("kind"),
            text_null("text"),
            ts_null("delivered_at"),
        ];
        m.create_table(table("run_inputs", inputs, &[("run_id", "agent_runs")])).await?;
        m.create_index(index("run_inputs", &["run_id", "seq"], true)).await?;

        let permissions = vec![
            uuid("run_id"),
            uuid("account_id"),
            text("request_id"),
            text("tool_name"),
            text("tool_use_id"),
            text("input"),
            text("status"),
            uuid_null("answered_by"),
            text_null("message"),
            text_null("updated_input"),
            ts_null("answered_at"),
        ];
        m.create_table(table("permission_requests", permissions, &[("run_id", "agent_runs")])).await?;
        m.create_index(index("permission_requests", &["run_id", "request_id"], true)).await?;

        let runs = || Table::alter().table(Alias::new("agent_runs")).to_owned();
        let mode = ColumnDef::new(Alias::new("permission_mode")).text().not_null().default("BYPASS").to_owned();
        m.alter_table(runs().add_column(mode).to_owned()).await?;
        let interactive = ColumnDef::new(Alias::new("interactive")).boolean().not_null().default(false).to_owned();
        m.alter_table(runs().add_column(interactive).to_owned()).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
