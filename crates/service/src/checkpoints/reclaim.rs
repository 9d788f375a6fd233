//! Reclaiming blobs no snapshot or checkpoint references: with the account's blob gate
//! closed (nobody is syncing, checkpointing or restoring, and nobody can start), every
//! manifest of the account is read and the blobs none names are deleted — the row first,
//! then the object, so a crash between leaves an object a later sync finds and records
//! again, never a row whose object is gone. Any instance may reclaim any account; the
//! gate makes it one at a time.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};
use uuid::Uuid;

use super::Checkpoints;
use crate::{
    entity::{blob, blob_gate, checkpoint, snapshot},
    error::{AppError, AppResult},
    snapshots::{VisibleSnapshot, gate::Closed},
    storage,
};

/// What a reclaim removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reclaimed {
    /// Blobs deleted.
    pub blobs: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Rows of manifests read per query.
const ROWS: u64 = 200;

impl Checkpoints {
    /// Reclaims `account`'s unreferenced blobs now; None when its gate could not be
    /// closed (work is in progress, or another reclaim runs).
    pub async fn reclaim(&self, account: Uuid) -> AppResult<Option<Reclaimed>> {
        let wanted = blob_gate::Entity::find_by_id(account).one(&self.db).await?.and_then(|g| g.reclaim_wanted_at);
        let Some(closed) = self.sync.gate.close(account).await? else { return Ok(None) };
        let done = self.reclaim_closed(account, &closed).await;
        let opened = closed.open().await;
        let done = done?;
        opened?;
        // Only the pass that saw the latest request clears it.
        let mut clear = blob_gate::Entity::update_many()
            .col_expr(blob_gate::Column::ReclaimWantedAt, Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None))
            .filter(blob_gate::Column::Id.eq(account));
        clear = match wanted {
            Some(w) => clear.filter(blob_gate::Column::ReclaimWantedAt.lte(w)),
            None => clear.filter(blob_gate::Column::ReclaimWantedAt.is_null()),
        };
        clear.exec(&self.db).await?;
        Ok(Some(done))
    }

    /// Every blob hash any manifest of the account names.
    async fn referenced(&self, account: Uuid) -> AppResult<HashSet<String>> {
        let max = self.limits.checkpoints.reclaim_max_referenced as usize;
        let mut seen = HashSet::new();
        let mut manifests = Vec::new();
        let mut after = Uuid::nil();
        loop {
            let page = snapshot::Entity::find()
                .filter(snapshot::Column::AccountId.eq(account))
                .filter(snapshot::Column::Id.gt(after))
                .order_by_asc(snapshot::Column::Id)
                .limit(ROWS)
                .all(&self.db)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            manifests.extend(page.into_iter().map(VisibleSnapshot::vouched_for_reclaim));
        }
        let mut after = Uuid::nil();
        loop {
            let page = checkpoint::Entity::find()
                .filter(checkpoint::Column::AccountId.eq(account))
                .filter(checkpoint::Column::Id.gt(after))
                .order_by_asc(checkpoint::Column::Id)
                .limit(ROWS)
                .all(&self.db)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            manifests.extend(page.iter().map(VisibleSnapshot::of_checkpoint));
        }
        for m in manifests {
            let mut r = self.sync.snapshots.reader(&m).await?;
            while let Some(e) = r.next().await? {
                if let Some(sha) = e.sha256 {
                    seen.insert(sha);
                    if seen.len() > max {
                        return Err(AppError::Internal(anyhow::anyhow!(
                            "account {account} references more than {max} blobs; not reclaiming"
                        )));
                    }
                }
            }
        }
        Ok(seen)
    }

    async fn reclaim_closed(&self, account: Uuid, closed: &Closed) -> AppResult<Reclaimed> {
        let keep = self.referenced(account).await?;
        let batch = self.limits.checkpoints.reclaim_batch.max(1);
        let mut done = Reclaimed::default();
        let mut after = Uuid::nil();
        loop {
            if !closed.still_held().await? {
                return Err(AppError::Internal(anyhow::anyhow!("the blob gate of {account} was lost mid-reclaim")));
            }
            let page = blob::Entity::find()
                .filter(blob::Column::AccountId.eq(account))
                .filter(blob::Column::Id.gt(after))
                .order_by_asc(blob::Column::Id)
                .limit(batch)
                .all(&self.db)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let gone: Vec<blob::Model> = page.into_iter().filter(|b| !keep.contains(&b.sha256)).collect();
            if gone.is_empty() {
                continue;
            }
            let ids: Vec<Uuid> = gone.iter().map(|b| b.id).collect();
            blob::Entity::delete_many().filter(blob::Column::Id.is_in(ids)).exec(&self.db).await?;
            for b in gone {
                self.sync.snapshots.blobs.delete(&storage::blob_key(account, &b.sha256)).await?;
                done.blobs += 1;
                done.bytes += b.size.max(0) as u64;
            }
        }
        Ok(done)
    }

    /// Reclaims, every `reclaimEverySecs`, the accounts marked for it; on every instance
    /// (the gate keeps it one at a time per account).
    pub fn spawn_reclaimer(&self) {
        let this = self.clone();
        let every = std::time::Duration::from_secs(self.limits.checkpoints.reclaim_every_secs.max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = this.purge_deleted().await {
                    tracing::warn!(error = ?e.log_detail(), "purging deleted sandboxes failed");
                }
                let wanted = blob_gate::Entity::find()
                    .filter(blob_gate::Column::ReclaimWantedAt.is_not_null())
                    .limit(ROWS)
                    .all(&this.db)
                    .await;
                let Ok(wanted) = wanted else { continue };
                for g in wanted {
                    match this.reclaim(g.id).await {
                        Ok(Some(r)) => tracing::info!(account = %g.id, blobs = r.blobs, bytes = r.bytes, "reclaimed"),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(account = %g.id, error = ?e.log_detail(), "reclaim failed"),
                    }
                }
            }
        });
    }
}
