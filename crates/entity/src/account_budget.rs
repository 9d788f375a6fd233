//! `account_budgets`: what an account may spend through the gateway and how many runs it
//! may have at once; no row (or a null) means no cap.

use sea_orm::entity::prelude::*;

/// A budget row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "account_budgets")]
pub struct Model {
    /// The account.
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    /// Cap per UTC day, in millionths of a US dollar.
    pub daily_micros: Option<i64>,
    /// Cap per UTC calendar month, in millionths of a US dollar.
    pub monthly_micros: Option<i64>,
    /// Most runs RUNNING at once.
    pub max_concurrent_runs: Option<i64>,
    /// When last set.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
