//! `api_tokens`: bearer tokens, stored only as their sha256.

use sea_orm::entity::prelude::*;

/// A token row; the token itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owner.
    pub account_id: Uuid,
    /// A label for the operator.
    pub name: String,
    /// Hex sha256 of the token (never serialised, not even into the audit trail).
    #[serde(skip)]
    pub token_sha256: String,
    /// Updated at most once a minute, to spare writes.
    pub last_used_at: Option<DateTimeUtc>,
    /// Set when revoked; a revoked token is refused.
    pub revoked_at: Option<DateTimeUtc>,
    /// After this the token is refused; None: it does not expire.
    pub expires_at: Option<DateTimeUtc>,
    /// The token may only read (queries and subscriptions).
    pub read_only: bool,
    /// When created.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// Tokens belong to accounts.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The owning account.
    #[sea_orm(belongs_to = "super::account::Entity", from = "Column::AccountId", to = "super::account::Column::Id")]
    Account,
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
