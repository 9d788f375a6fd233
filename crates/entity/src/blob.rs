//! `blobs`: the content blobs an account's store holds, by sha256, so a sync knows what
//! exists without listing the account's whole store.

use sea_orm::entity::prelude::*;

/// One stored blob; `(account_id, sha256)` is unique.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blobs")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owner of the store the blob is in.
    pub account_id: Uuid,
    /// Hex sha256 of the content (the blob's key).
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// When stored.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
