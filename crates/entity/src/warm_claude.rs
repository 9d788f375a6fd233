//! `warm_claudes`: the places of warm Claude processes (started ahead of a sandbox's next
//! run, waiting for its prompt). A place is taken before the process starts, in the
//! same transaction that counts the account's and the deployment's, and given up when
//! the process ends or becomes a run (in the run's own insert). Places past `until`
//! count for nothing: their instance stopped renewing them.

use sea_orm::entity::prelude::*;

/// A warm process's place.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "warm_claudes")]
pub struct Model {
    /// The id of the run it will serve (its gateway token names it).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Its sandbox (unique: one warm process per sandbox).
    pub sandbox_id: Uuid,
    /// The sandbox's owner (per-account bound).
    pub account_id: Uuid,
    /// The instance that started it.
    pub instance_id: String,
    /// That instance's internal address, where another instance hands it the sandbox's
    /// next run (None: it takes no handed runs).
    pub holder_url: Option<String>,
    /// When the place lapses unless its instance renews it.
    pub until: DateTimeUtc,
    /// When reserved.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
