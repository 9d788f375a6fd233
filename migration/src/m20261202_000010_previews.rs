//! Preview URLs of sandbox ports, and the keys the server signs with. A preview is one
//! exposed port of a sandbox (unique per sandbox and port); `server_keys` holds secrets
//! every instance must share (the preview links' signing key), each made once by
//! whichever instance needs it first (a conditional insert on its name).

use sea_orm_migration::prelude::*;

use crate::columns::{big, index, table, text, uuid};

/// Adds `sandbox_previews` and `server_keys`.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let cols = vec![uuid("sandbox_id"), uuid("account_id"), big("port"), text("visibility")];
        m.create_table(table("sandbox_previews", cols, &[("sandbox_id", "sandboxes")])).await?;
        m.create_index(index("sandbox_previews", &["sandbox_id", "port"], true)).await?;
        m.create_table(table("server_keys", vec![text("name"), text("value")], &[])).await?;
        m.create_index(index("server_keys", &["name"], true)).await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
