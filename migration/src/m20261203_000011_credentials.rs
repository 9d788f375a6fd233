//! Account credentials the broker adds to a sandbox's requests: one row per account and
//! host, the secret sealed (AES-256-GCM under `--secrets-key`, named by `key_id`) and
//! never stored in the clear. Rows go with their account.

use sea_orm_migration::prelude::*;

use crate::columns::{index, table, text, text_null, uuid};

/// Adds `account_credentials`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let cols = vec![
            uuid("account_id"),
            text("host"),
            text("kind"),
            text_null("username"),
            text_null("header_name"),
            text("key_id"),
            text("sealed"),
        ];
        m.create_table(table("account_credentials", cols, &[("account_id", "accounts")])).await?;
        m.create_index(index("account_credentials", &["account_id", "host"], true)).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
