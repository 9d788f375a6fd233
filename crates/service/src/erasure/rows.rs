//! Deleting an erased account's rows, table by table, children before parents, in bounded
//! batches (`DELETE … WHERE id IN (SELECT id … LIMIT n)`, which both databases run), each
//! counted and paced by the lease holder. The same tables are cleared for one sandbox (as
//! the erasure reaches it) and then for the whole account (whatever a sandbox left, and
//! the account's own rows). Audit records about the account's rows go too; records of
//! what the account did to others' rows lose its id.

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, QueryTrait, sea_query::Expr,
    sea_query::SelectStatement,
};
use uuid::Uuid;

use super::{ERASE_ACTION, Erasure, held::Held};
use crate::{
    entity::{
        account_budget, account_credential, account_retention, agent_run, agent_run_event, api_token, blob, blob_gate,
        change_log, checkpoint, permission_request, process_output, run_input, sandbox, sandbox_preview,
        sandbox_process, snapshot, usage_record, warm_claude, webhook, webhook_delivery, webhook_event,
    },
    error::AppResult,
};

/// Whose rows: one sandbox's, or everything of the account.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope {
    /// The rows of one sandbox.
    Sandbox(Uuid),
    /// Every row of the account.
    Account(Uuid),
}

impl Scope {
    /// `sandbox_col = id` or `account_col = id`.
    fn by<C: ColumnTrait>(self, sandbox_col: C, account_col: C) -> Condition {
        match self {
            Scope::Sandbox(id) => Condition::all().add(sandbox_col.eq(id)),
            Scope::Account(id) => Condition::all().add(account_col.eq(id)),
        }
    }

    fn ids<E: EntityTrait>(id: E::Column, cond: Condition) -> SelectStatement {
        E::find().select_only().column(id).filter(cond).into_query()
    }

    fn runs(self) -> SelectStatement {
        let cond = self.by(agent_run::Column::SandboxId, agent_run::Column::AccountId);
        Self::ids::<agent_run::Entity>(agent_run::Column::Id, cond)
    }

    fn processes(self) -> SelectStatement {
        let cond = self.by(sandbox_process::Column::SandboxId, sandbox_process::Column::AccountId);
        Self::ids::<sandbox_process::Entity>(sandbox_process::Column::Id, cond)
    }

    fn sandboxes(self) -> SelectStatement {
        let cond = self.by(sandbox::Column::Id, sandbox::Column::AccountId);
        Self::ids::<sandbox::Entity>(sandbox::Column::Id, cond)
    }

    fn permission_requests(self) -> SelectStatement {
        let cond = Condition::all().add(permission_request::Column::RunId.in_subquery(self.runs()));
        Self::ids::<permission_request::Entity>(permission_request::Column::Id, cond)
    }

    fn webhook_events(self) -> SelectStatement {
        let cond = match self {
            Scope::Sandbox(id) => Condition::all().add(webhook_event::Column::SandboxId.eq(id)),
            Scope::Account(id) => Condition::all().add(webhook_event::Column::AccountId.eq(id)),
        };
        Self::ids::<webhook_event::Entity>(webhook_event::Column::Id, cond)
    }
}

impl Erasure {
    /// Deletes the rows of `E` matching `cond`, a batch at a time; how many.
    async fn purge<E: EntityTrait>(&self, held: &Held, id: E::Column, cond: Condition) -> AppResult<u64> {
        let batch = self.limits.storage.erase_batch.max(1);
        let mut total = 0;
        loop {
            let some = E::find().select_only().column(id).filter(cond.clone()).limit(batch).into_query();
            let gone = E::delete_many().filter(id.in_subquery(some)).exec(&self.db).await?.rows_affected;
            total += gone;
            if gone > 0 {
                held.step(gone).await?;
            }
            if gone < batch {
                return Ok(total);
            }
        }
    }

    /// The audit records about the scope's rows (never the erasure's own record).
    fn audit_of(scope: Scope) -> Condition {
        let c = change_log::Column::EntityId;
        let mut about = Condition::any()
            .add(c.in_subquery(scope.sandboxes()))
            .add(c.in_subquery(scope.runs()))
            .add(c.in_subquery(scope.processes()))
            .add(c.in_subquery(scope.permission_requests()));
        if let Scope::Account(a) = scope {
            let own = |id: SelectStatement| c.in_subquery(id);
            about = about
                .add(own(Scope::ids::<webhook::Entity>(webhook::Column::Id, webhook::Column::AccountId.eq(a).into())))
                .add(own(Scope::ids::<api_token::Entity>(
                    api_token::Column::Id,
                    api_token::Column::AccountId.eq(a).into(),
                )))
                .add(own(Scope::ids::<account_credential::Entity>(
                    account_credential::Column::Id,
                    account_credential::Column::AccountId.eq(a).into(),
                )))
                .add(c.eq(a));
        }
        Condition::all().add(about).add(change_log::Column::Action.ne(ERASE_ACTION))
    }

