//! Warm Claude processes: each reserves its place here before it starts, so the
//! per-account and total bounds hold across instances and a sandbox has at most one. A
//! place is a lease its instance renews while the process waits: one held by an
//! instance that died frees itself within a term (and the process stops waiting for a
//! prompt after the idle time).

use sea_orm_migration::prelude::*;

use crate::columns::{index, table, text, ts, uuid};

/// Adds `warm_claudes`: id = the run id the warm process will serve, and its gateway token's.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let cols = vec![uuid("sandbox_id"), uuid("account_id"), text("instance_id"), ts("until")];
        m.create_table(table("warm_claudes", cols, &[("sandbox_id", "sandboxes")])).await?;
        m.create_index(index("warm_claudes", &["sandbox_id"], true)).await?;
        m.create_index(index("warm_claudes", &["account_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
