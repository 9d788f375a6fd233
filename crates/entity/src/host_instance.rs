//! `host_instances`: the instances serving each host of local sandboxes, each with the
//! address other instances forward workspace work to and a lease renewed while it lives.
//! A host with no unexpired row is unavailable; its sandboxes wait for it or move.

use sea_orm::entity::prelude::*;

/// One running instance on one host.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "host_instances")]
pub struct Model {
    /// New at every start of the process.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The host it serves (`--host-id`).
    pub host_id: String,
    /// Its instance id (`--instance-id`), for the log.
    pub instance_id: String,
    /// Where its internal listener is (None: it takes no forwarded work).
    pub internal_url: Option<String>,
    /// Alive until then unless renewed.
    pub lease_until: DateTimeUtc,
    /// When it started.
    pub created_at: DateTimeUtc,
    /// When last renewed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
