//! Users' processes in their sandboxes and the output they keep. A process row is leased
//! by the instance that runs it (renewed while it runs), so one whose instance died is
//! found and marked INTERRUPTED; its output lives in chunks by byte offset, the oldest
//! deleted once a process keeps more than its limit.

use sea_orm_migration::prelude::*;

use crate::columns::{big, big_null, index, json, table, text, text_null, ts_null, uuid};

/// Adds `sandbox_processes` and `process_output`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let cols = vec![
            uuid("sandbox_id"),
            uuid("account_id"),
            text("name"),
            json("argv"),
            text("cwd"),
            text("status"),
            big_null("exit_code"),
            ts_null("ended_at"),
            text_null("lease_owner"),
            ts_null("lease_until"),
            big("log_start"),
            big("log_end"),
        ];
        m.create_table(table("sandbox_processes", cols, &[("sandbox_id", "sandboxes")])).await?;
        m.create_index(index("sandbox_processes", &["sandbox_id", "status"], false)).await?;
        m.create_index(index("sandbox_processes", &["account_id", "status"], false)).await?;
        let data = ColumnDef::new(Alias::new("data")).blob().not_null().to_owned();
        let cols = vec![uuid("process_id"), big("offset"), data];
        m.create_table(table("process_output", cols, &[("process_id", "sandbox_processes")])).await?;
        m.create_index(index("process_output", &["process_id", "offset"], true)).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
