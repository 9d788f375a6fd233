//! `usage_records`: one upstream Anthropic response seen by the gateway — its tokens and
//! its cost — charged to the run, sandbox and account whose per-run token made it.

use sea_orm::entity::prelude::*;

/// A ledger row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "usage_records")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Who pays.
    pub account_id: Uuid,
    /// Where the run ran.
    pub sandbox_id: Uuid,
    /// The run whose token made the request.
    pub run_id: Uuid,
    /// Model that answered.
    pub model: String,
    /// Uncached input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: i64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: i64,
    /// Cost in millionths of a US dollar, from the price table at the time.
    pub cost_micros: i64,
    /// When the response ended.
    pub created_at: DateTimeUtc,
    /// Same as created_at (rows never change).
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
