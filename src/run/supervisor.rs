//! Drives one run from the first output line to its closing RunFinished: parse, number,
//! store, publish; watch for cancel and timeout; record the outcome on the run row.

use std::{sync::Arc, time::Duration};

use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use tokio_util::sync::CancellationToken;

use super::{
    events::{EventBody, Parsed, parse_line},
    manager::RunManager,
    writer::EventWriter,
};
use crate::{
    backend::exec::{ExecHandle, ExecOutput},
    db::is_postgres,
    entity::{
        agent_run,
        change_log::{self, Change},
        enums::RunStatus,
        now, sandbox,
    },
    error::AppResult,
};

/// Events stored per INSERT statement (batching for throughput, not a limit).
const EVENTS_PER_INSERT: usize = 256;

use super::outcome::{Outcome, Stop, finish_event};

/// Runs to completion in its own task.
pub async fn supervise(
    mgr: Arc<RunManager>,
    run: agent_run::Model,
    handle: AppResult<ExecHandle>,
    cancel: CancellationToken,
) {
    let started = std::time::Instant::now();
    let _active = crate::metrics::run();
    // Seq 1 is the RunStarted event stored with the run row.
    let mut w = EventWriter::new(mgr.db.clone(), mgr.hub.clone(), run.id, 1, is_postgres(&mgr.db));
    let mut out = Outcome::default();
    let mut session: Option<String> = None;
    match handle {
        Err(e) => out.start_error = Some(e.public_message()),
        Ok(h) => pump(&mgr, &run, h, &cancel, &mut w, &mut out, &mut session).await,
    }
    if out.stop.is_none() {
        // The gateway may have refused the run's requests (on any instance): that is why
        // Claude stopped, whatever it reports.
        if let Ok(Some(row)) = agent_run::Entity::find_by_id(run.id).one(&mgr.db).await
            && let Some(reason) = row.stop_reason
        {
            out.stop = Some(Stop::Refused(reason));
        }
    }
    let (status, finished) = finish_event(&out, started.elapsed(), mgr.limits.run_timeout_secs);
    if let Err(e) = record(&mgr, &run, status, &out, finished, started.elapsed(), &mut w).await {
        tracing::error!(run_id = %run.id, error = ?e, "could not record the end of a run");
    }
    mgr.finished(run.id);
}

async fn pump(
    mgr: &RunManager,
    run: &agent_run::Model,
    mut h: ExecHandle,
    cancel: &CancellationToken,
    w: &mut EventWriter,
    out: &mut Outcome,
    session: &mut Option<String>,
) {
    let deadline = tokio::time::sleep(Duration::from_secs(mgr.limits.run_timeout_secs));
    tokio::pin!(deadline);
    let mut renew = tokio::time::interval(Duration::from_secs((mgr.limits.lease_secs / 3).max(1)));
    renew.tick().await;
    loop {
        let stopping = out.stop.is_some();
        let first = tokio::select! {
            _ = cancel.cancelled(), if !stopping => {
                out.stop = Some(mgr.stop_reason().unwrap_or(Stop::Cancelled));
                h.cancel.cancel();
                continue;
            }
            _ = &mut deadline, if !stopping => { out.stop = Some(Stop::TimedOut); h.cancel.cancel(); continue; }
            _ = renew.tick(), if !stopping => {
                if !mgr.renew_lease(run.id).await {
                    out.stop = Some(Stop::LeaseLost);
                    h.cancel.cancel();
                }
                continue;
            }
            msg = h.output.recv() => msg,
        };
        let Some(msg) = first else { break };
        let mut ended = take(msg, w, out);
        while !ended && w.pending() < EVENTS_PER_INSERT {
            match h.output.try_recv() {
                Ok(msg) => ended = take(msg, w, out),
                Err(_) => break,
            }
        }
        let new_session = first_session(w, session);
        if w.flush().await.is_err() && out.stop.is_none() {
            // What cannot be stored is not published; the run ends FAILED.
            w.discard_pending();
            out.stop = Some(Stop::StoreFailed);
            h.cancel.cancel();
        }
        if let Some(sid) = new_session {
            remember_session(mgr, run, &sid).await;
        }
        if ended {
            break;
        }
    }
}

/// Turns one piece of process output into queued events; true when the process exited.
fn take(msg: ExecOutput, w: &mut EventWriter, out: &mut Outcome) -> bool {
    match msg {
        ExecOutput::Stdout(line) if line.trim().is_empty() => {}
        ExecOutput::Stdout(line) => {
            for p in parse_line(&line) {
                match p {
                    Parsed::Event(e) => w.push(e),
                    Parsed::Result(r) => out.result = Some(r),
                }
            }
        }
        ExecOutput::Stderr(line) => {
            out.last_stderr = Some(line.chars().take(500).collect());
            w.push(EventBody::raw("stderr", &line, None));
        }
        ExecOutput::Exited(code) => {
            out.exit = Some(code);
            return true;
        }
    }
    false
}

/// The session id of a SessionStarted among the queued events, the first time one appears.
fn first_session(w: &EventWriter, known: &mut Option<String>) -> Option<String> {
    if known.is_some() {
        return None;
    }
    let sid = w.pending_session()?;
    *known = Some(sid.clone());
    Some(sid)
}

/// Stores the session id on the run and the sandbox as soon as Claude reports it, so the
/// next run resumes it even if this one is interrupted.
async fn remember_session(mgr: &RunManager, run: &agent_run::Model, sid: &str) {
    let r =
        agent_run::ActiveModel { id: Set(run.id), claude_session_id: Set(Some(sid.to_string())), ..Default::default() };
    let s = sandbox::ActiveModel {
        id: Set(run.sandbox_id),
        claude_session_id: Set(Some(sid.to_string())),
        ..Default::default()
    };
    if let Err(e) = r.update(&mgr.db).await {
        tracing::warn!(run_id = %run.id, error = %e, "could not store session id on run");
    }
    if let Err(e) = s.update(&mgr.db).await {
        tracing::warn!(run_id = %run.id, error = %e, "could not store session id on sandbox");
    }
}

async fn record(
    mgr: &RunManager,
    run: &agent_run::Model,
    status: RunStatus,
    out: &Outcome,
    finished: EventBody,
    elapsed: Duration,
    w: &mut EventWriter,
) -> AppResult<()> {
    let error = match &finished {
        EventBody::RunFinished { error, .. } => error.clone(),
        _ => None,
    };
    let Some(before) = agent_run::Entity::find_by_id(run.id).one(&mgr.db).await? else { return Ok(()) };
    let r = out.result.clone().unwrap_or_default();
    let mut am: agent_run::ActiveModel = before.clone().into();
    am.status = Set(status);
    am.cost_usd = Set(r.total_cost_usd);
    am.duration_ms = Set(Some(r.duration_ms.unwrap_or(elapsed.as_millis() as i64)));
    am.num_turns = Set(r.num_turns);
    am.error = Set(error);
    am.updated_at = Set(now());
    if out.stop == Some(Stop::LeaseLost) {
        // Another instance already ended this run; its record stands.
        return Ok(());
    }
    let Some(after) = w.finish(finished, am).await? else { return Ok(()) };
    let change =
        Change { actor: Some(run.account_id), entity: "agent_runs", entity_id: run.id, action: "run_finished" };
    change_log::record(&mgr.db, change, Some(&before), Some(&after)).await
}
