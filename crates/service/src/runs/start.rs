//! Starting a run: checked input, then in one transaction the sandbox locked and checked
//! RUNNING (a delete that began makes it DELETING, so no run slips in), the run row with
//! its lease, its audit row and its first event; then the process, in its own task.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};

use uuid::Uuid;

use super::Runs;
use crate::{
    auth::{Viewer, run_token},
    config::{Limits, Secret},
    entity::{
        agent_run,
        change_log::{self, Change},
        constraints,
        enums::{RunPermissionMode, RunStatus, SandboxStatus},
        lease::Term,
        new_id, now, sandbox, warm_claude,
    },
    error::{AppError, AppResult, reasons},
    run::{events::EventBody, store},
    work,
    {accounts::lock_account, billing::budgets, sandboxes::VisibleSandbox},
};

/// What a client may choose for a run.
#[derive(Debug, Clone, Default)]
pub struct StartRun {
    /// What to ask.
    pub prompt: String,
    /// Model override.
    pub model: Option<String>,
    /// Turn limit.
    pub max_turns: Option<i64>,
    /// Whether tool calls run at once or wait for an answer.
    pub permission_mode: RunPermissionMode,
    /// Whether the run stays open for follow-ups after a turn (until idle or `endRun`).
    pub interactive: bool,
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

impl Runs {
    /// Starts a run; CONFLICT when the sandbox is not running (or being deleted) or
    /// already has an active run. Finishes in its own task: a client that goes away
    /// leaves either a started run or none.
    pub async fn start(
        &self,
        viewer: &Viewer,
        sandbox: &VisibleSandbox,
        input: StartRun,
    ) -> AppResult<agent_run::Model> {
        validate(&input, &self.limits)?;
        if let Some(run) = self.hand_over(viewer, sandbox, &input).await? {
            return Ok(run);
        }
        self.start_here(viewer, sandbox, input).await
    }

    /// Starts a run on this instance (on its warm Claude when one fits).
    pub(super) async fn start_here(
        &self,
        viewer: &Viewer,
        sandbox: &VisibleSandbox,
        input: StartRun,
    ) -> AppResult<agent_run::Model> {
        validate(&input, &self.limits)?;
        let (this, viewer, sandbox) = (self.clone(), viewer.clone(), sandbox.clone());
        work::detached(async move {
            // A sleeping sandbox (or one whose backend sandbox ended unnoticed) is woken,
            // once, however many starts and writes ask.
            let sandbox = this.waker.ready(&sandbox).await?;
            // A warm Claude that fits takes the run: its token becomes the run's.
            let ask = input.permission_mode == RunPermissionMode::Ask;
            let warm = this.manager.claim_warm(&sandbox, input.model.as_deref(), input.max_turns, ask);
            let preset = warm.as_ref().map(|w| (w.place, w.run_id, w.token.clone()));
            let (run, token) = match this.record_start(&viewer, &sandbox, input, preset).await {
                Ok(started) => started,
                Err(e) => {
                    if let Some(w) = warm {
                        w.handle.cancel.cancel();
                    }
                    return Err(e);
                }
            };
            this.manager.launch(run.clone(), &sandbox, token, warm).await;
            Ok(run)
        })
        .await
    }

