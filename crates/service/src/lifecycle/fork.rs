//! Forking a sandbox at a checkpoint: a new sandbox of the same account (quota counted,
//! same template) made like one restored from a snapshot, with the checkpoint's files and
//! its session put back, resuming at the checkpoint's message in a session of its own
//! (the first run forks it), so the original and the fork never change each other.

use super::Lifecycle;
use crate::{
    auth::Viewer,
    checkpoints::VisibleCheckpoint,
    entity::new_id,
    error::{AppError, AppResult},
    lifecycle::create::{CreateSandbox, validate_name},
    sandboxes::VisibleSandbox,
    work,
};

impl Lifecycle {
    /// A new sandbox from checkpoint `cp` of `sb`, named `name` (or a default).
    pub async fn fork(
        &self,
        viewer: &Viewer,
        sb: &VisibleSandbox,
        cp: &VisibleCheckpoint,
        name: Option<String>,
    ) -> AppResult<VisibleSandbox> {
        viewer.require_writer()?;
        if cp.sandbox_id != sb.id {
            return Err(AppError::NotFound("checkpoint"));
        }
        let id = new_id();
        let name = validate_name(name.as_deref(), id, self.limits.max_name_chars)?;
        let template = self.templates.pick(sb.template.as_deref(), sb.provider)?;
        let input = CreateSandbox {
            provider: sb.provider,
            template: sb.template.clone(),
            agent_id: sb.agent_id,
            name: Some(name.clone()),
            from_snapshot: None,
            git: None,
            allow_partial: false,
        };
        let (this, viewer, cp) = (self.clone(), viewer.clone(), cp.clone());
        work::detached(async move { this.create_now(&viewer, id, name, template, input, Some(&cp)).await }).await
    }
}
