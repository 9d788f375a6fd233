//! Accounts, their API tokens, sandboxes and the change log.

use sea_orm_migration::prelude::*;

use crate::columns::{index, json, json_null, table, text, text_null, ts_null, uuid, uuid_null};

/// Creates the tables of accounts and sandboxes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(
            "accounts",
            vec![
                text("name"),
                text("role"),
                uuid_null("organization_id"),
                ColumnDef::new(Alias::new("disabled")).boolean().not_null().default(false).to_owned(),
            ],
            &[],
        ))
        .await?;
        m.create_table(table(
            "api_tokens",
            vec![
                uuid("account_id"),
                text("name"),
                text("token_sha256"),
                ts_null("last_used_at"),
                ts_null("revoked_at"),
            ],
            &[("account_id", "accounts")],
        ))
        .await?;
        m.create_index(index("api_tokens", &["token_sha256"], true)).await?;
        m.create_table(table(
            "sandboxes",
            vec![
                uuid("account_id"),
                uuid_null("organization_id"),
                uuid_null("agent_id"),
                text("provider"),
                text("backend"),
                text_null("external_id"),
                text("name"),
                text("status"),
                text_null("status_reason"),
                text_null("claude_session_id"),
                json("meta_data"),
                ts_null("deleted_at"),
            ],
            &[("account_id", "accounts")],
        ))
        .await?;
        m.create_index(index("sandboxes", &["account_id", "created_at"], false)).await?;
        m.create_index(index("sandboxes", &["account_id", "id"], false)).await?;
        m.create_table(table(
            "change_logs",
            vec![
                uuid_null("account_id"),
                text("entity"),
                uuid("entity_id"),
                text("action"),
                json_null("before"),
                json_null("after"),
            ],
            &[],
        ))
        .await?;
        m.create_index(index("change_logs", &["entity", "entity_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["change_logs", "sandboxes", "api_tokens", "accounts"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned()).await?;
        }
        Ok(())
    }
}
