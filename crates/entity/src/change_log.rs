//! `change_logs`: the audit trail — who did what to which row, with before and after —
//! and [`record`], the one way to write it (services and the run supervisor both do).

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set, entity::prelude::*};
use serde::Serialize;

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

/// One change to record.
pub struct Change<'a> {
    /// Who did it; None for the system (e.g. start-up recovery).
    pub actor: Option<Uuid>,
    /// Table name of the changed row.
    pub entity: &'a str,
    /// Id of the changed row.
    pub entity_id: Uuid,
    /// Verb: create, delete, sync, run…
    pub action: &'a str,
}

/// Writes the change with optional before/after images of the row, on `db` (pass the
/// transaction that makes the change, so the audit row commits with it).
pub async fn record<C: ConnectionTrait>(
    db: &C,
    change: Change<'_>,
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) -> Result<(), crate::error::AppError> {
    let t = super::now();
    ActiveModel {
        id: Set(super::new_id()),
        account_id: Set(change.actor),
        entity: Set(change.entity.to_string()),
        entity_id: Set(change.entity_id),
        action: Set(change.action.to_string()),
        before: Set(before.map(serde_json::to_value).transpose()?),
        after: Set(after.map(serde_json::to_value).transpose()?),
        created_at: Set(t),
        updated_at: Set(t),
    }
    .insert(db)
    .await?;
    Ok(())
}
