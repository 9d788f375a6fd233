//! Snapshots of workspaces, Claude runs and their event streams.

use sea_orm_migration::prelude::*;

use crate::columns::{big, big_null, index, json, table, text, text_null, uuid};

/// Creates the tables of snapshots and runs.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "snapshots",
            vec![uuid("sandbox_id"), uuid("account_id"), text("manifest_key"), big("file_count"), big("total_bytes")],
            &[("sandbox_id", "sandboxes")],
        ))
        .await?;
        m.create_index(index("snapshots", &["sandbox_id", "created_at"], false)).await?;
        m.create_table(table(
            "agent_runs",
            vec![
                uuid("sandbox_id"),
                uuid("account_id"),
                text("prompt"),
                text("status"),
                text_null("claude_session_id"),
                ColumnDef::new(Alias::new("cost_usd")).double().null().to_owned(),
                big_null("duration_ms"),
                big_null("num_turns"),
                text_null("error"),
                text_null("model"),
                big_null("max_turns"),
                text_null("runner_id"),
            ],
            &[("sandbox_id", "sandboxes")],
        ))
        .await?;
        m.create_index(index("agent_runs", &["sandbox_id", "id"], false)).await?;
        m.create_index(index("agent_runs", &["status"], false)).await?;
        // At most one RUNNING run per sandbox, enforced by the database itself.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_agent_runs_one_running \
                 ON agent_runs (sandbox_id) WHERE status = 'RUNNING'",
            )
            .await?;
        m.create_table(table(
            "agent_run_events",
            vec![uuid("run_id"), big("seq"), text("kind"), json("payload")],
            &[("run_id", "agent_runs")],
        ))
        .await?;
        m.create_index(index("agent_run_events", &["run_id", "seq"], true)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["agent_run_events", "agent_runs", "snapshots"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        Ok(())
    }
}
