//! Starting a warm process: its place reserved first (bounds over every instance), then
//! the same `claude` command line a default run uses, in stream-json input mode, its
//! input a conversation that ends when its server is gone (see
//! `ExecRequest::conversation`); the keeper stops it when no prompt comes within the
//! idle time.

use std::{sync::Arc, time::Duration};

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::{Entry, Key, keeper};
use crate::{
    backend::{
        exec::{ExecHandle, ExecRequest},
        template::SandboxTemplate,
    },
    command::{self, ClaudeInvocation},
    config::Secret,
    db::is_postgres,
    entity::{
        agent_run,
        enums::{RunStatus, SandboxStatus},
        new_id, now, sandbox, warm_claude,
    },
    error::AppResult,
    manager::RunManager,
};

/// What a process waiting for a run is filed with.
pub(super) struct Waiting {
    pub place: Uuid,
    pub run_id: Option<Uuid>,
    pub token: Secret,
    pub key: Key,
    pub stdin: mpsc::Sender<Vec<u8>>,
    pub cost_before: Option<f64>,
}

/// Any fixed key: on Postgres, reservations take this transaction-scoped advisory lock so
/// two instances cannot both count a free place.
const RESERVE_LOCK: i64 = 0x5761_726d;
/// Lines queued for a warm process's stdin (as for a run's).
const STDIN_QUEUE: usize = 1024;

impl RunManager {
    /// What a run with these settings would start in stream-json input mode.
    pub fn warm_key(
        &self,
        sandbox: &sandbox::Model,
        template: &SandboxTemplate,
        resume: Option<&str>,
        model: Option<&str>,
        max_turns: Option<i64>,
        ask: bool,
    ) -> Key {
        let resume_at = sandbox.claude_resume_at.as_deref();
        let inv = ClaudeInvocation { prompt: "", resume, resume_at, model, max_turns, stdin_json: true, ask };
        Key {
            external_id: sandbox.external_id.clone(),
            argv: command::argv(&self.config, template, &inv),
            env: command::env(template, self.backend.runs_as_root(), ask, self.backend.gateway_env()),
        }
    }

    /// Starts a warm process for sandbox `id` if it may have one (warm starts on, the
    /// sandbox RUNNING with no active run, none waiting yet, a place free). Best effort:
    /// whatever stops it only means the next run starts cold.
    pub async fn prepare_warm(self: &Arc<Self>, sandbox_id: Uuid) {
        match self.try_prepare(sandbox_id).await {
            Ok(true) => tracing::debug!(%sandbox_id, "warm claude waiting"),
            Ok(false) => {}
            Err(e) => tracing::warn!(%sandbox_id, error = ?e.log_detail(), "could not start a warm claude"),
        }
    }

    /// The sandbox, its backend id and template when it may have a Claude waiting: warm
    /// starts on, none waiting here yet, RUNNING, not being deleted, rewound or moved, no
    /// run active.
    pub(super) async fn fit_for_warm(
        &self,
        sandbox_id: Uuid,
    ) -> AppResult<Option<(sandbox::Model, String, Arc<SandboxTemplate>)>> {
        if !self.limits.warm.warm_starts || self.warm.has(sandbox_id) {
            return Ok(None);
        }
        let Some(sb) = sandbox::Entity::find_by_id(sandbox_id).one(&self.db).await? else { return Ok(None) };
        let Some(ext) =
            sb.external_id.clone().filter(|_| sb.status == SandboxStatus::Running && sb.deleted_at.is_none())
        else {
            return Ok(None);
        };
        // A rewind or a move replaces the workspace under it: none until it is done.
        let replacing = matches!(sb.lease_kind.as_deref(), Some("rewind" | "move"));
        if replacing && sb.lease_until.is_some_and(|until| until > now()) {
            return Ok(None);
        }
        let active = agent_run::Entity::find()
            .filter(agent_run::Column::SandboxId.eq(sandbox_id))
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .count(&self.db)
            .await?;
        if active > 0 {
            return Ok(None);
        }
        let template = self.templates.of_sandbox(sb.template.as_deref())?;
        Ok(Some((sb, ext, template)))
    }

