//! `sandbox_processes`: processes users start in their sandboxes (a dev server, a
//! script), leased by the instance that runs them so a dead instance's are found and
//! marked INTERRUPTED, with the byte range of the output they still keep.

use sea_orm::entity::prelude::*;
use serde::Serialize;

use crate::enums::ProcessStatus;

/// A user's process.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "sandbox_processes")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Its sandbox.
    pub sandbox_id: Uuid,
    /// The sandbox's owner.
    pub account_id: Uuid,
    /// A name the user gave it (or its program's).
    pub name: String,
    /// Program and arguments (a JSON array of strings).
    pub argv: Json,
    /// Working directory, relative to the workspace.
    pub cwd: String,
    /// Where it stands.
    pub status: ProcessStatus,
    /// Its exit code once ended (128 + n when signal n ended it).
    pub exit_code: Option<i64>,
    /// When it ended.
    pub ended_at: Option<DateTimeUtc>,
    /// The instance running it.
    pub lease_owner: Option<String>,
    /// Until when that instance's lease holds unless renewed.
    pub lease_until: Option<DateTimeUtc>,
    /// Offset of the oldest output byte still kept.
    pub log_start: i64,
    /// Bytes of output so far (the offset after the newest).
    pub log_end: i64,
    /// When started.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// No navigable relations are needed.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl crate::lease::Leased for Entity {
    fn id_column() -> Self::Column {
        Column::Id
    }
    fn owner_column() -> Self::Column {
        Column::LeaseOwner
    }
    fn until_column() -> Self::Column {
        Column::LeaseUntil
    }
}
