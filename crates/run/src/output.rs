//! Turning a run's process output into queued events, and keeping the session id Claude
//! reports on the run and its sandbox.

use sea_orm::{ActiveModelTrait, Set};

use super::{
    events::{EventBody, Parsed, parse_line},
    interactive::driver::Talk,
    manager::RunManager,
    outcome::{Outcome, Stop},
    writer::EventWriter,
};
use crate::{
    backend::exec::ExecOutput,
    entity::{agent_run, sandbox},
};

/// Turns one piece of process output into queued events; true when the process exited.
pub(super) fn take(
    msg: ExecOutput,
    w: &mut EventWriter,
    out: &mut Outcome,
    talk: Option<&mut Talk>,
    last_uuid: &mut Option<String>,
) -> bool {
    match msg {
        ExecOutput::Stdout(line) if line.trim().is_empty() => {}
        ExecOutput::Stdout(line) => {
            if let Some(uuid) = super::turns::assistant_uuid(&line) {
                *last_uuid = Some(uuid);
            }
            let mut talk = talk;
            for p in parse_line(&line) {
                match p {
                    Parsed::Event(e) => w.push(e),
                    Parsed::Result(r) => {
                        if let Some(t) = talk.as_deref_mut() {
                            t.on_result(&r, w);
                        }
                        out.result = Some(r);
                    }
                    Parsed::Control(c) => {
                        if let Some(t) = talk.as_deref_mut() {
                            t.on_control(c, w);
                        }
                    }
                }
            }
        }
        ExecOutput::Stderr(line) => {
            out.last_stderr = Some(line.chars().take(500).collect());
            w.push(EventBody::raw("stderr", &line, None));
        }
        ExecOutput::OutOfMemory => {
            if out.stop.is_none() {
                out.stop = Some(Stop::OutOfMemory);
            }
        }
        ExecOutput::Exited(code) => {
            out.exit = Some(code);
            return true;
        }
    }
    false
}

/// The session id of a SessionStarted among the queued events, the first time one appears.
pub(super) fn first_session(w: &EventWriter, known: &mut Option<String>) -> Option<String> {
    if known.is_some() {
        return None;
    }
    let sid = w.pending_session()?;
    *known = Some(sid.clone());
    Some(sid)
}

/// Stores the session id on the run and the sandbox as soon as Claude reports it, so the
/// next run resumes it even if this one is interrupted.
pub(super) async fn remember_session(mgr: &RunManager, run: &agent_run::Model, sid: &str) {
    let r =
        agent_run::ActiveModel { id: Set(run.id), claude_session_id: Set(Some(sid.to_string())), ..Default::default() };
    let s = sandbox::ActiveModel {
        id: Set(run.sandbox_id),
        claude_session_id: Set(Some(sid.to_string())),
        // A rewind's or fork's resume point is used once: the session it forked is new.
        claude_resume_at: Set(None),
        ..Default::default()
    };
    if let Err(e) = r.update(&mgr.db).await {
        tracing::warn!(run_id = %run.id, error = %e, "could not store session id on run");
    }
    if let Err(e) = s.update(&mgr.db).await {
        tracing::warn!(run_id = %run.id, error = %e, "could not store session id on sandbox");
    }
}
