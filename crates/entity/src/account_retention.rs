//! `account_retention`: what an admin set for one account instead of the server's
//! retention defaults (null: the default).

use sea_orm::entity::prelude::*;

/// One account's retention settings.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_retention")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account (unique).
    pub account_id: Uuid,
    /// Checkpoints kept per sandbox.
    pub checkpoints_keep: Option<i64>,
    /// Hours a checkpoint is kept (0: no age limit).
    pub checkpoints_max_age_hours: Option<i64>,
    /// Snapshots kept per sandbox (0: all).
    pub snapshots_keep: Option<i64>,
    /// Hours a snapshot is kept (0: no age limit).
    pub snapshots_max_age_hours: Option<i64>,
    /// Bytes of distinct content the account may store (0: no quota).
    pub storage_quota_bytes: Option<i64>,
    /// When made.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
