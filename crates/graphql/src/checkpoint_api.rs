//! Checkpoints: `checkpoint`, `checkpointDiff`, `checkpointSandbox`, `rewindSandbox`,
//! `forkSandbox`, and for admins `setCheckpointRetention` and `reclaimStorage`. Another
//! account's sandboxes and checkpoints are NOT_FOUND (null for `checkpoint`).

use async_graphql::{Context, ID, Object, Result};

use crate::{
    context::{parse_id, scope},
    cost,
    error::AppError,
    service::sandboxes,
    types::{
        checkpoint::{Checkpoint, CheckpointDiff, CheckpointRetention, ReclaimResult, RewindResult},
        sandbox::Sandbox,
    },
};

/// Checkpoint queries.
#[derive(Default)]
pub struct CheckpointQuery;

#[Object]
impl CheckpointQuery {
    /// A checkpoint by id; null when missing or another account's.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn checkpoint(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Checkpoint>> {
        let (svc, viewer) = scope(ctx)?;
        match svc.checkpoints.require(viewer, parse_id(&id, "id")?).await {
            Ok(cp) => Ok(Some(Checkpoint(cp.into_row()))),
            Err(AppError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The changes that lead from checkpoint `fromId` to `toId` (of one sandbox).
    #[graphql(complexity = "cost::RECURSIVE_WALK + child_complexity")]
    async fn checkpoint_diff(&self, ctx: &Context<'_>, from_id: ID, to_id: ID) -> Result<CheckpointDiff> {
        let (svc, viewer) = scope(ctx)?;
        let from = svc.checkpoints.require(viewer, parse_id(&from_id, "fromId")?).await?;
        let to = svc.checkpoints.require(viewer, parse_id(&to_id, "toId")?).await?;
        Ok(svc.checkpoints.diff(&from, &to).await?.into())
    }
}

/// Checkpoint mutations.
#[derive(Default)]
pub struct CheckpointMutation;

#[Object]
impl CheckpointMutation {
    /// Takes a checkpoint of the sandbox now (its files and Claude's conversation).
    #[graphql(complexity = "cost::SYNC + child_complexity")]
    async fn checkpoint_sandbox(&self, ctx: &Context<'_>, id: ID) -> Result<Checkpoint> {
        let (svc, viewer) = scope(ctx)?;
        let sb = sandboxes::require(&svc.db, viewer, parse_id(&id, "id")?).await?;
        Ok(Checkpoint(svc.checkpoints.checkpoint(viewer, &sb).await?))
    }

    /// Brings the sandbox back to a checkpoint: only the files that differ are written,
    /// and the next message continues the conversation from that turn (later turns are
    /// not seen). CONFLICT `RUN_ACTIVE` while a run is active.
    #[graphql(complexity = "cost::SYNC + child_complexity")]
    async fn rewind_sandbox(&self, ctx: &Context<'_>, sandbox_id: ID, checkpoint_id: ID) -> Result<RewindResult> {
        let (svc, viewer) = scope(ctx)?;
        let sb = sandboxes::require(&svc.db, viewer, parse_id(&sandbox_id, "sandboxId")?).await?;
        let cp = svc.checkpoints.of_sandbox(&sb, parse_id(&checkpoint_id, "checkpointId")?).await?;
        let done = svc.checkpoints.rewind(viewer, &sb, &cp).await?;
        let sb = sandboxes::require(&svc.db, viewer, sb.id).await?;
        Ok(RewindResult::new(done, Sandbox(sb)))
    }

    /// A new sandbox (same account, counted against its limit) with the checkpoint's files
    /// and conversation; the original is untouched and both go on independently.
    #[graphql(complexity = "cost::CREATE + cost::SYNC + child_complexity")]
    async fn fork_sandbox(
        &self,
        ctx: &Context<'_>,
        sandbox_id: ID,
        checkpoint_id: ID,
        name: Option<String>,
    ) -> Result<Sandbox> {
        let (svc, viewer) = scope(ctx)?;
        let sb = sandboxes::require(&svc.db, viewer, parse_id(&sandbox_id, "sandboxId")?).await?;
        let cp = svc.checkpoints.of_sandbox(&sb, parse_id(&checkpoint_id, "checkpointId")?).await?;
        Ok(Sandbox(svc.lifecycle.fork(viewer, &sb, &cp, name).await?))
    }

    /// Sets how many checkpoints each sandbox of the account keeps and for how long
    /// (null: the server's default). Admins only.
    #[graphql(complexity = "cost::QUERY + child_complexity")]
    async fn set_checkpoint_retention(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        keep: Option<i64>,
        max_age_hours: Option<i64>,
    ) -> Result<CheckpointRetention> {
        let (svc, viewer) = scope(ctx)?;
        let account = parse_id(&account_id, "accountId")?;
        let r = svc.checkpoints.set_retention(viewer, account, keep, max_age_hours).await?;
        Ok(CheckpointRetention { keep: r.keep, max_age_hours: r.max_age_hours })
    }

    /// Deletes now the account's stored blobs that no snapshot or checkpoint references
    /// (the background reclaim does so every `--reclaim-every-secs`). Admins only.
    #[graphql(complexity = "cost::SYNC + child_complexity")]
    async fn reclaim_storage(&self, ctx: &Context<'_>, account_id: ID) -> Result<ReclaimResult> {
        let (svc, viewer) = scope(ctx)?;
        viewer.require_admin()?;
        let done = svc.checkpoints.reclaim(parse_id(&account_id, "accountId")?).await?;
        Ok(ReclaimResult {
            ran: done.is_some(),
            blobs_deleted: done.map_or(0, |d| d.blobs),
            bytes_deleted: done.map_or(0, |d| d.bytes),
        })
    }
}
