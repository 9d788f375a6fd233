//! Checkpoints: the workspace and the Claude session after every turn (and on demand),
//! kept outside the sandbox, so a user can rewind both together or fork a new sandbox
//! from any of them. A checkpoint is a manifest like a snapshot's, taken by the same pass
//! against the previous checkpoint (a turn that touched 10 of 10,000 files hashes and
//! stores about 10), plus the session transcript as it stood and the message to resume
//! at. Old ones go by count and age; the blobs only they held are reclaimed behind the
//! account's blob gate.

pub mod diff;
pub mod hook;
pub mod purge;
pub mod reclaim;
pub mod retention;
pub mod rewind;
pub mod session;
mod take;

use std::{ops::Deref, sync::Arc};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

pub use self::take::Point;
use crate::{
    auth::Viewer,
    backend::Backend,
    config::Limits,
    entity::checkpoint,
    error::{AppError, AppResult},
    run::manager::RunManager,
    sandboxes::VisibleSandbox,
    snapshots::{VisibleSnapshot, sync::Syncer},
};

/// A checkpoint the viewer may see: produced only by the lookups of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleCheckpoint(checkpoint::Model);

impl Deref for VisibleCheckpoint {
    type Target = checkpoint::Model;
    fn deref(&self) -> &checkpoint::Model {
        &self.0
    }
}

impl VisibleCheckpoint {
    /// Its files, read like a snapshot's.
    pub fn files(&self) -> VisibleSnapshot {
        VisibleSnapshot::of_checkpoint(&self.0)
    }

    /// A checkpoint of a sandbox the caller already holds as visible (a move takes the
    /// session of its newest one along).
    pub(crate) fn of_visible_sandbox(sb: &crate::sandboxes::VisibleSandbox, row: checkpoint::Model) -> Option<Self> {
        (row.sandbox_id == sb.id && row.account_id == sb.account_id).then_some(Self(row))
    }

    /// The row.
    pub fn into_row(self) -> checkpoint::Model {
        self.0
    }
}

/// Taking, listing, rewinding to and reclaiming checkpoints.
#[derive(Clone)]
pub struct Checkpoints {
    db: DatabaseConnection,
    backend: Arc<dyn Backend>,
    sync: Syncer,
    limits: Arc<Limits>,
    manager: Arc<RunManager>,
}

impl Checkpoints {
    /// Checkpoints taken with `sync`'s pass, into its store.
    pub fn new(db: DatabaseConnection, backend: Arc<dyn Backend>, sync: Syncer, manager: Arc<RunManager>) -> Self {
        let limits = sync.limits.clone();
        Self { db, backend, sync, limits, manager }
    }

    /// A checkpoint the viewer may see, or NOT_FOUND (another account's looks missing).
    pub async fn require(&self, viewer: &Viewer, id: Uuid) -> AppResult<VisibleCheckpoint> {
        let row = checkpoint::Entity::find_by_id(id).one(&self.db).await?;
        row.filter(|c| viewer.can_see(c.account_id)).map(VisibleCheckpoint).ok_or(AppError::NotFound("checkpoint"))
    }

    /// A checkpoint of this sandbox, or NOT_FOUND.
    pub async fn of_sandbox(&self, sb: &VisibleSandbox, id: Uuid) -> AppResult<VisibleCheckpoint> {
        let row =
            checkpoint::Entity::find_by_id(id).filter(checkpoint::Column::SandboxId.eq(sb.id)).one(&self.db).await?;
        row.map(VisibleCheckpoint).ok_or(AppError::NotFound("checkpoint"))
    }

    /// A sandbox's checkpoints, newest first.
    pub async fn list(&self, sb: &VisibleSandbox, first: u64) -> AppResult<Vec<checkpoint::Model>> {
        Ok(checkpoint::Entity::find()
            .filter(checkpoint::Column::SandboxId.eq(sb.id))
            .order_by_desc(checkpoint::Column::Id)
            .limit(first)
            .all(&self.db)
            .await?)
    }

    /// A run's checkpoints, in turn order (the run was already checked visible).
    pub async fn of_run(&self, run_id: Uuid, first: u64) -> AppResult<Vec<checkpoint::Model>> {
        Ok(checkpoint::Entity::find()
            .filter(checkpoint::Column::RunId.eq(run_id))
            .order_by_asc(checkpoint::Column::Id)
            .limit(first)
            .all(&self.db)
            .await?)
    }

    /// The newest checkpoint of a sandbox, if any.
    async fn latest(&self, sandbox_id: Uuid) -> AppResult<Option<checkpoint::Model>> {
        Ok(checkpoint::Entity::find()
            .filter(checkpoint::Column::SandboxId.eq(sandbox_id))
            .order_by_desc(checkpoint::Column::Id)
            .one(&self.db)
            .await?)
    }
}
