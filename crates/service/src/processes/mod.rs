//! Users' processes in their sandboxes (`startProcess`): started in the sandbox as
//! Claude's commands are (same jail, bounds, network; no server secret), counted per
//! sandbox and account in the transaction that records them, leased by the instance that
//! runs them (so one whose instance died is INTERRUPTED, not stuck), their output stored
//! by byte offset for any instance to replay (`output`), their signals reaching the whole
//! process tree.

mod output;
mod pump;
mod validate;

use std::{collections::HashMap, sync::Arc};

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

pub use self::{output::OutputPiece, validate::StartProcess};
use crate::{
    accounts::lock_account,
    auth::Viewer,
    backend::{Backend, process::ProcessControl},
    config::Limits,
    entity::{
        change_log::{self, Change},
        enums::{ProcessStatus, SandboxStatus},
        lease::{self, Term},
        new_id, now, sandbox_process,
    },
    error::{AppError, AppResult, reasons},
    sandboxes::VisibleSandbox,
};

/// Rows `Sandbox.processes` lists at most (newest first).
const LISTED: u64 = 100;

/// What this instance holds of a process it runs.
struct Live {
    control: mpsc::Sender<ProcessControl>,
    /// The offset after the newest stored byte, for replays waiting here.
    end: watch::Receiver<i64>,
}

/// Users' processes.
#[derive(Clone)]
pub struct Processes {
    db: DatabaseConnection,
    backend: Arc<dyn Backend>,
    limits: Arc<Limits>,
    instance_id: String,
    live: Arc<std::sync::Mutex<HashMap<Uuid, Live>>>,
}

impl Processes {
    /// The service, running processes as instance `instance_id`.
    pub fn new(db: DatabaseConnection, backend: Arc<dyn Backend>, limits: Arc<Limits>, instance_id: &str) -> Self {
        Self { db, backend, limits, instance_id: instance_id.to_string(), live: Arc::default() }
    }

    /// Starts a process in a RUNNING sandbox, within the per-sandbox and per-account
    /// bounds (CONFLICT otherwise); returns its row, RUNNING.
    pub async fn start(
        &self,
        viewer: &Viewer,
        sb: &VisibleSandbox,
        req: StartProcess,
    ) -> AppResult<sandbox_process::Model> {
        let Some(procs) = self.backend.processes() else {
            return Err(AppError::bad_input("this deployment's sandboxes cannot run processes yet"));
        };
        let request = req.validate(&self.limits.processes)?;
        if sb.status != SandboxStatus::Running {
            return Err(AppError::conflict_because(reasons::NOT_RUNNING, "the sandbox is not running"));
        }
        let external_id = sb.external_id()?;
        let row = self.reserve(viewer, sb, &req, &request.cwd).await?;
        let handle = match procs.start_process(&external_id, request).await {
            Ok(h) => h,
            Err(e) => {
                // Nothing ran: the row would only hold a place.
                let _ = sandbox_process::Entity::delete_by_id(row.id).exec(&self.db).await;
                return Err(e);
            }
        };
        let (end_tx, end) = watch::channel(0);
        let live = Live { control: handle.control.clone(), end };
        self.live.lock().unwrap_or_else(|p| p.into_inner()).insert(row.id, live);
        tokio::spawn(pump::run(self.clone(), row.id, handle, end_tx));
        Ok(row)
    }

