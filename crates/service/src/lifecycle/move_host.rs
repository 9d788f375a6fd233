//! Moving a local sandbox to another host (`moveSandbox`): a restore from its snapshot
//! onto the chosen host, under the sandbox's lease, with no run going. When its old host
//! answers, a fresh snapshot is taken first and the old workspace removed, so nothing is
//! lost; when the old host is gone, the last snapshot is what moves (and the old host, if
//! it ever comes back, no longer serves the sandbox). Claude's session goes along from
//! the newest checkpoint that holds one, so the next run resumes the conversation.

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, sea_query::Expr};

use super::{Lifecycle, leases::LeaseKind};
use crate::{
    auth::Viewer,
    backend::SandboxSpec,
    checkpoints::VisibleCheckpoint,
    entity::{
        agent_run,
        change_log::{self, Change},
        checkpoint,
        enums::{RunStatus, SandboxStatus},
        now, sandbox,
    },
    error::{AppError, AppResult, reasons},
    sandboxes::{self, VisibleSandbox},
    snapshots::VisibleSnapshot,
};

impl Lifecycle {
    /// Moves `sb` to `host` (its own host too: a fresh restore there, which is how a
    /// move that failed midway is retried); the sandbox as it is there.
    pub async fn move_to_host(&self, viewer: &Viewer, sb: VisibleSandbox, host: &str) -> AppResult<VisibleSandbox> {
        viewer.require_writer()?;
        // In its own task: a client that goes away does not leave a move half done.
        let (this, viewer, host) = (self.clone(), viewer.clone(), host.to_string());
        crate::work::detached(async move { this.move_detached(&viewer, sb, &host).await }).await
    }

    async fn move_detached(&self, viewer: &Viewer, sb: VisibleSandbox, host: &str) -> AppResult<VisibleSandbox> {
        if sb.status != SandboxStatus::Running || sb.host_id.is_none() {
            return Err(AppError::conflict_because(
                reasons::NOT_RUNNING,
                "only a running local sandbox can move to another host",
            ));
        }
        let lease = self.leases.acquire(sb.id, LeaseKind::Move).await?;
        let moved = self.move_under_lease(viewer, &sb, host).await;
        lease.release().await;
        moved?;
        sandboxes::require(&self.db, viewer, sb.id).await
    }

    async fn move_under_lease(&self, viewer: &Viewer, sb: &VisibleSandbox, host: &str) -> AppResult<()> {
        let directory =
            self.hosts.as_ref().ok_or_else(|| AppError::bad_input("this server has no hosts to move to"))?;
        // The target must be live before anything is changed.
        directory.choose(Some(&[host.to_string()])).await?;
        let running = agent_run::Entity::find()
            .filter(agent_run::Column::SandboxId.eq(sb.id))
            .filter(agent_run::Column::Status.eq(RunStatus::Running))
            .count(&self.db)
            .await?;
        if running > 0 {
            return Err(AppError::conflict_because(reasons::RUN_ACTIVE, "a run is going; move the sandbox after it"));
        }
        let snap = match self.sync.sync_under_lease(viewer, sb).await {
            Ok(done) => VisibleSnapshot::vouched_for_reclaim(done.snapshot),
            Err(e) if e.reason() == Some(reasons::HOST_UNAVAILABLE) => {
                tracing::warn!(sandbox_id = %sb.id, "its host is gone: moving its last snapshot");
                self.snapshots.of_sandbox(sb, None).await.map_err(|_| {
                    AppError::conflict_because(
                        reasons::HOST_UNAVAILABLE,
                        "its host is gone and it has no snapshot to move",
                    )
                })?
            }
            Err(e) => return Err(e),
        };
        let skip = super::restore::damaged(&snap, false)?;
        if let Some(ext) = sb.backend_id() {
            let removed = async {
                self.backend.terminate(&ext).await?;
                self.backend.destroy(sb.id, &ext).await
            };
            match removed.await {
                Ok(()) => {}
                Err(e) if e.reason() == Some(reasons::HOST_UNAVAILABLE) => {}
                Err(e) => return Err(e),
            }
        }
        let template = self.templates.of_sandbox(sb.template.as_deref())?;
        directory.set_host(sb.id, host).await?;
        let spec = SandboxSpec { sandbox_id: sb.id, account_id: sb.account_id, template };
        let ext = self.backend.create(&spec).await?;
        let session = checkpoint::Entity::find()
            .filter(checkpoint::Column::SandboxId.eq(sb.id))
            .filter(checkpoint::Column::SessionKey.is_not_null())
            .order_by_desc(checkpoint::Column::Id)
            .one(&self.db)
            .await?
            .and_then(|row| VisibleCheckpoint::of_visible_sandbox(sb, row));
        self.restore(&snap, &ext, session.as_ref(), &skip).await?;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        sandbox::Entity::update_many()
            .col_expr(sandbox::Column::ExternalId, Expr::value(ext.as_str()))
            .col_expr(sandbox::Column::UpdatedAt, Expr::value(now()))
            .filter(sandbox::Column::Id.eq(sb.id))
            .exec(&txn)
            .await?;
        let change = Change { actor: Some(viewer.account_id), entity: "sandboxes", entity_id: sb.id, action: "move" };
        change_log::record(&txn, change, sb.host_id.as_ref(), Some(&host)).await?;
        txn.commit().await?;
        self.files.listings.invalidate(sb.id);
        tracing::info!(sandbox_id = %sb.id, from = ?sb.host_id, to = %host, "moved a sandbox to another host");
        Ok(())
    }
}
