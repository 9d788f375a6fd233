//! `agent_run_events`: the numbered event log of a run, replayed to late subscribers.

use sea_orm::entity::prelude::*;

/// One event; `(run_id, seq)` is unique and `seq` counts 1, 2, 3… per run.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agent_run_events")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The run.
    pub run_id: Uuid,
    /// Position in the run, from 1.
    pub seq: i64,
    /// Event type name.
    pub kind: String,
    /// Event fields.
    pub payload: Json,
    /// When stored.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
