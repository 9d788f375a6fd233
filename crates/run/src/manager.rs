//! The runs this instance executes: launching, cancelling, and start-up recovery.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::{
    command::{self, ClaudeInvocation},
    hub::RunHub,
    notify::{self, Notice},
    outcome::Stop,
    supervisor,
    warm::Claimed,
};
use crate::{
    backend::{Backend, exec::ExecRequest, template::Templates},
    config::{Limits, RunConfig, Secret},
    db::is_postgres,
    entity::{
        agent_run,
        enums::{RunPermissionMode, RunStatus},
        lease::{self, Term},
        sandbox,
    },
    error::AppResult,
};

/// Lines queued for a run's stdin: room for the replies to a whole batch of Claude's output
/// (the supervisor answers a batch before the writer runs); a Claude that stops reading
/// has its input closed past it.
const STDIN_QUEUE: usize = 1024;

/// A run executing here: how to stop it and how to tell it inputs wait.
#[derive(Clone)]
struct Live {
    cancel: CancellationToken,
    wake: Arc<Notify>,
}

/// Executes runs on this instance and knows which ones are live here.
pub struct RunManager {
    pub(super) db: DatabaseConnection,
    pub(super) backend: Arc<dyn Backend>,
    /// Live fan-out shared with subscribers.
    pub hub: Arc<RunHub>,
    pub(super) config: RunConfig,
    pub(super) limits: Arc<Limits>,
    /// The templates sandboxes are made from (their Claude settings).
    pub templates: Arc<Templates>,
    /// Name of this instance, stamped on the runs it executes.
    pub instance_id: String,
    active: Mutex<HashMap<Uuid, Live>>,
    /// Set when the server shuts down: local runs end INTERRUPTED with this reason.
    shutdown: Mutex<Option<String>>,
    /// Cancels that arrived for runs not (yet) executing here: a run recorded but not
    /// launched when its sandbox's delete cancelled it is stopped as soon as it starts.
    precancelled: Mutex<HashMap<Uuid, std::time::Instant>>,
    /// Warm Claude processes started here, waiting for their sandbox's next run.
    pub warm: super::warm::Pool,
    /// What is done at each turn's end (checkpoints), once set.
    pub turn_hook: super::turns::SharedHook,
    /// This instance's internal address, once it serves one: put on its warm places so
    /// other instances hand it their runs.
    pub internal_url: std::sync::OnceLock<String>,
}

impl RunManager {
    /// A manager with no runs yet.
    pub fn new(
        db: DatabaseConnection,
        backend: Arc<dyn Backend>,
        config: RunConfig,
        limits: Arc<Limits>,
        templates: Arc<Templates>,
        instance_id: String,
    ) -> Arc<Self> {
        let hub = Arc::new(RunHub::new(limits.live_events_buffer));
        let (active, shutdown, precancelled) = (Mutex::default(), Mutex::default(), Mutex::default());
        let warm = super::warm::Pool::default();
        Arc::new(Self {
            db,
            backend,
            hub,
            config,
            limits,
            templates,
            instance_id,
            active,
            shutdown,
            precancelled,
            warm,
            turn_hook: Default::default(),
            internal_url: Default::default(),
        })
    }

    /// The sandbox's warm process, if one waits here and fits a run with these settings
    /// (one that does not fit is stopped).
    pub fn claim_warm(
        &self,
        sandbox: &sandbox::Model,
        model: Option<&str>,
        max_turns: Option<i64>,
        ask: bool,
    ) -> Option<Claimed> {
        let template = self.templates.of_sandbox(sandbox.template.as_deref()).ok()?;
        let key = self.warm_key(sandbox, &template, sandbox.claude_session_id.as_deref(), model, max_turns, ask);
        self.warm.claim(&self.db, sandbox.id, &key)
    }

