//! `run_inputs`: what a user sent to a running Claude — a follow-up message, an interrupt,
//! an end — queued in the database so the instance executing the run picks it up in
//! order whichever instance took the request.

use sea_orm::entity::prelude::*;

/// A queued input.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "run_inputs")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The run it is for.
    pub run_id: Uuid,
    /// Who sent it.
    pub account_id: Uuid,
    /// Order within the run (unique per run: two senders cannot take the same place).
    pub seq: i64,
    /// `message`, `interrupt` or `end`.
    pub kind: String,
    /// The message text.
    pub text: Option<String>,
    /// When the runner took it; None while queued.
    pub delivered_at: Option<DateTimeUtc>,
    /// When sent.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
