//! Local sandboxes on several hosts: the host whose disk holds each sandbox's workspace,
//! and the instances serving each host, with the address other instances forward work
//! to and a lease that says they are alive.

use sea_orm_migration::prelude::*;

use crate::columns::{index, table, text, text_null, ts};

/// Creates `host_instances` and adds `sandboxes.host_id`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let cols = vec![text("host_id"), text("instance_id"), text_null("internal_url"), ts("lease_until")];
        m.create_table(table("host_instances", cols, &[])).await?;
        m.create_index(index("host_instances", &["host_id"], false)).await?;
        m.alter_table(Table::alter().table(Alias::new("sandboxes")).add_column(text_null("host_id")).to_owned())
            .await?;
        m.create_index(index("sandboxes", &["host_id"], false)).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("host_instances")).to_owned()).await
    }
}
