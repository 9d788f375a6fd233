//! Sleep and wake. A backend sandbox may end on its own (Modal: lifetime, idle timeout,
//! eviction) while its workspace lives on in a volume. The sandbox then SLEEPS instead of
//! leaving a row that says RUNNING while every call fails; the next operation that needs
//! commands (a run, a write, a sync) wakes it: a new backend sandbox on the same volume,
//! made once however many callers ask at once (a lease in the database across instances;
//! the backend's stable per-sandbox name behind it), and `external_id` updated.

use std::{sync::Arc, time::Duration};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};

use crate::{
    backend::{Backend, BackendStatus, SandboxSpec, template::Templates},
    entity::{enums::SandboxStatus, now, sandbox},
    error::{AppError, AppResult, reasons},
};
use crate::{
    lifecycle::leases::{LeaseKind, Leases},
    sandboxes::VisibleSandbox,
};

/// Puts sandboxes whose backend sandbox ended to sleep and wakes them.
#[derive(Clone)]
pub struct Waker {
    db: DatabaseConnection,
    backend: Arc<dyn Backend>,
    templates: Arc<Templates>,
    leases: Leases,
    wait: Duration,
}

impl Waker {
    /// A waker over `backend`; a caller waits at most `wait` for another's wake.
    pub fn new(
        db: DatabaseConnection,
        backend: Arc<dyn Backend>,
        templates: Arc<Templates>,
        leases: Leases,
        wait: Duration,
    ) -> Self {
        Self { db, backend, templates, leases, wait }
    }

    /// The sandbox ready for commands: as it is when RUNNING, woken when SLEEPING.
    pub async fn awake(&self, sb: &VisibleSandbox) -> AppResult<VisibleSandbox> {
        match sb.status {
            SandboxStatus::Sleeping => self.wake(sb, true).await,
            _ => Ok(sb.clone()),
        }
    }

    /// The sandbox ready for a run: as [`Self::awake`], but where backend sandboxes end on
    /// their own (Modal) it first asks whether a RUNNING one's still runs (one status
    /// call), so a run does not fail in a sandbox that ended while nobody looked: that
    /// one sleeps and is woken here.
    pub async fn ready(&self, sb: &VisibleSandbox) -> AppResult<VisibleSandbox> {
        if self.gone(sb).await {
            return self.awake(&self.reload(sb).await?).await;
        }
        self.awake(sb).await
    }

    /// Wakes a sandbox whose lease the caller already holds (a delete's final sync).
    pub async fn awake_under_lease(&self, sb: &VisibleSandbox) -> AppResult<VisibleSandbox> {
        match sb.status {
            SandboxStatus::Sleeping => self.wake(sb, false).await,
            _ => Ok(sb.clone()),
        }
    }

    /// The sandbox's row as it is now.
    pub async fn reload(&self, sb: &VisibleSandbox) -> AppResult<VisibleSandbox> {
        let row = sandbox::Entity::find_by_id(sb.id).one(&self.db).await?.ok_or(AppError::NotFound("sandbox"))?;
        sb.reloaded(row)
    }

    async fn wake(&self, sb: &VisibleSandbox, take_lease: bool) -> AppResult<VisibleSandbox> {
        let deadline = tokio::time::Instant::now() + self.wait;
        loop {
            let row = self.reload(sb).await?;
            if row.status != SandboxStatus::Sleeping {
                return Ok(row);
            }
            let lease = if take_lease {
                match self.leases.acquire(sb.id, LeaseKind::Wake).await {
                    Ok(l) => Some(l),
                    Err(AppError::Conflict { .. }) if tokio::time::Instant::now() < deadline => {
                        // Another caller (here or on another instance) is waking it.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    Err(AppError::Conflict { .. }) => {
                        return Err(AppError::conflict_because(
                            reasons::SANDBOX_ASLEEP,
                            "the sandbox is asleep and another request is still waking it; retry in a moment",
                        ));
                    }
                    Err(e) => return Err(e),
                }
            } else {
                None
            };
            let woken = self.wake_now(&row).await;
            if let Some(l) = lease {
                l.release().await;
            }
            return woken;
        }
    }

    async fn wake_now(&self, row: &VisibleSandbox) -> AppResult<VisibleSandbox> {
        // Re-read under the lease: a wake that finished meanwhile is not repeated.
        let row = self.reload(row).await?;
        if row.status != SandboxStatus::Sleeping {
            return Ok(row);
        }
        let template = self.templates.of_sandbox(row.template.as_deref())?;
        let spec = SandboxSpec { sandbox_id: row.id, account_id: row.account_id, template };
        tracing::info!(sandbox_id = %row.id, "waking a sleeping sandbox");
        let ext = self.backend.create(&spec).await?;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        let woke = sandbox::Entity::update_many()
            .col_expr(sandbox::Column::Status, Expr::value(SandboxStatus::Running))
            .col_expr(sandbox::Column::ExternalId, Expr::value(ext))
            .col_expr(sandbox::Column::StatusReason, Expr::value(Option::<String>::None))
            .col_expr(sandbox::Column::UpdatedAt, Expr::value(now()))
            .filter(sandbox::Column::Id.eq(row.id))
            .filter(sandbox::Column::Status.eq(SandboxStatus::Sleeping))
            .exec(&txn)
            .await?;
        if woke.rows_affected == 1 {
            let running = SandboxStatus::Running;
            crate::entity::webhook_event::status_changed(&txn, row.account_id, row.id, running, Some("woken")).await?;
        }
        txn.commit().await?;
        self.reload(&row).await
    }

    /// After a backend call on `sb` failed: whether its backend sandbox has ended on its
    /// own (then the sandbox is now SLEEPING and the call can be answered at rest or
    /// retried after a wake). Backends that never sleep answer false at once.
    pub async fn gone(&self, sb: &sandbox::Model) -> bool {
        if self.backend.at_rest().is_none() || sb.status != SandboxStatus::Running {
            return false;
        }
        let Some(ext) = sb.backend_id() else { return false };
        match self.backend.status(&ext).await {
            Ok(BackendStatus::Terminated | BackendStatus::Missing) => {}
            _ => return false,
        }
        let why = "its Modal sandbox ended; the next run or write wakes it";
        let slept = async {
            let txn = crate::entity::db::write_txn(&self.db).await?;
            let done = sandbox::Entity::update_many()
                .col_expr(sandbox::Column::Status, Expr::value(SandboxStatus::Sleeping))
                .col_expr(sandbox::Column::StatusReason, Expr::value(why))
                .col_expr(sandbox::Column::UpdatedAt, Expr::value(now()))
                .filter(sandbox::Column::Id.eq(sb.id))
                .filter(sandbox::Column::Status.eq(SandboxStatus::Running))
                .filter(sandbox::Column::ExternalId.eq(ext.as_str()))
                .exec(&txn)
                .await?;
            if done.rows_affected == 1 {
                let sleeping = SandboxStatus::Sleeping;
                crate::entity::webhook_event::status_changed(&txn, sb.account_id, sb.id, sleeping, Some(why)).await?;
            }
            txn.commit().await?;
            Ok::<_, AppError>(())
        }
        .await;
        match slept {
            Ok(_) => {
                tracing::info!(sandbox_id = %sb.id, external_id = %ext, "backend sandbox ended; the sandbox sleeps");
                true
            }
            Err(e) => {
                tracing::warn!(sandbox_id = %sb.id, error = %e, "could not mark a sandbox SLEEPING");
                false
            }
        }
    }
}
