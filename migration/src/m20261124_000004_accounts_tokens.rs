//! Accounts the embedding product controls: its own user id on each account, and tokens
//! that expire or may only read.

use sea_orm_migration::prelude::*;

use crate::columns::{index, text_null, ts_null};

/// Adds `accounts.external_id` and the token scopes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(Alias::new("accounts")).add_column(text_null("external_id")).to_owned())
            .await?;
        m.create_index(index("accounts", &["external_id"], true)).await?;
        m.alter_table(Table::alter().table(Alias::new("api_tokens")).add_column(ts_null("expires_at")).to_owned())
            .await?;
        let read_only = ColumnDef::new(Alias::new("read_only")).boolean().not_null().default(false).to_owned();
        m.alter_table(Table::alter().table(Alias::new("api_tokens")).add_column(read_only).to_owned()).await?;
        m.create_index(index("api_tokens", &["account_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