    async fn try_prepare(self: &Arc<Self>, sandbox_id: Uuid) -> AppResult<bool> {
        let Some((sb, ext, template)) = self.fit_for_warm(sandbox_id).await? else { return Ok(false) };
        let key = self.warm_key(&sb, &template, sb.claude_session_id.as_deref(), None, None, false);
        let run_id = new_id();
        if !self.reserve(&sb, run_id).await? {
            return Ok(false);
        }
        let (token, _) = crate::token::issue(run_id);
        let token = Secret(token);
        let (stdin, stdin_rx) = mpsc::channel(STDIN_QUEUE);
        let req = ExecRequest {
            argv: key.argv.clone(),
            env: key.env.clone(),
            secret_env: command::secret_env(&token),
            stdin: Some(stdin_rx),
            max_line_bytes: self.limits.max_output_line_bytes,
            nice: self.limits.background_nice as i32,
            conversation: true,
        };
        let handle = match self.backend.exec(&ext.as_str().into(), req).await {
            Ok(h) => h,
            Err(e) => {
                super::forget_place(&self.db, run_id);
                return Err(e);
            }
        };
        let waiting = Waiting { place: run_id, run_id: Some(run_id), token, key, stdin, cost_before: None };
        self.keep_waiting(sandbox_id, waiting, handle);
        Ok(true)
    }

    /// Files a process that waits for the sandbox's next run and starts its keeper.
    pub(super) fn keep_waiting(self: &Arc<Self>, sandbox_id: Uuid, w: Waiting, handle: ExecHandle) {
        let (claim, claim_rx) = oneshot::channel();
        let cancel = handle.cancel.clone();
        let place = w.place;
        let entry = Entry {
            place,
            run_id: w.run_id,
            token: w.token,
            key: w.key,
            stdin: w.stdin,
            cancel: cancel.clone(),
            claim,
            cost_before: w.cost_before,
        };
        if self.warm.lock().insert(sandbox_id, entry).is_some() {
            tracing::warn!(%sandbox_id, "two warm claudes for one sandbox; the place should have prevented it");
        }
        let limits = &self.limits.warm;
        let watch = keeper::Watch {
            sandbox_id,
            place,
            output: handle.output,
            cancel,
            claim: claim_rx,
            idle: Duration::from_secs(limits.warm_idle_secs),
            max_early_lines: limits.warm_max_early_lines,
            reused: w.run_id.is_none(),
        };
        tokio::spawn(keeper::keep(self.clone(), watch));
    }

    /// Takes a place for a warm process of `sb`: false when the account or the deployment
    /// has all it may, or the sandbox has one (on any instance).
    pub(super) async fn reserve(&self, sb: &sandbox::Model, place: Uuid) -> AppResult<bool> {
        let limits = &self.limits.warm;
        let t = now();
        let txn = crate::db::write_txn(&self.db).await?;
        if is_postgres(&self.db) {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({RESERVE_LOCK})")).await?;
        }
        // A place whose term ended counts for nothing; its process has given up.
        warm_claude::Entity::delete_many().filter(warm_claude::Column::Until.lt(t)).exec(&txn).await?;
        let held = |q: sea_orm::Select<warm_claude::Entity>| q.count(&txn);
        let mine = held(warm_claude::Entity::find().filter(warm_claude::Column::AccountId.eq(sb.account_id))).await?;
        let all = held(warm_claude::Entity::find()).await?;
        let here = held(warm_claude::Entity::find().filter(warm_claude::Column::SandboxId.eq(sb.id))).await?;
        if mine >= limits.warm_per_account || all >= limits.warm_total || here > 0 {
            return Ok(false);
        }
        let until = crate::entity::lease::Term::of(&self.limits).until();
        let place = warm_claude::ActiveModel {
            id: Set(place),
            sandbox_id: Set(sb.id),
            account_id: Set(sb.account_id),
            instance_id: Set(self.instance_id.clone()),
            holder_url: Set(self.internal_url.get().cloned()),
            until: Set(until),
            created_at: Set(t),
            updated_at: Set(t),
        };
        place.insert(&txn).await?;
        txn.commit().await?;
        Ok(true)
    }
}
