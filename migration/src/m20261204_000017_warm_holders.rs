//! Where the instance holding a warm Claude takes handed runs: its internal address on
//! the place itself, so any instance can hand it the sandbox's next run whatever the
//! backend (Modal deployments register no hosts).

use sea_orm_migration::prelude::*;

use crate::columns::text_null;

/// Adds `warm_claudes.holder_url`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let add = Table::alter().table(Alias::new("warm_claudes")).add_column(text_null("holder_url")).to_owned();
        m.alter_table(add).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