    async fn reserve(
        &self,
        viewer: &Viewer,
        sb: &VisibleSandbox,
        req: &StartProcess,
        cwd: &crate::backend::files::WorkspacePath,
    ) -> AppResult<sandbox_process::Model> {
        let limits = &self.limits.processes;
        let txn = crate::entity::db::write_txn(&self.db).await?;
        lock_account(&txn, sb.account_id).await?;
        let running = || {
            sandbox_process::Entity::find()
                .filter(sandbox_process::Column::Status.eq(ProcessStatus::Running))
                .filter(sandbox_process::Column::LeaseUntil.gt(now()))
        };
        let here = running().filter(sandbox_process::Column::SandboxId.eq(sb.id)).count(&txn).await?;
        if here >= limits.processes_per_sandbox {
            let n = limits.processes_per_sandbox;
            return Err(AppError::conflict(format!("a sandbox may run {n} processes at once; stop one first")));
        }
        let all = running().filter(sandbox_process::Column::AccountId.eq(sb.account_id)).count(&txn).await?;
        if all >= limits.processes_per_account {
            let n = limits.processes_per_account;
            return Err(AppError::conflict(format!("an account may run {n} processes at once; stop one first")));
        }
        let at = now();
        let row = sandbox_process::ActiveModel {
            id: Set(new_id()),
            sandbox_id: Set(sb.id),
            account_id: Set(sb.account_id),
            name: Set(req.display_name()),
            argv: Set(serde_json::json!(req.argv)),
            cwd: Set(cwd.as_str().to_string()),
            status: Set(ProcessStatus::Running),
            exit_code: Set(None),
            ended_at: Set(None),
            lease_owner: Set(Some(self.instance_id.clone())),
            lease_until: Set(Some(Term::of(&self.limits).until())),
            log_start: Set(0),
            log_end: Set(0),
            created_at: Set(at),
            updated_at: Set(at),
        };
        let row = sea_orm::ActiveModelTrait::insert(row, &txn).await?;
        let change =
            Change { actor: Some(viewer.account_id), entity: "sandbox_processes", entity_id: row.id, action: "start" };
        change_log::record(&txn, change, None::<&()>, Some(&row)).await?;
        txn.commit().await?;
        Ok(row)
    }

    /// The sandbox's processes, newest first.
    pub async fn list(&self, sb: &VisibleSandbox) -> AppResult<Vec<sandbox_process::Model>> {
        Ok(sandbox_process::Entity::find()
            .filter(sandbox_process::Column::SandboxId.eq(sb.id))
            .order_by_desc(sandbox_process::Column::Id)
            .limit(LISTED)
            .all(&self.db)
            .await?)
    }

    /// A process the viewer may see (its own account's; every one for an admin).
    pub async fn get(&self, viewer: &Viewer, id: Uuid) -> AppResult<sandbox_process::Model> {
        let row = sandbox_process::Entity::find_by_id(id).one(&self.db).await?;
        match row {
            Some(r) if viewer.is_admin() || r.account_id == viewer.account_id => Ok(r),
            _ => Err(AppError::NotFound("process")),
        }
    }

    /// Sends `signal` to a running process and everything it started. A process another
    /// instance runs is CONFLICT (ask that instance; processes do not move).
    pub async fn signal(&self, viewer: &Viewer, id: Uuid, signal: i32) -> AppResult<sandbox_process::Model> {
        let row = self.get(viewer, id).await?;
        if row.status != ProcessStatus::Running {
            return Err(AppError::conflict("the process has ended"));
        }
        let control = self.live.lock().unwrap_or_else(|p| p.into_inner()).get(&id).map(|l| l.control.clone());
        match control {
            Some(c) => {
                let _ = c.send(ProcessControl::Signal(signal)).await;
                Ok(row)
            }
            None => Err(AppError::conflict("the process runs on another instance of the server")),
        }
    }

    /// Marks RUNNING processes whose instance stopped renewing their lease INTERRUPTED
    /// (they ended with it). Returns how many.
    pub async fn reap(&self) -> AppResult<u64> {
        let done = sandbox_process::Entity::update_many()
            .col_expr(sandbox_process::Column::Status, sea_orm::sea_query::Expr::value(ProcessStatus::Interrupted))
            .col_expr(sandbox_process::Column::EndedAt, sea_orm::sea_query::Expr::value(now()))
            .col_expr(sandbox_process::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now()))
            .filter(sandbox_process::Column::Status.eq(ProcessStatus::Running))
            .filter(lease::expired::<sandbox_process::Entity>(now()))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }

    /// Reaps every lease term, in its own task.
    pub fn spawn_reaper(&self) {
        let me = self.clone();
        let every = Term::of(&self.limits).every;
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.reap().await {
                    tracing::warn!(error = ?e.log_detail(), "reaping processes failed");
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    fn end_of(&self, id: Uuid) -> Option<watch::Receiver<i64>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).get(&id).map(|l| l.end.clone())
    }

    fn forget(&self, id: Uuid) {
        self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}