    /// Starts `claude` for a freshly inserted RUNNING run (or takes over the `warm`
    /// process it was recorded for) and supervises it in the background; the run
    /// outlives any subscriber.
    pub async fn launch(
        self: &Arc<Self>,
        run: agent_run::Model,
        sandbox: &sandbox::Model,
        token: Secret,
        warm: Option<Claimed>,
    ) {
        let cancel = CancellationToken::new();
        let wake = Arc::new(Notify::new());
        self.lock().insert(run.id, Live { cancel: cancel.clone(), wake: wake.clone() });
        if self.precancelled.lock().unwrap_or_else(|p| p.into_inner()).remove(&run.id).is_some() {
            cancel.cancel();
        }
        if let Some(w) = warm {
            let me = self.clone();
            let io =
                supervisor::RunIo { cancel, stdin: Some(w.stdin), wake, token: w.token, cost_before: w.cost_before };
            tokio::spawn(async move { supervisor::supervise(me, run, Ok(w.handle), io).await });
            return;
        }
        // Interactive and ASK runs talk to Claude over stdin (stream-json messages).
        let talks = run.interactive || run.permission_mode == RunPermissionMode::Ask;
        let (stdin_tx, mut stdin_rx) = match talks {
            true => {
                let (tx, rx) = mpsc::channel(STDIN_QUEUE);
                (Some(tx), Some(rx))
            }
            false => (None, None),
        };
        let handle = match (&sandbox.external_id, self.templates.of_sandbox(sandbox.template.as_deref())) {
            (Some(ext), Ok(template)) => {
                let ask = run.permission_mode == RunPermissionMode::Ask;
                let inv = ClaudeInvocation {
                    prompt: &run.prompt,
                    resume: sandbox.claude_session_id.as_deref(),
                    resume_at: sandbox.claude_resume_at.as_deref(),
                    model: run.model.as_deref(),
                    max_turns: run.max_turns,
                    stdin_json: stdin_tx.is_some(),
                    ask,
                };
                let req = ExecRequest {
                    argv: command::argv(&self.config, &template, &inv),
                    env: command::env(&template, self.backend.runs_as_root(), ask, self.backend.gateway_env()),
                    secret_env: command::secret_env(&token),
                    stdin: stdin_rx.take(),
                    max_line_bytes: self.limits.max_output_line_bytes,
                    nice: self.limits.background_nice as i32,
                    conversation: stdin_tx.is_some(),
                };
                self.backend.exec(&ext.as_str().into(), req).await
            }
            (None, _) => Err(crate::error::AppError::conflict_because(
                crate::error::reasons::NO_WORKSPACE,
                "the sandbox has no workspace (it failed to start)",
            )),
            (_, Err(e)) => Err(e),
        };
        let me = self.clone();
        let io = supervisor::RunIo { cancel, stdin: stdin_tx, wake, token, cost_before: None };
        tokio::spawn(async move { supervisor::supervise(me, run, handle, io).await });
    }

    /// Cancels a run executing here, or remembers the cancel for a minute in case the run
    /// is about to be launched here; true when it was running here.
    pub fn cancel_or_remember(&self, run_id: Uuid) -> bool {
        if self.cancel_local(run_id) {
            return true;
        }
        {
            let mut pre = self.precancelled.lock().unwrap_or_else(|p| p.into_inner());
            pre.retain(|_, at| at.elapsed() < Duration::from_secs(60));
            pre.insert(run_id, std::time::Instant::now());
        }
        // It may have been launched between the two looks.
        self.cancel_local(run_id)
    }

    /// Cancels a run executing on this instance; false when it is not here.
    pub fn cancel_local(&self, run_id: Uuid) -> bool {
        match self.lock().get(&run_id) {
            Some(live) => {
                live.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Tells a run executing here that inputs wait for it; false when it is not here.
    pub fn wake_local(&self, run_id: Uuid) -> bool {
        match self.lock().get(&run_id) {
            Some(live) => {
                live.wake.notify_one();
                true
            }
            None => false,
        }
    }

    /// Tells the run, wherever it executes, that inputs wait for it (here directly,
    /// elsewhere through Postgres; its own poll finds them in any case).
    pub async fn request_wake(&self, run_id: Uuid) -> AppResult<()> {
        if self.wake_local(run_id) || !is_postgres(&self.db) {
            return Ok(());
        }
        notify::send(&self.db, Notice::Input(run_id)).await
    }

    /// Cancels a run wherever it executes: here directly, elsewhere through Postgres (and
    /// remembered briefly, in case it is about to be launched here).
    pub async fn request_cancel(&self, run_id: Uuid) -> AppResult<()> {
        if self.cancel_or_remember(run_id) {
            return Ok(());
        }
        notify::send(&self.db, Notice::Cancel(run_id)).await
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

    /// Why local runs are being stopped, when the server is shutting down.
    pub(super) fn stop_reason(&self) -> Option<Stop> {
        self.shutdown.lock().unwrap_or_else(|p| p.into_inner()).clone().map(Stop::Interrupted)
    }

    /// Renews this instance's lease on a run; false when the lease is lost (the run was
    /// ended elsewhere). A database error keeps the run going: if it lasts, the lease
    /// simply expires and the run is taken over.
    pub(super) async fn renew_lease(&self, run_id: Uuid) -> bool {
        let until = Term::of(&self.limits).until();
        let running = agent_run::Column::Status.eq(RunStatus::Running);
        match lease::renew::<agent_run::Entity>(&self.db, run_id, &self.instance_id, until, running).await {
            Ok(renewed) => renewed,
            Err(e) => {
                tracing::warn!(%run_id, error = %e, "could not renew a run lease");
                true
            }
        }
    }

    /// Stops every run executing here; each ends INTERRUPTED with `reason`. Waits up to
    /// `wait` for them to be recorded.
    pub async fn interrupt_all(&self, reason: &str, wait: Duration) {
        *self.shutdown.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.to_string());
        self.warm.discard_all(&self.db);
        for live in self.lock().values() {
            live.cancel.cancel();
        }
        let deadline = tokio::time::Instant::now() + wait;
        while !self.lock().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub(super) fn finished(&self, run_id: Uuid) {
        self.lock().remove(&run_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Live>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }
}
