//! Erasing an account on request: one row per account being erased (its id is the
//! account's), leased by the instance doing the work so another finishes it when that one
//! dies. The row goes with the account's, in the same transaction, when the work is done.

use sea_orm_migration::prelude::*;

use crate::columns::{big, table, text, text_null, ts_null, uuid_null};

/// Creates `account_erasures`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let cols = vec![
            uuid_null("requested_by"),
            text("stage"),
            big("erased"),
            text_null("lease_owner"),
            ts_null("lease_until"),
        ];
        // No foreign key: the account's row is removed last, with this one.
        m.create_table(table("account_erasures", cols, &[])).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("account_erasures")).to_owned()).await
    }
}
