//! The task beside each warm process: it keeps what the process prints before its
//! prompt (a few lines at most), stops it after the idle time or when it prints too
//! much, forgets it when it ends, and on a claim hands everything — the early lines,
//! then the rest as it comes — to the run.

use std::{sync::Arc, time::Duration};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::{forget_place, give_up_place};
use crate::{
    backend::exec::ExecOutput,
    entity::{lease::Term, now, warm_claude},
    manager::RunManager,
};

/// Output queued between the warm process and its run (the backends' own queue size).
pub(super) const HANDOVER_QUEUE: usize = 256;

/// Why a keeper stops: its process ended by itself.
const ENDED: &str = "ended before its prompt";

/// What the keeper watches.
pub(super) struct Watch {
    pub sandbox_id: Uuid,
    pub place: Uuid,
    pub output: mpsc::Receiver<ExecOutput>,
    pub cancel: CancellationToken,
    pub claim: oneshot::Receiver<mpsc::Sender<ExecOutput>>,
    pub idle: Duration,
    pub max_early_lines: usize,
    /// An earlier run's process (when it ends, a fresh one is started in its place).
    pub reused: bool,
}

/// Keeps one warm process until it is claimed or ends.
pub(super) async fn keep(mgr: Arc<RunManager>, mut w: Watch) {
    let mut early = Vec::new();
    let idle = tokio::time::sleep(w.idle);
    tokio::pin!(idle);
    let term = Term::of(&mgr.limits);
    let mut renew = tokio::time::interval(term.every);
    renew.tick().await;
    let end = loop {
        tokio::select! {
            _ = renew.tick() => {
                if !renew_place(&mgr, w.place, term).await {
                    break "its place was taken away";
                }
            }
            claim = &mut w.claim => match claim {
                Ok(run) => return hand_over(early, w.output, run).await,
                // The entry was dropped without a claim (shutdown): stop it.
                Err(_) => break "dropped",
            },
            msg = w.output.recv() => match msg {
                None | Some(ExecOutput::Exited(_)) => break ENDED,
                Some(m) if early.len() < w.max_early_lines => early.push(m),
                Some(_) => break "printed too much before its prompt",
            },
            _ = &mut idle => break "no prompt within the idle time",
        }
    };
    tracing::debug!(sandbox_id = %w.sandbox_id, place = %w.place, end, "warm claude stopped");
    w.cancel.cancel();
    mgr.warm.forget(w.sandbox_id, w.place);
    if w.reused && end == ENDED {
        // A kept process that went away (Claude ended after its run): a fresh one waits
        // instead, in its place.
        give_up_place(&mgr.db, w.place).await;
        mgr.prepare_warm(w.sandbox_id).await;
    } else {
        forget_place(&mgr.db, w.place);
    }
}

/// Extends the place's term while the process waits (a place whose instance died frees
/// itself within one term); false when the place is gone.
async fn renew_place(mgr: &RunManager, place: Uuid, term: Term) -> bool {
    let renewed = warm_claude::Entity::update_many()
        .col_expr(warm_claude::Column::Until, Expr::value(term.until()))
        .col_expr(warm_claude::Column::UpdatedAt, Expr::value(now()))
        .filter(warm_claude::Column::Id.eq(place))
        .exec(&mgr.db)
        .await;
    match renewed {
        Ok(r) => r.rows_affected > 0,
        // A database hiccup: keep waiting; the place simply lapses if it lasts.
        Err(e) => {
            tracing::warn!(%place, error = %e, "could not renew a warm process's place");
            true
        }
    }
}

/// The early lines, then everything else, to the run.
async fn hand_over(early: Vec<ExecOutput>, mut output: mpsc::Receiver<ExecOutput>, run: mpsc::Sender<ExecOutput>) {
    for m in early {
        if run.send(m).await.is_err() {
            return;
        }
    }
    while let Some(m) = output.recv().await {
        if run.send(m).await.is_err() {
            return;
        }
    }
}
