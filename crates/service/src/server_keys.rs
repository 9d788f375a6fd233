//! Secrets every instance must share (the preview links' and the broker's signing keys):
//! each made once, by whichever instance needs it first, with a conditional insert on its
//! name, then read by all.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::{
    entity::{new_id, now, server_key},
    error::{AppError, AppResult},
};

/// Bytes of a new key.
const KEY_BYTES: usize = 32;

/// The shared key named `name`, made now if no instance has made it yet.
pub async fn shared(db: &DatabaseConnection, name: &str) -> AppResult<Vec<u8>> {
    let t = now();
    let mut key = vec![0u8; KEY_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    let row = server_key::ActiveModel {
        id: Set(new_id()),
        name: Set(name.into()),
        value: Set(STANDARD.encode(&key)),
        created_at: Set(t),
        updated_at: Set(t),
    };
    server_key::Entity::insert(row)
        .on_conflict_do_nothing_on([server_key::Column::Name])
        .exec_without_returning(db)
        .await?;
    let stored = server_key::Entity::find()
        .filter(server_key::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("server key"))?;
    STANDARD
        .decode(stored.value.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the stored key {name} is not base64: {e}")))
}