    /// Every row that belongs to `scope`, children first; the sandbox and account rows
    /// themselves are left to the caller.
    pub(super) async fn purge_scope(&self, held: &Held, scope: Scope) -> AppResult<()> {
        self.purge::<change_log::Entity>(held, change_log::Column::Id, Self::audit_of(scope)).await?;
        let in_processes = Condition::all().add(process_output::Column::ProcessId.in_subquery(scope.processes()));
        self.purge::<process_output::Entity>(held, process_output::Column::Id, in_processes).await?;
        let by = scope.by(sandbox_process::Column::SandboxId, sandbox_process::Column::AccountId);
        self.purge::<sandbox_process::Entity>(held, sandbox_process::Column::Id, by).await?;
        let by = scope.by(sandbox_preview::Column::SandboxId, sandbox_preview::Column::AccountId);
        self.purge::<sandbox_preview::Entity>(held, sandbox_preview::Column::Id, by).await?;
        let by = scope.by(warm_claude::Column::SandboxId, warm_claude::Column::AccountId);
        self.purge::<warm_claude::Entity>(held, warm_claude::Column::Id, by).await?;
        let of_runs = Condition::all().add(permission_request::Column::RunId.in_subquery(scope.runs()));
        self.purge::<permission_request::Entity>(held, permission_request::Column::Id, of_runs).await?;
        let of_runs = Condition::all().add(run_input::Column::RunId.in_subquery(scope.runs()));
        self.purge::<run_input::Entity>(held, run_input::Column::Id, of_runs).await?;
        let of_runs = Condition::all().add(agent_run_event::Column::RunId.in_subquery(scope.runs()));
        self.purge::<agent_run_event::Entity>(held, agent_run_event::Column::Id, of_runs).await?;
        let usage = Condition::any()
            .add(scope.by(usage_record::Column::SandboxId, usage_record::Column::AccountId))
            .add(usage_record::Column::RunId.in_subquery(scope.runs()));
        self.purge::<usage_record::Entity>(held, usage_record::Column::Id, usage).await?;
        let by = scope.by(checkpoint::Column::SandboxId, checkpoint::Column::AccountId);
        self.purge::<checkpoint::Entity>(held, checkpoint::Column::Id, by).await?;
        let by = scope.by(snapshot::Column::SandboxId, snapshot::Column::AccountId);
        self.purge::<snapshot::Entity>(held, snapshot::Column::Id, by).await?;
        let mut deliveries =
            Condition::any().add(webhook_delivery::Column::EventId.in_subquery(scope.webhook_events()));
        deliveries = match scope {
            Scope::Sandbox(id) => deliveries.add(webhook_delivery::Column::SandboxId.eq(id)),
            Scope::Account(a) => {
                deliveries.add(webhook_delivery::Column::WebhookId.in_subquery(Scope::ids::<webhook::Entity>(
                    webhook::Column::Id,
                    webhook::Column::AccountId.eq(a).into(),
                )))
            }
        };
        self.purge::<webhook_delivery::Entity>(held, webhook_delivery::Column::Id, deliveries).await?;
        let events = Condition::all().add(webhook_event::Column::Id.in_subquery(scope.webhook_events()));
        self.purge::<webhook_event::Entity>(held, webhook_event::Column::Id, events).await?;
        let by = scope.by(agent_run::Column::SandboxId, agent_run::Column::AccountId);
        self.purge::<agent_run::Entity>(held, agent_run::Column::Id, by).await?;
        Ok(())
    }

    /// The account's own rows, once its sandboxes and stored objects are gone.
    pub(super) async fn purge_account_rows(&self, held: &Held) -> AppResult<()> {
        let a = held.account;
        self.purge_scope(held, Scope::Account(a)).await?;
        self.purge::<webhook::Entity>(held, webhook::Column::Id, webhook::Column::AccountId.eq(a).into()).await?;
        self.purge::<blob::Entity>(held, blob::Column::Id, blob::Column::AccountId.eq(a).into()).await?;
        self.purge::<blob_gate::Entity>(held, blob_gate::Column::Id, blob_gate::Column::Id.eq(a).into()).await?;
        let own = account_retention::Column::AccountId.eq(a).into();
        self.purge::<account_retention::Entity>(held, account_retention::Column::Id, own).await?;
        let own = account_budget::Column::AccountId.eq(a).into();
        self.purge::<account_budget::Entity>(held, account_budget::Column::AccountId, own).await?;
        let own = account_credential::Column::AccountId.eq(a).into();
        self.purge::<account_credential::Entity>(held, account_credential::Column::Id, own).await?;
        self.purge::<api_token::Entity>(held, api_token::Column::Id, api_token::Column::AccountId.eq(a).into()).await?;
        // What the account did to other accounts' rows (erasures it asked for too) stays on
        // record, without its id.
        change_log::Entity::update_many()
            .col_expr(change_log::Column::AccountId, Expr::value(Option::<Uuid>::None))
            .filter(change_log::Column::AccountId.eq(a))
            .exec(&self.db)
            .await?;
        permission_request::Entity::update_many()
            .col_expr(permission_request::Column::AnsweredBy, Expr::value(Option::<Uuid>::None))
            .filter(permission_request::Column::AnsweredBy.eq(a))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
