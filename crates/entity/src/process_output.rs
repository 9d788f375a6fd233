//! `process_output`: what a user's process wrote (stdout and stderr in order), in chunks
//! by byte offset, so any instance can replay it from any offset after the process, or
//! its instance, is gone. A process keeps its newest `limits.processLogBytes`.

use sea_orm::entity::prelude::*;

/// A chunk of output.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_output")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The process.
    pub process_id: Uuid,
    /// Offset of its first byte in the process's output.
    pub offset: i64,
    /// The bytes.
    pub data: Vec<u8>,
    /// When stored.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
