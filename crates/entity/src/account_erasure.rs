//! `account_erasures`: an account being erased on an admin's request. The row is the
//! work's lease (any instance resumes an erasure whose holder died) and its progress; it
//! goes with the account's row when the erasure is done, leaving only the audit record.

use sea_orm::entity::prelude::*;

use crate::enums::ErasureStage;

/// One erasure in progress.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_erasures")]
pub struct Model {
    /// The account's id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The admin who asked (None: the operator at the command line).
    pub requested_by: Option<Uuid>,
    /// How far it has come.
    pub stage: ErasureStage,
    /// Rows and objects removed so far (progress for the operator).
    pub erased: i64,
    /// The instance doing it now.
    pub lease_owner: Option<String>,
    /// Until when that instance holds it unless renewed.
    pub lease_until: Option<DateTimeUtc>,
    /// When asked.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
