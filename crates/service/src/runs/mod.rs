//! Claude runs as the viewer sees them: start, cancel, read, list, follow.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::Stream;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::{
    paging::{Page, PageRequest, into_page},
    sandboxes::{VisibleId, VisibleSandbox},
};
use crate::{
    auth::Viewer,
    config::Limits,
    entity::{agent_run, enums::RunStatus},
    error::{AppError, AppResult},
    run::{follow, hub::StoredEvent, manager::RunManager, store},
};

pub mod handover;
mod interact;
pub mod retention;
mod start;

pub use self::{
    handover::{HandedRun, HandedRunStarted},
    interact::PermissionAnswer,
    start::{StartRun, validate},
};

/// Most event kinds a filter may name: there are fewer kinds than this.
pub const KINDS_PER_FILTER: usize = 64;

/// Claude runs of sandboxes the viewer may see.
#[derive(Clone)]
pub struct Runs {
    pub(super) db: DatabaseConnection,
    /// Runs executing on this instance and their live fan-out.
    pub manager: Arc<RunManager>,
    pub(super) limits: Arc<Limits>,
    pub(super) waker: crate::lifecycle::waker::Waker,
    /// The internal channel, to hand a run to the instance holding its warm Claude.
    handover: Option<crate::backend::remote::client::Remote>,
}

impl Runs {
    /// Runs executed by `manager`.
    pub fn new(
        db: DatabaseConnection,
        manager: Arc<RunManager>,
        limits: Arc<Limits>,
        waker: crate::lifecycle::waker::Waker,
    ) -> Self {
        Self { db, manager, limits, waker, handover: None }
    }

    fn stop_wait(&self) -> Duration {
        Duration::from_secs(self.limits.run_stop_wait_secs)
    }

    /// A run the viewer may see, or None.
    pub async fn get(&self, viewer: &Viewer, run_id: Uuid) -> AppResult<Option<agent_run::Model>> {
        let run = agent_run::Entity::find_by_id(run_id).one(&self.db).await?;
        Ok(run.filter(|r| viewer.can_see(r.account_id)))
    }

    async fn require(&self, viewer: &Viewer, run_id: Uuid) -> AppResult<agent_run::Model> {
        self.get(viewer, run_id).await?.ok_or(AppError::NotFound("run"))
    }

    /// Cancels a run and waits (briefly) for it to stop; a finished run is returned as is.
    pub async fn cancel(&self, viewer: &Viewer, run_id: Uuid) -> AppResult<agent_run::Model> {
        let run = self.require(viewer, run_id).await?;
        if run.status != RunStatus::Running {
            return Ok(run);
        }
        // Its runner is gone (the lease expired): nobody could stop it, so end it here.
        if let Some(ended) = self.manager.reap(run_id, RunStatus::Cancelled, "cancelled", false).await? {
            return Ok(ended);
        }
        self.manager.request_cancel(run_id).await?;
        Ok(self.manager.wait_finished(run_id, self.stop_wait()).await?.unwrap_or(run))
    }

    /// Cancels every active run of a sandbox (before it is deleted).
    pub async fn cancel_all_in(&self, sb: &VisibleSandbox) -> AppResult<()> {
        self.manager.warm.discard(&self.db, sb.id);
        let active = agent_run::Entity::find()
            .filter(agent_run::Column::SandboxId.eq(sb.id))
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .all(&self.db)
            .await?;
        for run in active {
            self.manager.request_cancel(run.id).await?;
            self.manager.wait_finished(run.id, self.stop_wait()).await?;
        }
        Ok(())
    }

    /// Starts a warm Claude for the sandbox's next run (a client that opens a sandbox
    /// expects to talk to it), within the warm bounds; a no-op when warm starts are off,
    /// one waits already, a run is active or no place is free. Returns at once.
    pub fn prepare(&self, sb: &VisibleSandbox) {
        let (manager, id) = (self.manager.clone(), sb.id);
        tokio::spawn(async move { manager.prepare_warm(id).await });
    }

    /// Runs of a sandbox, newest first.
    pub async fn list(&self, sb: &VisibleSandbox, page: PageRequest) -> AppResult<Page<agent_run::Model>> {
        let mut q = agent_run::Entity::find().filter(agent_run::Column::SandboxId.eq(sb.id));
        if let Some(after) = page.after {
            q = q.filter(agent_run::Column::Id.lt(after));
        }
        let rows = q.order_by_desc(agent_run::Column::Id).limit(page.first + 1).all(&self.db).await?;
        Ok(into_page(rows, page.first))
    }

    /// Number of runs of a sandbox.
    pub async fn count(&self, sb: &VisibleSandbox) -> AppResult<u64> {
        Ok(agent_run::Entity::find().filter(agent_run::Column::SandboxId.eq(sb.id)).count(&self.db).await?)
    }

    /// The active run of each of the given sandboxes, in one query.
    pub async fn active_in(&self, sandboxes: &[VisibleId]) -> Result<HashMap<VisibleId, agent_run::Model>, DbErr> {
        let rows = agent_run::Entity::find()
            .filter(agent_run::Column::SandboxId.is_in(sandboxes.iter().map(|s| s.id())))
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .all(&self.db)
            .await?;
        let by_id: HashMap<Uuid, VisibleId> = sandboxes.iter().map(|k| (k.id(), *k)).collect();
        Ok(rows.into_iter().filter_map(|r| Some((*by_id.get(&r.sandbox_id)?, r))).collect())
    }

    /// Stored events of a run after `after_seq`, at most `limit` (for history views).
    pub async fn events_page(
        &self,
        viewer: &Viewer,
        run_id: Uuid,
        after_seq: i64,
        limit: i64,
        kinds: Option<&[String]>,
    ) -> AppResult<Vec<StoredEvent>> {
        let max = self.limits.max_events_page;
        if limit < 0 || limit as u64 > max || after_seq < 0 {
            return Err(AppError::bad_input(format!("`first` must be 0 to {max} and `afterSeq` not negative")));
        }
        if kinds.is_some_and(|k| k.len() > KINDS_PER_FILTER) {
            return Err(AppError::bad_input(format!("at most {KINDS_PER_FILTER} kinds")));
        }
        self.require(viewer, run_id).await?;
        match kinds {
            Some(kinds) => store::after_of_kinds(&self.db, run_id, after_seq, kinds, limit as u64).await,
            None => store::after(&self.db, run_id, after_seq, limit as u64).await,
        }
    }

    /// Follows a run: stored events after `after_seq`, then live ones, ending after RunFinished.
    pub async fn follow(
        &self,
        viewer: &Viewer,
        run_id: Uuid,
        after_seq: i64,
    ) -> AppResult<impl Stream<Item = AppResult<StoredEvent>> + use<>> {
        if after_seq < 0 {
            return Err(AppError::bad_input("`afterSeq` must not be negative"));
        }
        self.require(viewer, run_id).await?;
        Ok(follow::follow(
            self.db.clone(),
            self.manager.hub.clone(),
            run_id,
            after_seq,
            self.limits.io.event_replay_page,
        ))
    }
}
