//! A sandbox's end in its account's erasure: like a delete, but with no final snapshot
//! (everything stored goes too), reaching soft-deleted sandboxes as well (their leftover
//! workspace or volume is removed again, which is harmless), and never waiting on another
//! holder — the erasure comes back for a sandbox it could not take yet.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};

use super::{Lifecycle, leases::Lease};
use crate::{
    entity::{
        agent_run,
        enums::{RunStatus, SandboxStatus},
        now, sandbox,
    },
    error::{AppResult, reasons},
    lifecycle::leases::LeaseKind,
    sandboxes::VisibleSandbox,
};

impl Lifecycle {
    /// Stops `row` for good and removes its workspace and volume, holding its delete lease
    /// (returned; the caller removes the row while holding it). None when another holder
    /// has the lease or a run of it has not ended yet: try again later.
    pub(crate) async fn tear_down_for_erasure(&self, row: &sandbox::Model) -> AppResult<Option<Lease>> {
        let lease = match self.leases.acquire(row.id, LeaseKind::Delete).await {
            Ok(lease) => lease,
            Err(e) if e.reason() == Some(reasons::LEASE_HELD) => return Ok(None),
            Err(e) => return Err(e),
        };
        if row.deleted_at.is_none() {
            sandbox::Entity::update_many()
                .col_expr(sandbox::Column::Status, Expr::value(SandboxStatus::Deleting))
                .col_expr(sandbox::Column::UpdatedAt, Expr::value(now()))
                .filter(sandbox::Column::Id.eq(row.id))
                .exec(&self.db)
                .await?;
            self.runs.cancel_all_in(&VisibleSandbox::for_erasure(row.clone())).await?;
        }
        let running = agent_run::Entity::find()
            .filter(agent_run::Column::SandboxId.eq(row.id))
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .count(&self.db)
            .await?;
        if running > 0 {
            // Its runner has not let go yet (or died and its lease has not run out): the
            // reaper ends it, and the erasure comes back.
            lease.release().await;
            return Ok(None);
        }
        match row.backend_id() {
            Some(ext) => {
                self.backend.terminate(&ext).await?;
                self.backend.destroy(row.id, &ext).await?;
            }
            None => self.backend.forget(row.id).await,
        }
        self.files.listings.invalidate(row.id);
        Ok(Some(lease))
    }
}
