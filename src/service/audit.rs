//! The change log: every create, delete, sync and run leaves a row saying who and what.

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    entity::{change_log, new_id, now},
    error::AppResult,
};

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

/// Writes the change with optional before/after images of the row.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    change: Change<'_>,
    before: Option<&impl Serialize>,
    after: Option<&impl Serialize>,
) -> AppResult<()> {
    let t = now();
    change_log::ActiveModel {
        id: Set(new_id()),
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
