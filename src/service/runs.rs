//! Claude runs as the viewer sees them: start, cancel, read, list, follow.

use std::{collections::HashMap, time::Duration};

use futures::Stream;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    SqlErr,
};
use uuid::Uuid;

use super::{
    Services,
    audit::{self, Change},
    paging::{Page, PageRequest, into_page},
    sandboxes,
};
use crate::{
    auth::Viewer,
    entity::{
        agent_run,
        enums::{RunStatus, SandboxStatus},
        new_id, now,
    },
    error::{AppError, AppResult},
    run::{follow, hub::StoredEvent, store},
};

/// What a client may choose for a run.
#[derive(Debug, Clone)]
pub struct StartRun {
    /// Where to run.
    pub sandbox_id: Uuid,
    /// What to ask.
    pub prompt: String,
    /// Model override.
    pub model: Option<String>,
    /// Turn limit.
    pub max_turns: Option<i64>,
}

/// How long cancel and delete wait for a run to stop before answering.
const STOP_WAIT: Duration = Duration::from_secs(10);

fn validate(input: &StartRun, max_prompt_bytes: usize) -> AppResult<()> {
    if input.prompt.trim().is_empty() {
        return Err(AppError::bad_input("`prompt` must not be empty"));
    }
    if input.prompt.len() > max_prompt_bytes {
        return Err(AppError::bad_input(format!("`prompt` is longer than {max_prompt_bytes} bytes")));
    }
    if input.prompt.contains('\0') {
        return Err(AppError::bad_input("`prompt` must not contain NUL characters"));
    }
    if let Some(m) = &input.model {
        let ok =
            !m.is_empty() && m.len() <= 100 && m.chars().all(|c| c.is_ascii_alphanumeric() || "._:-[]".contains(c));
        if !ok {
            return Err(AppError::bad_input("`model` must be a model name such as claude-sonnet-4-5"));
        }
    }
    if let Some(t) = input.max_turns
        && !(1..=500).contains(&t)
    {
        return Err(AppError::bad_input("`maxTurns` must be between 1 and 500"));
    }
    Ok(())
}

/// Starts a run; CONFLICT when the sandbox is not running or already has an active run.
pub async fn start(svc: &Services, viewer: &Viewer, input: StartRun) -> AppResult<agent_run::Model> {
    validate(&input, svc.runs.config().max_prompt_bytes)?;
    let sandbox = sandboxes::require(svc, viewer, input.sandbox_id).await?;
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
        runner_id: Set(Some(svc.runs.instance_id.clone())),
        created_at: Set(t),
        updated_at: Set(t),
    };
    let run = row.insert(&svc.db).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::conflict("a run is already active in this sandbox; cancel it or wait for it to finish")
        }
        _ => AppError::from(e),
    })?;
    let change =
        Change { actor: Some(viewer.account_id), entity: "agent_runs", entity_id: run.id, action: "run_started" };
    audit::record(&svc.db, change, None::<&()>, Some(&run)).await?;
    svc.runs.launch(run.clone(), &sandbox).await;
    Ok(run)
}

/// A run the viewer may see, or None.
pub async fn get(svc: &Services, viewer: &Viewer, run_id: Uuid) -> AppResult<Option<agent_run::Model>> {
    let run = agent_run::Entity::find_by_id(run_id).one(&svc.db).await?;
    Ok(run.filter(|r| viewer.can_see(r.account_id)))
}

async fn require(svc: &Services, viewer: &Viewer, run_id: Uuid) -> AppResult<agent_run::Model> {
    get(svc, viewer, run_id).await?.ok_or(AppError::NotFound("run"))
}

/// Cancels a run and waits (briefly) for it to stop; a finished run is returned as is.
pub async fn cancel(svc: &Services, viewer: &Viewer, run_id: Uuid) -> AppResult<agent_run::Model> {
    let run = require(svc, viewer, run_id).await?;
    if run.status != RunStatus::Running {
        return Ok(run);
    }
    svc.runs.request_cancel(run_id).await?;
    Ok(svc.runs.wait_finished(run_id, STOP_WAIT).await?.unwrap_or(run))
}

/// Cancels every active run of a sandbox (before it is deleted).
pub async fn cancel_all_in_sandbox(svc: &Services, sandbox_id: Uuid) -> AppResult<()> {
    let active = agent_run::Entity::find()
        .filter(agent_run::Column::SandboxId.eq(sandbox_id))
        .filter(agent_run::Column::Status.eq(RunStatus::Running))
        .all(&svc.db)
        .await?;
    for run in active {
        svc.runs.request_cancel(run.id).await?;
        svc.runs.wait_finished(run.id, STOP_WAIT).await?;
    }
    Ok(())
}

/// Runs of a sandbox the caller can see (the sandbox was already checked), newest first.
pub async fn list_for_sandbox(
    svc: &Services,
    sandbox_id: Uuid,
    page: PageRequest,
) -> AppResult<Page<agent_run::Model>> {
    let mut q = agent_run::Entity::find().filter(agent_run::Column::SandboxId.eq(sandbox_id));
    if let Some(after) = page.after {
        q = q.filter(agent_run::Column::Id.lt(after));
    }
    let rows = q.order_by_desc(agent_run::Column::Id).limit(page.first + 1).all(&svc.db).await?;
    Ok(into_page(rows, page.first))
}

/// Number of runs of a sandbox.
pub async fn count_for_sandbox(svc: &Services, sandbox_id: Uuid) -> AppResult<u64> {
    Ok(agent_run::Entity::find().filter(agent_run::Column::SandboxId.eq(sandbox_id)).count(&svc.db).await?)
}

/// The active run of each of the given (already visible) sandboxes, in one query.
pub async fn active_for_sandboxes(svc: &Services, ids: &[Uuid]) -> Result<HashMap<Uuid, agent_run::Model>, DbErr> {
    let rows = agent_run::Entity::find()
        .filter(agent_run::Column::SandboxId.is_in(ids.iter().copied()))
        .filter(agent_run::Column::Status.eq(RunStatus::Running))
        .all(&svc.db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.sandbox_id, r)).collect())
}

/// Stored events of a run after `after_seq`, at most `limit` (for history views).
pub async fn events_page(
    svc: &Services,
    viewer: &Viewer,
    run_id: Uuid,
    after_seq: i64,
    limit: u64,
) -> AppResult<Vec<StoredEvent>> {
    require(svc, viewer, run_id).await?;
    store::after(&svc.db, run_id, after_seq, limit).await
}

/// Follows a run: stored events after `after_seq`, then live ones, ending after RunFinished.
pub async fn follow(
    svc: &Services,
    viewer: &Viewer,
    run_id: Uuid,
    after_seq: i64,
) -> AppResult<impl Stream<Item = AppResult<StoredEvent>> + use<>> {
    if after_seq < 0 {
        return Err(AppError::bad_input("`afterSeq` must not be negative"));
    }
    require(svc, viewer, run_id).await?;
    Ok(follow::follow(svc.db.clone(), svc.runs.hub.clone(), run_id, after_seq))
}
