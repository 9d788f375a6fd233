//! `blob_gates`: one row per account (its id is the account's) that every sync, checkpoint
//! and restore passes through and a reclaim closes, so no blob is ever deleted while some
//! work may still reference it. Users count themselves in and renew `use_until`; a
//! reclaim takes the gate only when no user is in (or every user's lease has run out,
//! after a crash), and users wait while it is held.

use sea_orm::entity::prelude::*;

/// An account's gate.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "blob_gates")]
pub struct Model {
    /// The account's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Syncs, checkpoints and restores inside now.
    pub users: i64,
    /// Until when the users inside hold it (renewed while they work); past it, a count
    /// left by a crashed instance no longer counts.
    pub use_until: Option<DateTimeUtc>,
    /// The instance reclaiming, while one does.
    pub reclaim_owner: Option<String>,
    /// Until when its reclaim holds the gate.
    pub reclaim_until: Option<DateTimeUtc>,
    /// Since when blobs may be unreferenced (checkpoints or snapshots were removed): the
    /// next reclaim pass looks at this account; cleared by the reclaim that saw it.
    pub reclaim_wanted_at: Option<DateTimeUtc>,
    /// When made.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
