//! `change_logs`: the audit trail — who did what to which row, with before and after.

use sea_orm::entity::prelude::*;

/// One audited change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_logs")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who did it (none for the system itself).
    pub account_id: Option<Uuid>,
    /// Table of the changed row.
    pub entity: String,
    /// Id of the changed row.
    pub entity_id: Uuid,
    /// create, delete, sync, run…
    pub action: String,
    /// Row before, if it existed.
    pub before: Option<Json>,
    /// Row after, if it still exists.
    pub after: Option<Json>,
    /// When.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
