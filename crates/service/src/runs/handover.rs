//! Handing a run to the instance whose warm Claude waits for its sandbox. A warm process
//! lives in the instance that started it, but the next request for its sandbox may reach
//! any instance; that one asks the holder (over the internal channel, at the address on
//! the warm place) to start the run, so the warm start is not lost to routing. The
//! holder starts it as it would its own request — the run, its supervision and its
//! events are the same wherever it was asked — and the asking instance answers with the
//! run row. When the holder cannot be reached the run starts cold where it was asked.

use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Runs, StartRun};
use crate::{
    auth::Viewer,
    backend::remote::client::Remote,
    entity::{
        agent_run,
        enums::{Role, RunPermissionMode},
        now, warm_claude,
    },
    error::{AppError, AppResult, reasons},
    sandboxes::{self, VisibleSandbox},
};

/// The internal route a handed run goes to.
pub const ROUTE: &str = "runs";

/// A run asked of another instance: who asks (already checked where it was asked), in
/// which sandbox, and what.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandedRun {
    /// The asking viewer's account.
    pub account_id: Uuid,
    /// Its organization.
    pub organization_id: Option<Uuid>,
    /// Its role.
    pub role: Role,
    /// The sandbox.
    pub sandbox_id: Uuid,
    /// What to ask.
    pub prompt: String,
    /// Model override.
    pub model: Option<String>,
    /// Turn limit.
    pub max_turns: Option<i64>,
    /// How tool calls are permitted.
    pub permission_mode: RunPermissionMode,
    /// Whether the run stays open for follow-ups.
    pub interactive: bool,
}

/// The holder's answer: the run it started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HandedRunStarted {
    /// The run's id.
    pub run_id: Uuid,
}

impl Runs {
    /// These runs handing runs to the instance that holds their sandbox's warm Claude.
    pub fn with_handover(mut self, remote: Remote) -> Self {
        self.handover = Some(remote);
        self
    }

    /// The internal address of another instance whose warm Claude waits for the sandbox
    /// (its place still renewed), if there is one.
    async fn warm_elsewhere(&self, sandbox_id: Uuid) -> AppResult<Option<String>> {
        let place = warm_claude::Entity::find()
            .filter(warm_claude::Column::SandboxId.eq(sandbox_id))
            .filter(warm_claude::Column::Until.gt(now()))
            .one(&self.db)
            .await?;
        Ok(place.filter(|p| p.instance_id != self.manager.instance_id).and_then(|p| p.holder_url))
    }

    /// Asks the instance holding the sandbox's warm Claude to start the run: the run, or
    /// None when none holds one or the holder is unreachable (the run then starts here).
    pub(super) async fn hand_over(
        &self,
        viewer: &Viewer,
        sb: &VisibleSandbox,
        input: &StartRun,
    ) -> AppResult<Option<agent_run::Model>> {
        let Some(remote) = &self.handover else { return Ok(None) };
        if !self.limits.warm.warm_starts || self.manager.warm.has(sb.id) {
            return Ok(None);
        }
        let Some(url) = self.warm_elsewhere(sb.id).await? else { return Ok(None) };
        let asked = HandedRun {
            account_id: viewer.account_id,
            organization_id: viewer.organization_id,
            role: viewer.role,
            sandbox_id: sb.id,
            prompt: input.prompt.clone(),
            model: input.model.clone(),
            max_turns: input.max_turns,
            permission_mode: input.permission_mode,
            interactive: input.interactive,
        };
        let wait = Duration::from_millis(self.limits.request_timeout_ms);
        let started: HandedRunStarted = match remote.post_json(&url, ROUTE, &asked, wait).await {
            Ok(started) => started,
            Err(e) if e.reason() == Some(reasons::HOST_UNAVAILABLE) => {
                tracing::warn!(sandbox_id = %sb.id, "the instance holding a warm claude did not answer; starting here");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let run = agent_run::Entity::find_by_id(started.run_id).one(&self.db).await?;
        run.map(Some).ok_or(AppError::NotFound("run"))
    }

    /// Starts a run another instance handed here (its viewer checked there); never
    /// hands it on.
    pub async fn start_handed(&self, asked: HandedRun) -> AppResult<HandedRunStarted> {
        let viewer = Viewer {
            account_id: asked.account_id,
            organization_id: asked.organization_id,
            role: asked.role,
            read_only: false,
        };
        let sb = sandboxes::require(&self.db, &viewer, asked.sandbox_id).await?;
        let input = StartRun {
            prompt: asked.prompt,
            model: asked.model,
            max_turns: asked.max_turns,
            permission_mode: asked.permission_mode,
            interactive: asked.interactive,
        };
        let run = self.start_here(&viewer, &sb, input).await?;
        Ok(HandedRunStarted { run_id: run.id })
    }
}
