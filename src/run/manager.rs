//! The runs this instance executes: launching, cancelling, and start-up recovery.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, Statement};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    command::{self, ClaudeInvocation},
    events::EventBody,
    hub::RunHub,
    store, supervisor,
    writer::EventWriter,
};
use crate::{
    backend::{Backend, exec::ExecRequest, template},
    config::{Limits, RunConfig},
    db::is_postgres,
    entity::{agent_run, enums::RunStatus, now, sandbox},
    error::AppResult,
};

/// Postgres channel asking whichever instance executes a run to cancel it.
pub const CANCEL_CHANNEL: &str = "sandboxql_run_cancel";

/// Executes runs on this instance and knows which ones are live here.
pub struct RunManager {
    pub(super) db: DatabaseConnection,
    pub(super) backend: Arc<dyn Backend>,
    /// Live fan-out shared with subscribers.
    pub hub: Arc<RunHub>,
    pub(super) config: RunConfig,
    pub(super) limits: Arc<Limits>,
    /// Name of this instance, stamped on the runs it executes.
    pub instance_id: String,
    active: Mutex<HashMap<Uuid, CancellationToken>>,
}

impl RunManager {
    /// A manager with no runs yet.
    pub fn new(
        db: DatabaseConnection,
        backend: Arc<dyn Backend>,
        config: RunConfig,
        limits: Arc<Limits>,
        instance_id: String,
    ) -> Arc<Self> {
        let hub = Arc::new(RunHub::new(limits.live_events_buffer));
        Arc::new(Self { db, backend, hub, config, limits, instance_id, active: Mutex::default() })
    }

    /// Starts `claude` for a freshly inserted RUNNING run and supervises it in the
    /// background; the run outlives any subscriber.
    pub async fn launch(self: &Arc<Self>, run: agent_run::Model, sandbox: &sandbox::Model) {
        let cancel = CancellationToken::new();
        self.lock().insert(run.id, cancel.clone());
        let handle = match (&sandbox.external_id, template::for_provider(sandbox.provider, sandbox.agent_id)) {
            (Some(ext), Ok(template)) => {
                let inv = ClaudeInvocation {
                    prompt: &run.prompt,
                    resume: sandbox.claude_session_id.as_deref(),
                    model: run.model.as_deref(),
                    max_turns: run.max_turns,
                };
                let req = ExecRequest {
                    argv: command::argv(&self.config, &template, &inv),
                    env: command::env(&self.config, &template, self.backend.runs_as_root()),
                    secret_env: command::secret_env(&self.config),
                    stdin: None,
                    max_line_bytes: self.limits.max_output_line_bytes,
                };
                self.backend.exec(ext, req).await
            }
            (None, _) => Err(crate::error::AppError::conflict("the sandbox has no backend sandbox")),
            (_, Err(e)) => Err(e),
        };
        let me = self.clone();
        tokio::spawn(async move { supervisor::supervise(me, run, handle, cancel).await });
    }

    /// Cancels a run executing on this instance; false when it is not here.
    pub fn cancel_local(&self, run_id: Uuid) -> bool {
        match self.lock().get(&run_id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels a run wherever it executes: here directly, elsewhere through Postgres.
    pub async fn request_cancel(&self, run_id: Uuid) -> AppResult<()> {
        if !self.cancel_local(run_id) && is_postgres(&self.db) {
            let stmt = Statement::from_sql_and_values(
                self.db.get_database_backend(),
                "SELECT pg_notify($1, $2)",
                [CANCEL_CHANNEL.into(), run_id.to_string().into()],
            );
            self.db.execute_raw(stmt).await?;
        }
        Ok(())
    }

    /// Waits until the run's row leaves RUNNING, up to `timeout`; returns the row.
    pub async fn wait_finished(&self, run_id: Uuid, timeout: Duration) -> AppResult<Option<agent_run::Model>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let row = agent_run::Entity::find_by_id(run_id).one(&self.db).await?;
            let done = row.as_ref().is_none_or(|r| r.status != RunStatus::Running);
            if done || tokio::time::Instant::now() >= deadline {
                return Ok(row);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether the run executes on this instance.
    pub fn is_local(&self, run_id: Uuid) -> bool {
        self.lock().contains_key(&run_id)
    }

    pub(super) fn finished(&self, run_id: Uuid) {
        self.lock().remove(&run_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, CancellationToken>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks runs a dead server left RUNNING as INTERRUPTED, closing each event stream
    /// with a RunFinished so replays end. On Postgres only this instance's own runs are
    /// touched; other instances may still be executing theirs.
    pub async fn recover_interrupted(&self) -> AppResult<usize> {
        let mut q = agent_run::Entity::find().filter(agent_run::Column::Status.eq(RunStatus::Running));
        if is_postgres(&self.db) {
            q = q.filter(
                Condition::any()
                    .add(agent_run::Column::RunnerId.eq(self.instance_id.clone()))
                    .add(agent_run::Column::RunnerId.is_null()),
            );
        }
        let stale = q.all(&self.db).await?;
        for run in &stale {
            let last = store::last_seq(&self.db, run.id).await?;
            let mut writer = EventWriter::new(self.db.clone(), self.hub.clone(), run.id, last, is_postgres(&self.db));
            let error = "the server stopped while this run was in progress".to_string();
            let finished = EventBody::RunFinished {
                status: "INTERRUPTED".into(),
                subtype: None,
                is_error: true,
                result: None,
                duration_ms: Some((now() - run.created_at).num_milliseconds()),
                num_turns: run.num_turns,
                total_cost_usd: run.cost_usd,
                usage: None,
                exit_code: None,
                error: Some(error.clone()),
            };
            let mut am: agent_run::ActiveModel = run.clone().into();
            am.status = Set(RunStatus::Interrupted);
            am.error = Set(Some(error));
            am.updated_at = Set(now());
            writer.finish(finished, am).await?;
        }
        if !stale.is_empty() {
            tracing::warn!(count = stale.len(), "marked runs left by a stopped server INTERRUPTED");
        }
        Ok(stale.len())
    }
}
