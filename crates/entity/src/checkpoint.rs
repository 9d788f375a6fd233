//! `checkpoints`: a sandbox's workspace (a manifest in the blob store, like a snapshot's)
//! and its Claude session after a turn, or when asked; rewinds and forks start from one.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A checkpoint row, written only after its manifest (and session) are stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "checkpoints")]
pub struct Model {
    /// UUID v7 (so ids sort as they were taken).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The sandbox it was taken of.
    pub sandbox_id: Uuid,
    /// Owner, denormalised so scoping needs no join.
    pub account_id: Uuid,
    /// The run whose turn it follows (None: taken on demand).
    pub run_id: Option<Uuid>,
    /// Which turn of that run (1, 2, 3…).
    pub turn: Option<i64>,
    /// Claude's session at that point.
    pub session_id: Option<String>,
    /// The uuid of the session's last message at that point: a rewind resumes there.
    pub resume_at: Option<String>,
    /// Blob key of the session's transcript as it was then (None: too big or none yet).
    pub session_key: Option<String>,
    /// Where the transcript lives under the sandbox's HOME (to put it back in a fork).
    pub session_path: Option<String>,
    /// Key of the manifest in the blob store.
    pub manifest_key: String,
    /// Files in the workspace then.
    pub file_count: i64,
    /// Sum of their sizes.
    pub total_bytes: i64,
    /// Bytes this checkpoint added to the store (new content only).
    pub bytes_stored: i64,
    /// Paths changed since the checkpoint before it (all of them, listed or not).
    pub changes_total: i64,
    /// The changed paths, up to the configured number.
    pub changes: Changes,
    /// When taken.
    pub created_at: DateTimeUtc,
    /// When last changed.
    pub updated_at: DateTimeUtc,
}

/// How a path changed between two states of a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeKind {
    /// It is new.
    Added,
    /// Its content, type, mode or link target changed.
    Modified,
    /// It is gone.
    Deleted,
}

/// One changed path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathChange {
    /// Path from the workspace root.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// `changes` JSON: the listed changes in workspace order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
pub struct Changes(pub Vec<PathChange>);

/// Checkpoints belong to sandboxes.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The sandbox it was taken of.
    #[sea_orm(belongs_to = "super::sandbox::Entity", from = "Column::SandboxId", to = "super::sandbox::Column::Id")]
    Sandbox,
}

impl Related<super::sandbox::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sandbox.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
