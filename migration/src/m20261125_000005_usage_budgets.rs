//! What runs spend: a usage ledger filled by the Anthropic gateway, per-account budgets,
//! and each run's gateway token (hashed) and the reason the gateway stopped it.

use sea_orm_migration::prelude::*;

use crate::columns::{big, big_null, index, table, text, text_null, ts, uuid};

/// Adds `usage_records`, `account_budgets` and the run's gateway columns.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let usage = vec![
            uuid("account_id"),
            uuid("sandbox_id"),
            uuid("run_id"),
            text("model"),
            big("input_tokens"),
            big("output_tokens"),
            big("cache_creation_input_tokens"),
            big("cache_read_input_tokens"),
            big("cost_micros"),
        ];
        m.create_table(table("usage_records", usage, &[("account_id", "accounts")])).await?;
        m.create_index(index("usage_records", &["account_id", "created_at"], false)).await?;
        m.create_index(index("usage_records", &["sandbox_id", "created_at"], false)).await?;
        m.create_index(index("usage_records", &["run_id"], false)).await?;

        let mut budgets = Table::create();
        budgets
            .table(Alias::new("account_budgets"))
            .if_not_exists()
            .col(ColumnDef::new(Alias::new("account_id")).uuid().not_null().primary_key())
            .col(big_null("daily_micros"))
            .col(big_null("monthly_micros"))
            .col(big_null("max_concurrent_runs"))
            .col(ts("updated_at"))
            .foreign_key(&mut crate::columns::fk("account_budgets", "account_id", "accounts"));
        m.create_table(budgets.to_owned()).await?;

        for col in ["gateway_token_sha256", "stop_reason"] {
            m.alter_table(Table::alter().table(Alias::new("agent_runs")).add_column(text_null(col)).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
