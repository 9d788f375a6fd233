//! `snapshots`: one row per completed sync, pointing at its manifest in the blob store.

use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A snapshot row, written only after its manifest is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "snapshots")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The sandbox it was taken of.
    pub sandbox_id: Uuid,
    /// Owner, denormalised so scoping needs no join.
    pub account_id: Uuid,
    /// Key of the manifest in the blob store.
    pub manifest_key: String,
    /// Files in the snapshot.
    pub file_count: i64,
    /// Sum of file sizes.
    pub total_bytes: i64,
    /// Whether its blobs were read back and found whole.
    pub status: super::enums::SnapshotStatus,
    /// When they last were.
    pub verified_at: Option<DateTimeUtc>,
    /// What the last verification found damaged: `{"paths": [...], "total": n, "blobs":
    /// [sha256...], "blobsTotal": n}` (lists bounded by `verifyMaxListedPaths`).
    pub corrupt_paths: Option<Json>,
    /// When taken.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
