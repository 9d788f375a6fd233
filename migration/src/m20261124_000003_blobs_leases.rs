//! Second wave: which content blobs each account's store holds (so a sync asks the
//! database, not a listing of the whole bucket), and leases that let any instance take
//! over work whose owner died (runs, syncs, creates, deletes).

use sea_orm_migration::prelude::*;

use crate::columns::{big, index, table, text, text_null, ts_null, uuid};

/// Creates `blobs` and adds the lease columns.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "blobs",
            vec![uuid("account_id"), text("sha256"), big("size")],
            &[("account_id", "accounts")],
        ))
        .await?;
        m.create_index(index("blobs", &["account_id", "sha256"], true)).await?;
        // Runs: the instance executing a run renews its lease; an expired lease means the
        // run's owner is gone and any instance may finish it.
        m.alter_table(Table::alter().table(Alias::new("agent_runs")).add_column(ts_null("lease_until")).to_owned())
            .await?;
        // One-time actions done by exactly one of several instances starting together.
        m.create_table(
            Table::create()
                .table(Alias::new("server_markers"))
                .if_not_exists()
                .col(ColumnDef::new(Alias::new("name")).text().not_null().primary_key())
                .col(crate::columns::ts("created_at"))
                .to_owned(),
        )
        .await?;
        // Sandboxes: a lease on long work (sync, create, delete) held by one instance.
        for col in [text_null("lease_owner"), ts_null("lease_until"), text_null("lease_kind")] {
            m.alter_table(Table::alter().table(Alias::new("sandboxes")).add_column(col).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("blobs")).to_owned()).await?;
        m.drop_table(Table::drop().table(Alias::new("server_markers")).to_owned()).await?;
        Ok(())
    }
}