    async fn record_start(
        &self,
        viewer: &Viewer,
        sandbox: &VisibleSandbox,
        input: StartRun,
        preset: Option<(Uuid, Option<Uuid>, Secret)>,
    ) -> AppResult<(agent_run::Model, Secret)> {
        let t = now();
        let txn = crate::entity::db::write_txn(&self.db).await?;
        // The account row first (as creates do): two starts of one account wait for each
        // other, so its budget's concurrency and spend checks cannot both pass at once.
        lock_account(&txn, sandbox.account_id).await?;
        budgets::check_start(&txn, sandbox.account_id, t).await?;
        // Locks the sandbox row (Postgres) or the database (SQLite) until commit, and
        // succeeds only while the sandbox is RUNNING: a delete's DELETING wins or waits.
        let running = sandbox::Entity::update_many()
            .col_expr(sandbox::Column::UpdatedAt, Expr::value(t))
            .filter(sandbox::Column::Id.eq(sandbox.id))
            .filter(sandbox::Column::Status.eq(SandboxStatus::Running))
            .filter(sandbox::Column::DeletedAt.is_null())
            .filter(not_rewinding(t))
            .exec(&txn)
            .await?;
        if running.rows_affected == 0 {
            let row = sandbox::Entity::find_by_id(sandbox.id).one(&txn).await?;
            if row.is_some_and(|r| r.status == SandboxStatus::Running && r.lease_kind.as_deref() == Some("rewind")) {
                return Err(AppError::conflict_because(
                    reasons::LEASE_HELD,
                    "the sandbox is being rewound; retry shortly",
                ));
            }
            return Err(AppError::conflict_because(
                reasons::NOT_RUNNING,
                "the sandbox is not running (it may be being deleted)",
            ));
        }
        let (id, token, token_hash) = match preset {
            // A warm process's: its place is given up with this insert. One started warm
            // names this run's id; one an earlier run left names that run.
            Some((place, run_id, token)) => {
                warm_claude::Entity::delete_by_id(place).exec(&txn).await?;
                let hash = run_token::hash(&token.0);
                (run_id.unwrap_or_else(new_id), token.0, hash)
            }
            None => {
                let id = new_id();
                let (token, hash) = run_token::issue(id);
                (id, token, hash)
            }
        };
        let row = agent_run::ActiveModel {
            id: Set(id),
            sandbox_id: Set(sandbox.id),
            account_id: Set(sandbox.account_id),
            prompt: Set(input.prompt),
            status: Set(RunStatus::Running),
            claude_session_id: Set(sandbox.claude_session_id.clone()),
            cost_usd: Set(None),
            duration_ms: Set(None),
            num_turns: Set(None),
            error: Set(None),
            model: Set(input.model.clone()),
            max_turns: Set(input.max_turns),
            runner_id: Set(Some(self.manager.instance_id.clone())),
            lease_until: Set(Some(t + Term::of(&self.limits).length)),
            gateway_token_sha256: Set(Some(token_hash)),
            stop_reason: Set(None),
            permission_mode: Set(input.permission_mode),
            interactive: Set(input.interactive),
            events_compacted_at: Set(None),
            created_at: Set(t),
            updated_at: Set(t),
        };
        let run = row.insert(&txn).await.map_err(|e| match constraints::unique_violated(&e) {
            Some(&constraints::ONE_RUNNING_RUN) => AppError::conflict_because(
                reasons::RUN_ACTIVE,
                "a run is already active in this sandbox; cancel it or wait for it to finish",
            ),
            _ => AppError::from(e),
        })?;
        let change =
            Change { actor: Some(viewer.account_id), entity: "agent_runs", entity_id: run.id, action: "run_started" };
        change_log::record(&txn, change, None::<&()>, Some(&run)).await?;
        let first = EventBody::RunStarted { model: input.model, resume_session_id: sandbox.claude_session_id.clone() };
        store::append(&txn, run.id, &[(1, first)]).await?;
        crate::entity::webhook_event::of_run(&txn, crate::entity::webhook_event::RUN_STARTED, &run, None).await?;
        txn.commit().await?;
        Ok((run, Secret(token)))
    }
}

/// No rewind holds the sandbox now (a run must not start on a half-rewound workspace).
fn not_rewinding(t: chrono::DateTime<chrono::Utc>) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(sandbox::Column::LeaseKind.is_null())
        .add(sandbox::Column::LeaseKind.ne("rewind"))
        .add(sandbox::Column::LeaseUntil.is_null())
        .add(sandbox::Column::LeaseUntil.lt(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

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
        StartRun { prompt: prompt.into(), model: None, max_turns: None, ..Default::default() }
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
