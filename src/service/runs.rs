//! Claude runs as the viewer sees them: start, cancel, read, list, follow.

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::Stream;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use uuid::Uuid;

use super::{
    paging::{Page, PageRequest, into_page},
    sandboxes::{VisibleId, VisibleSandbox},
};
use crate::{
    auth::Viewer,
    config::Limits,
    entity::{
        agent_run,
        change_log::{self, Change},
        enums::{RunStatus, SandboxStatus},
        new_id, now,
    },
    error::{AppError, AppResult},
    run::{follow, hub::StoredEvent, manager::RunManager, store},
};

/// What a client may choose for a run.
#[derive(Debug, Clone)]
pub struct StartRun {
    /// What to ask.
    pub prompt: String,
    /// Model override.
    pub model: Option<String>,
    /// Turn limit.
    pub max_turns: Option<i64>,
}

/// Checks a run's input against the limits; every mistake is BAD_USER_INPUT.
pub fn validate(input: &StartRun, limits: &Limits) -> AppResult<()> {
    let max_prompt = limits.max_prompt_bytes;
    if input.prompt.trim().is_empty() {
        return Err(AppError::bad_input("`prompt` must not be empty"));
    }
    if input.prompt.len() as u64 > max_prompt {
        return Err(AppError::bad_input(format!("`prompt` is longer than {max_prompt} bytes")));
    }
    if input.prompt.contains('\0') {
        return Err(AppError::bad_input("`prompt` must not contain NUL characters"));
    }
    if let Some(m) = &input.model {
        // Starts with a letter or digit, so it can never be read as a flag of `claude`.
        let ok = m.starts_with(|c: char| c.is_ascii_alphanumeric())
            && m.len() as u64 <= limits.max_name_chars
            && m.chars().all(|c| c.is_ascii_alphanumeric() || "._:-[]".contains(c));
        if !ok {
            return Err(AppError::bad_input("`model` must be a model name such as claude-sonnet-4-5"));
        }
    }
    if let Some(t) = input.max_turns
        && (t < 1 || t as u64 > limits.max_turns)
    {
        return Err(AppError::bad_input(format!("`maxTurns` must be between 1 and {}", limits.max_turns)));
    }
    Ok(())
}

/// Claude runs of sandboxes the viewer may see.
#[derive(Clone)]
pub struct Runs {
    db: DatabaseConnection,
    /// Runs executing on this instance and their live fan-out.
    pub manager: Arc<RunManager>,
    limits: Arc<Limits>,
}

impl Runs {
    /// Runs executed by `manager`.
    pub fn new(db: DatabaseConnection, manager: Arc<RunManager>, limits: Arc<Limits>) -> Self {
        Self { db, manager, limits }
    }

    fn stop_wait(&self) -> Duration {
        Duration::from_secs(self.limits.run_stop_wait_secs)
    }

    /// Starts a run; CONFLICT when the sandbox is not running or already has an active run.
    pub async fn start(
        &self,
        viewer: &Viewer,
        sandbox: &VisibleSandbox,
        input: StartRun,
    ) -> AppResult<agent_run::Model> {
        validate(&input, &self.limits)?;
        if sandbox.status != SandboxStatus::Running {
            return Err(AppError::conflict(format!("the sandbox is {:?}, not running", sandbox.status).to_uppercase()));
        }
        let t = now();
        let row = agent_run::ActiveModel {
            id: Set(new_id()),
            sandbox_id: Set(sandbox.id),
            account_id: Set(sandbox.account_id),
            prompt: Set(input.prompt),
            status: Set(RunStatus::Running),
            claude_session_id: Set(sandbox.claude_session_id.clone()),
            cost_usd: Set(None),
            duration_ms: Set(None),
            num_turns: Set(None),
            error: Set(None),
            model: Set(input.model),
            max_turns: Set(input.max_turns),
            runner_id: Set(Some(self.manager.instance_id.clone())),
            created_at: Set(t),
            updated_at: Set(t),
        };
        let run = row.insert(&self.db).await.map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                AppError::conflict("a run is already active in this sandbox; cancel it or wait for it to finish")
            }
            _ => AppError::from(e),
        })?;
        let change =
            Change { actor: Some(viewer.account_id), entity: "agent_runs", entity_id: run.id, action: "run_started" };
        change_log::record(&self.db, change, None::<&()>, Some(&run)).await?;
        self.manager.launch(run.clone(), sandbox).await;
        Ok(run)
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
        self.manager.request_cancel(run_id).await?;
        Ok(self.manager.wait_finished(run_id, self.stop_wait()).await?.unwrap_or(run))
    }

    /// Cancels every active run of a sandbox (before it is deleted).
    pub async fn cancel_all_in(&self, sb: &VisibleSandbox) -> AppResult<()> {
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
    ) -> AppResult<Vec<StoredEvent>> {
        let max = self.limits.max_events_page;
        if limit < 0 || limit as u64 > max || after_seq < 0 {
            return Err(AppError::bad_input(format!("`first` must be 0 to {max} and `afterSeq` not negative")));
        }
        self.require(viewer, run_id).await?;
        store::after(&self.db, run_id, after_seq, limit as u64).await
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
        Ok(follow::follow(self.db.clone(), self.manager.hub.clone(), run_id, after_seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        use clap::Parser;
        #[derive(Parser)]
        struct L {
            #[command(flatten)]
            l: Limits,
        }
        L::parse_from(["x", "--max-prompt-bytes", "10", "--max-turns", "5"]).l
    }

    fn input(prompt: &str) -> StartRun {
        StartRun { prompt: prompt.into(), model: None, max_turns: None }
    }

    #[test]
    fn prompts_are_checked_against_the_limits() {
        let l = limits();
        assert!(validate(&input("hi"), &l).is_ok());
        for bad in ["", "   ", "0123456789x", "a\0b"] {
            assert_eq!(validate(&input(bad), &l).unwrap_err().code(), "BAD_USER_INPUT", "{bad:?}");
        }
    }

    #[test]
    fn model_names_and_turns_are_checked() {
        let l = limits();
        let with =
            |model: Option<&str>, turns| StartRun { model: model.map(str::to_string), max_turns: turns, ..input("x") };
        assert!(validate(&with(Some("claude-sonnet-4-5"), Some(5)), &l).is_ok());
        assert!(validate(&with(Some("--dangerous-skip"), None), &l).is_err(), "never readable as a flag");
        assert!(validate(&with(Some("a b"), None), &l).is_err());
        assert!(validate(&with(Some("x;rm"), None), &l).is_err());
        assert!(validate(&with(None, Some(0)), &l).is_err());
        assert!(validate(&with(None, Some(6)), &l).is_err());
    }
}
