//! The one recovery path: work whose holder died, found by its expired lease and finished
//! by whichever instance looks first. Runs whose runner is gone end INTERRUPTED (the run
//! crate's reaper); a CREATING sandbox whose create lease expired ends in ERROR (and
//! whatever the backend made for it is removed); a DELETING one whose delete lease
//! expired is deleted for good. Runs at start-up and then every third of a lease.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, sea_query::Expr};

use super::Lifecycle;
use crate::{
    entity::{
        enums::SandboxStatus,
        lease::{self, Term},
        now, sandbox,
    },
    error::AppResult,
};

impl Lifecycle {
    /// Finishes the work whose instance is gone: runs first (a delete waits for its
    /// sandbox's runs), then sandbox creates and deletes. `at_start` also ends every run
    /// this instance's id left behind (it restarted, so none of them still runs).
    pub async fn recover(&self, at_start: bool) -> AppResult<usize> {
        let runs = self.runs.manager.reap_expired(at_start).await?;
        Ok(runs + self.recover_sandboxes().await?)
    }

    /// Finishes the creates and deletes whose instance is gone. Returns how many.
    async fn recover_sandboxes(&self) -> AppResult<usize> {
        let t = now();
        let expired = lease::expired::<sandbox::Entity>(t);
        // Creates and deletes always hold a lease (set with the row); one that expired, or
        // a CREATING row from before leases that is older than one, was left by a dead
        // instance.
        let settled = t - Term::of(&self.limits).length;
        let creating = Condition::all()
            .add(sandbox::Column::Status.eq(SandboxStatus::Creating))
            .add(sandbox::Column::CreatedAt.lt(settled));
        let deleting = Condition::all().add(sandbox::Column::Status.eq(SandboxStatus::Deleting));
        let stale = sandbox::Entity::find()
            .filter(sandbox::Column::DeletedAt.is_null())
            .filter(Condition::any().add(creating).add(deleting))
            .filter(expired.clone())
            .all(&self.db)
            .await?;
        let mut done = 0;
        for row in stale {
            let finished = match row.status {
                SandboxStatus::Creating => self.abandon_create(&row, expired.clone()).await,
                _ => self.finish_delete(&row).await,
            };
            match finished {
                Ok(true) => done += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(sandbox_id = %row.id, error = ?e.log_detail(), "recovery failed; retrying later")
                }
            }
        }
        if done > 0 {
            tracing::warn!(count = done, "finished creates and deletes left by a stopped instance");
        }
        Ok(done)
    }

    async fn abandon_create(&self, row: &sandbox::Model, expired: Condition) -> AppResult<bool> {
        let ended = sandbox::Entity::update_many()
            .col_expr(sandbox::Column::Status, Expr::value(SandboxStatus::Error))
            .col_expr(sandbox::Column::StatusReason, Expr::value("creation was interrupted by a server restart"))
            .col_expr(sandbox::Column::UpdatedAt, Expr::value(now()))
            .filter(sandbox::Column::Id.eq(row.id))
            .filter(sandbox::Column::Status.eq(SandboxStatus::Creating))
            .filter(expired)
            .exec(&self.db)
            .await?;
        if ended.rows_affected > 0 {
            self.backend.forget(row.id).await;
        }
        Ok(ended.rows_affected > 0)
    }

    async fn finish_delete(&self, row: &sandbox::Model) -> AppResult<bool> {
        let lease = match self.leases.acquire(row.id, crate::lifecycle::leases::LeaseKind::Delete).await {
            Ok(lease) => lease,
            Err(_) => return Ok(false),
        };
        if let Some(ext) = row.backend_id() {
            self.backend.terminate(&ext).await?;
            self.backend.destroy(row.id, &ext).await?;
        }
        let done = self.mark_deleted(row, None, "deleted (finished after an instance stopped)").await.is_ok();
        lease.release().await;
        Ok(done)
    }

    /// Runs [`recover`](Self::recover) every third of a lease for as long as the process
    /// lives.
    pub fn spawn_recovery(&self) {
        let me = self.clone();
        let every = Term::of(&self.limits).every;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = me.recover(false).await {
                    tracing::warn!(error = ?e.log_detail(), "recovery failed");
                }
            }
        });
    }
}
