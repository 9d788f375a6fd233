//! `webhooks`: endpoints that hear an account's events (or, with no account, every
//! account's: an operator's), each with its signing secret (and the previous one during a
//! rotation's overlap). Its Debug shows neither secret.

use sea_orm::entity::prelude::*;

/// One endpoint.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Whose events it hears (None: every account's, set by an admin).
    pub account_id: Option<Uuid>,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Event types it hears (a JSON array; empty: all).
    pub event_types: Json,
    /// What it is for.
    pub description: Option<String>,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_until`.
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    pub previous_until: Option<DateTimeUtc>,
    /// When its deliveries ran out of retries (it is then disabled until updated).
    pub disabled_at: Option<DateTimeUtc>,
    /// When made.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("webhook").field("id", &self.id).field("url", &self.url).finish_non_exhaustive()
    }
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
