//! Drives one run from the first output line to its closing RunFinished: parse, number,
//! store, publish; watch for cancel and timeout; record the outcome on the run row.

use std::{sync::Arc, time::Duration};

use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use tokio_util::sync::CancellationToken;

use super::{
    events::{ClaudeResult, EventBody, Parsed, parse_line},
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

/// What ended the process, as far as the supervisor saw.
#[derive(Default)]
struct Outcome {
    result: Option<ClaudeResult>,
    exit: Option<Option<i32>>,
    cancelled: bool,
    timed_out: bool,
    start_error: Option<String>,
    last_stderr: Option<String>,
}

/// Runs to completion in its own task.
pub async fn supervise(
    mgr: Arc<RunManager>,
    run: agent_run::Model,
    handle: AppResult<ExecHandle>,
    cancel: CancellationToken,
) {
    let started = std::time::Instant::now();
    let mut w = EventWriter::new(mgr.db.clone(), mgr.hub.clone(), run.id, 0, is_postgres(&mgr.db));
    let mut out = Outcome::default();
    let mut session: Option<String> = None;
    match handle {
        Err(e) => out.start_error = Some(e.public_message()),
        Ok(h) => pump(&mgr, &run, h, &cancel, &mut w, &mut out, &mut session).await,
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
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled(), if !out.cancelled => { out.cancelled = true; h.cancel.cancel(); continue; }
            _ = &mut deadline, if !out.timed_out => { out.timed_out = true; h.cancel.cancel(); continue; }
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
        w.flush().await;
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

fn finish_event(out: &Outcome, elapsed: Duration, timeout_secs: u64) -> (RunStatus, EventBody) {
    let r = out.result.clone().unwrap_or_default();
    let exit_code = out.exit.flatten();
    let (status, error) = if out.cancelled {
        (RunStatus::Cancelled, Some("cancelled".to_string()))
    } else if out.timed_out {
        (RunStatus::Failed, Some(format!("the run exceeded its time limit of {timeout_secs} s")))
    } else if let Some(e) = &out.start_error {
        (RunStatus::Failed, Some(e.clone()))
    } else if out.result.is_some() && !r.is_error && exit_code == Some(0) {
        (RunStatus::Succeeded, None)
    } else {
        let why = match (&out.result, exit_code) {
            (Some(r), _) if r.is_error => format!("claude reported {}", r.subtype.as_deref().unwrap_or("an error")),
            (_, Some(0)) => "claude ended without a result".to_string(),
            (_, Some(code)) => format!("claude exited with code {code}"),
            (_, None) => "claude was killed by a signal".to_string(),
        };
        let why = match &out.last_stderr {
            Some(line) if out.result.is_none() => format!("{why}: {line}"),
            _ => why,
        };
        (RunStatus::Failed, Some(why))
    };
    let body = EventBody::RunFinished {
        status: status_name(status).to_string(),
        subtype: r.subtype,
        is_error: status != RunStatus::Succeeded,
        result: r.result,
        duration_ms: Some(r.duration_ms.unwrap_or(elapsed.as_millis() as i64)),
        num_turns: r.num_turns,
        total_cost_usd: r.total_cost_usd,
        usage: r.usage,
        exit_code,
        error,
    };
    (status, body)
}

/// The wire name of a run status.
pub fn status_name(s: RunStatus) -> &'static str {
    match s {
        RunStatus::Running => "RUNNING",
        RunStatus::Succeeded => "SUCCEEDED",
        RunStatus::Failed => "FAILED",
        RunStatus::Cancelled => "CANCELLED",
        RunStatus::Interrupted => "INTERRUPTED",
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
    let after = w.finish(finished, am).await?;
    let change =
        Change { actor: Some(run.account_id), entity: "agent_runs", entity_id: run.id, action: "run_finished" };
    change_log::record(&mgr.db, change, Some(&before), Some(&after)).await
}
