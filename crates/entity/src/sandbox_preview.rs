//! `sandbox_previews`: the ports of sandboxes that are served at a preview URL
//! (`{port}-{sandboxId}.{previewDomain}`), one row per sandbox and port, removed with the
//! sandbox.

use sea_orm::entity::prelude::*;

use crate::enums::PreviewVisibility;

/// An exposed port.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sandbox_previews")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Its sandbox.
    pub sandbox_id: Uuid,
    /// The sandbox's owner (whose links open it).
    pub account_id: Uuid,
    /// The port inside the sandbox.
    pub port: i64,
    /// Who may open it.
    pub visibility: PreviewVisibility,
    /// When exposed.
    pub created_at: DateTimeUtc,
    /// When last changed (its visibility).
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
