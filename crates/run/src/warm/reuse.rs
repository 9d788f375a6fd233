//! Keeping a run's own Claude for the sandbox's next run. A run that talked to Claude
//! over stdin and ended well leaves the process as it is after a turn: started, its
//! session loaded, its code warm, reading its input for the next message. That process
//! waits like a warm one (the same place, bounds, idle end and claim by key), so the next
//! run's first words come without any start-up at all.
//!
//! Its key is the one a fresh warm process would have now: `--resume` of the session it
//! continues and the settings of the run that left it; a run with other settings stops
//! it and starts cold, as for any warm process. Only where a waiting command ends by
//! itself once its server is gone (the local jail; Modal's heartbeat-guarded input).

use std::sync::Arc;

use tokio::sync::mpsc;
use uuid::Uuid;

use super::start::Waiting;
use crate::{
    backend::exec::ExecHandle,
    config::Secret,
    entity::{agent_run, enums::RunPermissionMode, new_id},
    interactive::driver::Talk,
    manager::RunManager,
    outcome::Outcome,
};

/// A process a run ended with, still alive and reading its input.
pub struct Parked {
    /// Its output and cancel.
    pub handle: ExecHandle,
    /// Its input.
    pub stdin: mpsc::Sender<Vec<u8>>,
    /// The gateway token it holds.
    pub token: Secret,
    /// What Claude's last result line reported as the process's whole cost.
    pub cost: Option<f64>,
}

impl Parked {
    /// At a run's end: the run's cost made its own (the process's result lines sum up
    /// everything it did, earlier runs too), and the process, when Claude was left waiting
    /// between turns and nothing stopped the run.
    pub(crate) fn take(
        out: &mut Outcome,
        talk: Option<&mut Talk>,
        handle: ExecHandle,
        token: Secret,
        cost_before: Option<f64>,
    ) -> Option<Self> {
        let cost = out.result.as_ref().and_then(|r| r.total_cost_usd);
        if let (Some(r), Some(before)) = (out.result.as_mut(), cost_before) {
            r.total_cost_usd = r.total_cost_usd.map(|c| (c - before).max(0.0));
        }
        let stdin = talk.and_then(Talk::take_parked).filter(|_| out.stop.is_none())?;
        out.kept_waiting = true;
        Some(Self { handle, stdin, token, cost })
    }
}

impl RunManager {
    /// Whether runs may leave their Claude for the next run here: warm starts and reuse
    /// on, a waiting command ends without its server, the server is not stopping.
    pub fn keeps_processes(&self) -> bool {
        let warm = &self.limits.warm;
        warm.warm_starts
            && warm.warm_reuse
            && self.backend.idle_commands_end_without_server()
            && self.stop_reason().is_none()
    }

    /// Files the process `run` ended with as its sandbox's warm Claude; false (and the
    /// process stopped) when the sandbox may not have one now or no place is free.
    pub async fn reuse(self: &Arc<Self>, run: &agent_run::Model, parked: Parked) -> bool {
        let cancel = parked.handle.cancel.clone();
        let kept = match self.try_reuse(run, parked).await {
            Ok(kept) => kept,
            Err(e) => {
                tracing::warn!(run_id = %run.id, error = ?e.log_detail(), "could not keep a run's claude");
                false
            }
        };
        if !kept {
            cancel.cancel();
        }
        kept
    }

    async fn try_reuse(self: &Arc<Self>, run: &agent_run::Model, parked: Parked) -> crate::error::AppResult<bool> {
        if !self.keeps_processes() {
            return Ok(false);
        }
        let Some((sb, _, template)) = self.fit_for_warm(run.sandbox_id).await? else { return Ok(false) };
        // A rewind since wants a process at its checkpoint, not this one.
        if sb.claude_resume_at.is_some() || sb.claude_session_id.is_none() {
            return Ok(false);
        }
        let ask = run.permission_mode == RunPermissionMode::Ask;
        let key =
            self.warm_key(&sb, &template, sb.claude_session_id.as_deref(), run.model.as_deref(), run.max_turns, ask);
        let place: Uuid = new_id();
        if !self.reserve(&sb, place).await? {
            return Ok(false);
        }
        let waiting =
            Waiting { place, run_id: None, token: parked.token, key, stdin: parked.stdin, cost_before: parked.cost };
        self.keep_waiting(sb.id, waiting, parked.handle);
        tracing::debug!(sandbox_id = %sb.id, run_id = %run.id, "the run's claude waits for the next run");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::ClaudeResult;

    #[test]
    fn a_kept_process_s_earlier_cost_is_not_the_next_run_s() {
        let (_tx, rx) = mpsc::channel(1);
        let handle = ExecHandle { output: rx, cancel: Default::default() };
        let result = ClaudeResult { total_cost_usd: Some(0.75), ..Default::default() };
        let mut out = Outcome { result: Some(result), ..Default::default() };
        // No conversation (a one-shot cold run): nothing is kept, the cost is the run's.
        assert!(Parked::take(&mut out, None, handle, Secret("t".into()), Some(0.5)).is_none());
        let cost = out.result.and_then(|r| r.total_cost_usd).unwrap();
        assert!((cost - 0.25).abs() < 1e-9, "{cost}");
        assert!(!out.kept_waiting);
    }
}
