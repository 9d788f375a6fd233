//! Sandboxes whose provider ended them while nobody called (Modal: their lifetime or
//! idle timeout) are found by a background pass and listed SLEEPING, instead of RUNNING
//! until someone touches them. One listing of the backend's running sandboxes (Modal:
//! `SandboxListV2`) leaves only those missing from it to be asked about, one by one, the
//! longest unchanged first (all of them when the backend cannot list); the change is conditional on the row still being RUNNING with the
//! same backend id, so passes on several instances and a concurrent wake never conflict.

use std::time::Duration;

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::Lifecycle;
use crate::{
    entity::{enums::SandboxStatus, now, sandbox},
    error::AppResult,
};

impl Lifecycle {
    /// Runs [`Self::reconcile`] every `reconcileSecs`, for backends whose sandboxes sleep.
    pub fn spawn_reconcile(&self) {
        if self.backend.at_rest().is_none() {
            return;
        }
        let me = self.clone();
        let every = Duration::from_secs(self.limits.io.reconcile_secs);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match me.reconcile().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(sandboxes = n, "sandboxes their provider ended are now SLEEPING"),
                    Err(e) => tracing::warn!(error = ?e.log_detail(), "reconcile failed"),
                }
            }
        });
    }

    /// One pass: RUNNING sandboxes of this backend that no lease holds (a create, sync or
    /// delete in progress) are asked about; those whose backend sandbox ended sleep.
    /// Returns how many went to sleep.
    pub async fn reconcile(&self) -> AppResult<u64> {
        if self.backend.at_rest().is_none() {
            return Ok(0);
        }
        let free =
            Condition::any().add(sandbox::Column::LeaseUntil.is_null()).add(sandbox::Column::LeaseUntil.lt(now()));
        let rows = sandbox::Entity::find()
            .filter(sandbox::Column::Status.eq(SandboxStatus::Running))
            .filter(sandbox::Column::Backend.eq(self.backend.name()))
            .filter(sandbox::Column::DeletedAt.is_null())
            .filter(free)
            .order_by_asc(sandbox::Column::UpdatedAt)
            .limit(self.limits.io.reconcile_max_sandboxes)
            .all(&self.db)
            .await?;
        let max = usize::try_from(self.limits.io.reconcile_max_sandboxes).unwrap_or(usize::MAX);
        let running = match self.backend.running(max).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = ?e.log_detail(), "could not list the backend's sandboxes; asking one by one");
                None
            }
        };
        let mut slept = 0;
        for row in rows {
            let listed = running.as_ref().zip(row.external_id.as_deref()).is_some_and(|(r, ext)| r.contains(ext));
            if !listed && self.waker.gone(&row).await {
                slept += 1;
            }
        }
        Ok(slept)
    }
}
