//! Purging what a deleted sandbox left: `--purge-deleted-after-hours` after its delete
//! (its workspace and Modal volume went at the delete), its snapshots and checkpoints go
//! with their manifests and transcripts, and its runs' events; the blobs only they held
//! are left to the reclaim, which the account is marked for. Its row, its runs' rows and
//! their usage stay: the audit trail and the bills refer to them.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use uuid::Uuid;

use super::Checkpoints;
use crate::{
    entity::{agent_run, agent_run_event, checkpoint, now, sandbox, snapshot},
    error::AppResult,
    snapshots::gate,
};

/// Deleted sandboxes purged per pass.
const PER_PASS: u64 = 50;
/// Runs per DELETE statement (SQLite's variable limit bounds an IN list).
const CHUNK: usize = 500;

impl Checkpoints {
    /// Purges deleted sandboxes past the setting; how many.
    pub async fn purge_deleted(&self) -> AppResult<u64> {
        let hours = self.limits.storage.purge_deleted_after_hours;
        if hours == 0 {
            return Ok(0);
        }
        let cutoff = now() - chrono::Duration::hours(hours as i64);
        let left = Condition::any()
            .add(Expr::cust("EXISTS (SELECT 1 FROM snapshots s WHERE s.sandbox_id = sandboxes.id)"))
            .add(Expr::cust("EXISTS (SELECT 1 FROM checkpoints c WHERE c.sandbox_id = sandboxes.id)"))
            .add(Expr::cust(
                "EXISTS (SELECT 1 FROM agent_run_events e JOIN agent_runs r ON r.id = e.run_id WHERE r.sandbox_id = sandboxes.id)",
            ));
        let doomed = sandbox::Entity::find()
            .filter(sandbox::Column::DeletedAt.lt(cutoff))
            .filter(left)
            .limit(PER_PASS)
            .all(&self.db)
            .await?;
        for sb in &doomed {
            self.purge_one(sb.id, sb.account_id).await?;
        }
        Ok(doomed.len() as u64)
    }

    async fn purge_one(&self, sandbox_id: Uuid, account: Uuid) -> AppResult<()> {
        let cps = checkpoint::Entity::find().filter(checkpoint::Column::SandboxId.eq(sandbox_id)).all(&self.db).await?;
        let snaps = snapshot::Entity::find().filter(snapshot::Column::SandboxId.eq(sandbox_id)).all(&self.db).await?;
        let mut keys: Vec<String> = snaps.into_iter().map(|s| s.manifest_key).collect();
        for c in cps {
            keys.push(c.manifest_key);
            keys.extend(c.session_key);
        }
        let runs: Vec<Uuid> = agent_run::Entity::find()
            .select_only()
            .column(agent_run::Column::Id)
            .filter(agent_run::Column::SandboxId.eq(sandbox_id))
            .into_tuple()
            .all(&self.db)
            .await?;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        checkpoint::Entity::delete_many().filter(checkpoint::Column::SandboxId.eq(sandbox_id)).exec(&txn).await?;
        snapshot::Entity::delete_many().filter(snapshot::Column::SandboxId.eq(sandbox_id)).exec(&txn).await?;
        for chunk in runs.chunks(CHUNK) {
            let ids = chunk.to_vec();
            agent_run_event::Entity::delete_many().filter(agent_run_event::Column::RunId.is_in(ids)).exec(&txn).await?;
        }
        txn.commit().await?;
        gate::want_reclaim(&self.db, account).await?;
        for key in keys {
            if let Err(e) = self.sync.snapshots.blobs.delete(&key).await {
                tracing::warn!(%sandbox_id, error = ?e.log_detail(), "could not delete a purged sandbox's object");
            }
        }
        tracing::info!(%sandbox_id, "purged a deleted sandbox's stored data");
        Ok(())
    }
}
