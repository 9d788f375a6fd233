//! The difference between two checkpoints' workspaces: both manifests read once, side by
//! side in display order, compared by kind, content hash, link target and mode.

use super::{Checkpoints, VisibleCheckpoint};
use crate::{
    entity::checkpoint::PathChange,
    error::{AppError, AppResult},
};

/// What changed from one checkpoint to another.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The changed paths (up to `checkpointMaxDiffEntries`), in path order.
    pub changes: Vec<PathChange>,
    /// How many changed in all.
    pub total: u64,
}

impl Checkpoints {
    /// The changes that lead from `from` to `to` (checkpoints of one sandbox).
    pub async fn diff(&self, from: &VisibleCheckpoint, to: &VisibleCheckpoint) -> AppResult<Diff> {
        if from.sandbox_id != to.sandbox_id {
            return Err(AppError::bad_input("both checkpoints must be of the same sandbox"));
        }
        let max = self.limits.checkpoints.checkpoint_max_diff_entries as usize;
        let mut before = self.sync.snapshots.cursor(&from.files()).await?.tracking(max);
        let mut after = self.sync.snapshots.reader(&to.files()).await?;
        while let Some(e) = after.next().await? {
            let looked = before.lookup(&e).await?;
            if let Some(log) = before.changes.as_mut() {
                log.compare(looked.before.as_ref(), &e);
            }
        }
        let mut log = before.finish().await?.unwrap_or_default();
        log.listed.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Diff { changes: log.listed, total: log.total })
    }
}
