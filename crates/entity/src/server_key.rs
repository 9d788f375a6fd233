//! `server_keys`: secrets every instance shares (the preview links' signing key), made
//! once by the first instance that needs one and read by the rest. Never sent to a
//! client, a sandbox or a log.

use sea_orm::entity::prelude::*;

/// A named secret.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_keys")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What it is for (unique).
    pub name: String,
    /// The secret, base64.
    pub value: String,
    /// When made.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("server_key").field("name", &self.name).finish_non_exhaustive()
    }
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
