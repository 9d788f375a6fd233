//! `accounts`: the tenants. Every sandbox, run and snapshot belongs to one.

use sea_orm::entity::prelude::*;

use super::enums::Role;

/// An account row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// USER or ADMIN.
    pub role: Role,
    /// Organization the account belongs to, copied onto its sandboxes.
    pub organization_id: Option<Uuid>,
    /// A disabled account's tokens are refused.
    pub disabled: bool,
    /// The embedding product's id for this user (unique): what its JWTs name.
    pub external_id: Option<String>,
    /// When created.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed from accounts.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
