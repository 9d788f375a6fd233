//! Storage that is bounded, verified and counted: each snapshot's verification state (and
//! the paths found damaged), and per-account snapshot retention and storage quota an admin
//! sets instead of the server's defaults.

use sea_orm_migration::prelude::*;

/// Adds `snapshots.status`, `verified_at`, `corrupt_paths`, `agent_runs.events_compacted_at`,
/// and snapshot retention and the storage quota to `account_retention`.
#[derive(DeriveMigrationName)]
pub struct Migration;

fn add(m: &SchemaManager<'_>, table: &str, col: ColumnDef) -> impl std::future::Future<Output = Result<(), DbErr>> {
    let alter = Table::alter().table(Alias::new(table)).add_column(col).to_owned();
    async move { m.alter_table(alter).await }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let status = ColumnDef::new(Alias::new("status")).text().not_null().default("UNVERIFIED").to_owned();
        add(m, "snapshots", status).await?;
        add(m, "snapshots", ColumnDef::new(Alias::new("verified_at")).timestamp_with_time_zone().null().to_owned())
            .await?;
        add(m, "snapshots", ColumnDef::new(Alias::new("corrupt_paths")).json_binary().null().to_owned()).await?;
        let compacted = ColumnDef::new(Alias::new("events_compacted_at")).timestamp_with_time_zone().null().to_owned();
        add(m, "agent_runs", compacted).await?;
        for col in ["snapshots_keep", "snapshots_max_age_hours", "storage_quota_bytes"] {
            add(m, "account_retention", ColumnDef::new(Alias::new(col)).big_integer().null().to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
