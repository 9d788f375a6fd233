//! Sandbox templates: each sandbox remembers the template it was made from, so its bounds
//! and its Claude settings stay those it was created with while the operator's templates
//! file gains others.

use sea_orm_migration::prelude::*;

/// Adds `sandboxes.template` (null for sandboxes made before templates: the default).
#[derive(DeriveMigrationName)]
pub struct Migration;

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let template = ColumnDef::new(Alias::new("template")).text().null().to_owned();
        let alter = Table::alter().table(Alias::new("sandboxes")).add_column(template).to_owned();
        m.alter_table(alter).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
