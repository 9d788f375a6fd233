//! Talking to a running Claude: follow-up messages, interrupts, ending, and answers to its
//! tool permission requests. Each is checked against the viewer (another account's run is
//! NOT_FOUND), queued in the database atomically with the check that the run still runs,
//! and the run's executor — on whichever instance — is woken to deliver it.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use super::Runs;
use crate::{
    auth::Viewer,
    entity::{
        agent_run,
        change_log::{self, Change},
        enums::{PermissionStatus, RunStatus},
        permission_request,
    },
    error::{AppError, AppResult, reasons},
    run::interactive::inputs::{self, Answer, InputKind},
};

/// A user's answer to a permission request.
#[derive(Debug, Clone)]
pub struct PermissionAnswer {
    /// Claude's request id (from PermissionRequested).
    pub request_id: String,
    /// Whether the tool may run.
    pub allow: bool,
    /// Input to run the tool with instead of Claude's (allow only).
    pub updated_input: Option<Value>,
    /// What Claude is told on a denial.
    pub message: Option<String>,
}

fn status_word(s: PermissionStatus) -> &'static str {
    match s {
        PermissionStatus::Pending => "pending",
        PermissionStatus::Allowed => "allowed",
        PermissionStatus::Denied => "denied",
        PermissionStatus::TimedOut => "timed out",
        PermissionStatus::Withdrawn => "withdrawn",
    }
}

impl Runs {
    /// A run of the viewer's that still runs and talks over stdin, for writers only.
    async fn require_talking(&self, viewer: &Viewer, run_id: Uuid) -> AppResult<agent_run::Model> {
        viewer.require_writer()?;
        let run = self.require(viewer, run_id).await?;
        // An admin sees every run, but only the run's own account talks to its Claude.
        if run.account_id != viewer.account_id {
            return Err(AppError::Forbidden("only the run's account can send it input or answer it".into()));
        }
        if run.status != RunStatus::Running {
            return Err(AppError::conflict_because(reasons::RUN_ENDED, "the run has ended"));
        }
        if !run.interactive && run.permission_mode == crate::entity::enums::RunPermissionMode::Bypass {
            return Err(AppError::conflict_because(
                reasons::NOT_INTERACTIVE,
                "the run does not take input; start it with `interactive: true`",
            ));
        }
        Ok(run)
    }

    async fn queue(&self, viewer: &Viewer, run_id: Uuid, kind: InputKind, text: Option<String>) -> AppResult<()> {
        let run = self.require_talking(viewer, run_id).await?;
        let max = self.limits.max_pending_run_inputs;
        inputs::enqueue(&self.db, run.id, viewer.account_id, kind, text, max).await?;
        self.manager.request_wake(run.id).await
    }

    async fn current(&self, viewer: &Viewer, run_id: Uuid) -> AppResult<agent_run::Model> {
        self.require(viewer, run_id).await
    }

    /// Sends a user message to a running run: Claude answers it in the same session, after
    /// the current turn if one is in progress.
    pub async fn send_message(&self, viewer: &Viewer, run_id: Uuid, text: String) -> AppResult<agent_run::Model> {
        super::validate(&super::StartRun { prompt: text.clone(), ..Default::default() }, &self.limits)
            .map_err(|e| AppError::bad_input(e.public_message().replace("`prompt`", "`text`")))?;
        self.queue(viewer, run_id, InputKind::Message, Some(text)).await?;
        self.current(viewer, run_id).await
    }

    /// Stops Claude's current turn; the run and its session go on (an interactive run
    /// waits for the next message).
    pub async fn interrupt(&self, viewer: &Viewer, run_id: Uuid) -> AppResult<agent_run::Model> {
        self.queue(viewer, run_id, InputKind::Interrupt, None).await?;
        self.current(viewer, run_id).await
    }

    /// Ends the run once Claude's current turn is over.
    pub async fn end(&self, viewer: &Viewer, run_id: Uuid) -> AppResult<agent_run::Model> {
        self.queue(viewer, run_id, InputKind::End, None).await?;
        self.current(viewer, run_id).await
    }

    /// Answers a pending permission request; the first answer counts (CONFLICT for a
    /// request already answered, timed out or withdrawn). Audited with the answer.
    pub async fn answer_permission(
        &self,
        viewer: &Viewer,
        run_id: Uuid,
        a: PermissionAnswer,
    ) -> AppResult<agent_run::Model> {
        let run = self.require_talking(viewer, run_id).await?;
        let max = self.limits.max_prompt_bytes;
        let input_len = a.updated_input.as_ref().map_or(0, |v| v.to_string().len());
        if a.message.as_ref().is_some_and(|m| m.len() as u64 > max) || input_len as u64 > max {
            return Err(AppError::bad_input(format!("`message` and `updatedInput` are limited to {max} bytes")));
        }
        if a.updated_input.as_ref().is_some_and(|v| !v.is_object()) {
            return Err(AppError::bad_input("`updatedInput` must be a JSON object (the tool's input)"));
        }
        let answer = Answer {
            status: if a.allow { PermissionStatus::Allowed } else { PermissionStatus::Denied },
            by: Some(viewer.account_id),
            message: a.message.filter(|_| !a.allow),
            updated_input: a.updated_input.filter(|_| a.allow),
        };
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let find = || {
            permission_request::Entity::find()
                .filter(permission_request::Column::RunId.eq(run.id))
                .filter(permission_request::Column::RequestId.eq(a.request_id.clone()))
        };
        let Some(before) = find().one(&txn).await? else { return Err(AppError::NotFound("permission request")) };
        if !inputs::resolve(&txn, run.id, &a.request_id, &answer).await? {
            let now = find().one(&txn).await?.map_or(before.status, |r| r.status);
            return Err(AppError::conflict_because(
                reasons::ALREADY_ANSWERED,
                format!("the request is no longer pending ({})", status_word(now)),
            ));
        }
        let after = find().one(&txn).await?;
        let action = if a.allow { "permission_allowed" } else { "permission_denied" };
        let change =
            Change { actor: Some(viewer.account_id), entity: "permission_requests", entity_id: before.id, action };
        change_log::record(&txn, change, Some(&before), after.as_ref()).await?;
        txn.commit().await?;
        self.manager.request_wake(run.id).await?;
        self.current(viewer, run_id).await
    }

    /// The run's permission requests still waiting for an answer, oldest first.
    pub async fn pending_permissions(&self, run: &agent_run::Model) -> AppResult<Vec<permission_request::Model>> {
        use sea_orm::QueryOrder;
        Ok(permission_request::Entity::find()
            .filter(permission_request::Column::RunId.eq(run.id))
            .filter(permission_request::Column::Status.eq(PermissionStatus::Pending))
            .order_by_asc(permission_request::Column::CreatedAt)
            .all(&self.db)
            .await?)
    }
}
