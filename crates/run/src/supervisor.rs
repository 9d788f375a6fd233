//! Drives one run from the first output line to its closing RunFinished: parse, number,
//! store, publish; watch for cancel and timeout; record the outcome on the run row.

use std::{sync::Arc, time::Duration};

use sea_orm::{EntityTrait, Set};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{
    events::EventBody,
    interactive::driver::{Talk, TalkLimits},
    manager::RunManager,
    writer::EventWriter,
};
use crate::{
    backend::exec::ExecHandle,
    db::is_postgres,
    entity::{
        agent_run,
        change_log::{self, Change},
        enums::{RunPermissionMode, RunStatus},
        now,
    },
    error::{AppError, AppResult},
};

/// Events stored per INSERT statement (batching for throughput, not a limit).
const EVENTS_PER_INSERT: usize = 256;

use super::outcome::{Outcome, Stop, finish_event};
use super::output::{first_session, remember_session, take};
use super::warm::Parked;

/// How the supervisor reaches a run: its cancel, its stdin (interactive and ASK runs)
/// and the signal that inputs wait for it.
pub struct RunIo {
    /// Cancelled to stop the run.
    pub cancel: CancellationToken,
    /// Claude's stdin, for runs that talk over it.
    pub stdin: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
    /// Notified when inputs were queued for the run.
    pub wake: Arc<Notify>,
    /// The gateway token the process holds (kept with it when it waits for the next run).
    pub token: crate::config::Secret,
    /// The cost the process had reported before this run (a process an earlier run left).
    pub cost_before: Option<f64>,
}

/// Runs to completion in its own task.
pub async fn supervise(mgr: Arc<RunManager>, run: agent_run::Model, handle: AppResult<ExecHandle>, io: RunIo) {
    let started = std::time::Instant::now();
    let _active = crate::metrics::run();
    // Seq 1 is the RunStarted event stored with the run row.
    let mut w = EventWriter::new(mgr.db.clone(), mgr.hub.clone(), run.id, 1, is_postgres(&mgr.db))
        .with_owner(run.account_id, run.sandbox_id);
    let mut out = Outcome::default();
    let mut session: Option<String> = None;
    let mut parked = None;
    match handle {
        Err(AppError::NotFound("program")) => out.not_found = true,
        Err(e) => out.start_error = Some(e.public_message()),
        Ok(mut h) => {
            let keep_process = mgr.keeps_processes();
            let mut talk = io.stdin.map(|tx| {
                let l = &mgr.limits;
                let limits = TalkLimits {
                    permission_timeout: Duration::from_secs(l.permission_timeout_secs),
                    idle: Duration::from_secs(l.run_idle_secs),
                    max_pending: l.max_pending_run_inputs as usize,
                    hold_at_turn_end: mgr.turn_hook.get().is_some(),
                    keep_process,
                };
                let ask = run.permission_mode == RunPermissionMode::Ask;
                Talk::start(&run.prompt, tx, run.interactive, ask, limits)
            });
            let mut ctx = Pump {
                mgr: &mgr,
                run: &run,
                cancel: &io.cancel,
                wake: &io.wake,
                talk: talk.as_mut(),
                turns: Turns { kept: 0, open: true, last_uuid: None },
            };
            ctx.pump(&mut h, &mut w, &mut out, &mut session).await;
            // A turn still open when Claude stopped (a one-shot run, a cancel) is kept now.
            let open = match ctx.talk.as_deref() {
                Some(t) if t.has_turns() => t.turn_open(),
                _ => ctx.turns.open,
            };
            if open {
                ctx.keep_turn(&session).await;
            }
            if let Some(t) = &talk {
                out.interrupted_last_turn = t.last_turn_interrupted();
            }
            parked = Parked::take(&mut out, talk.as_mut(), h, io.token, io.cost_before);
        }
    }
    // Requests nobody answered before the run ended can no longer be answered.
    if let Err(e) = super::interactive::inputs::withdraw_all(&mgr.db, run.id).await {
        tracing::warn!(run_id = %run.id, error = ?e, "could not close a run's permission requests");
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
    // The sandbox's next run starts warm, unless the server is stopping: on this run's
    // own Claude when it waits, else on a new one.
    if let Some(p) = parked.filter(|_| out.stop.is_none())
        && mgr.reuse(&run, p).await
    {
        return;
    }
    if mgr.stop_reason().is_none() {
        mgr.prepare_warm(run.sandbox_id).await;
    }
}

/// Where the run's turns stand, for the turn hook.
struct Turns {
    /// Turns kept so far.
    kept: i64,
    /// Whether a one-shot run's turn is still to be kept (runs that talk ask their Talk).
    open: bool,
    /// The last message Claude wrote.
    last_uuid: Option<String>,
}

/// What the output loop works with.
struct Pump<'a> {
    mgr: &'a RunManager,
    run: &'a agent_run::Model,
    cancel: &'a CancellationToken,
    wake: &'a Notify,
    talk: Option<&'a mut Talk>,
    turns: Turns,
}

impl Pump<'_> {
    /// Hands the turn that just ended to the turn hook (bounded by the checkpoint timeout).
    async fn keep_turn(&mut self, session: &Option<String>) {
        self.turns.open = false;
        let Some(hook) = self.mgr.turn_hook.get() else { return };
        self.turns.kept += 1;
        let end = super::turns::TurnEnd {
            run_id: self.run.id,
            account_id: self.run.account_id,
            sandbox_id: self.run.sandbox_id,
            turn: self.turns.kept,
            session_id: session.clone().or_else(|| self.run.claude_session_id.clone()),
            resume_at: self.turns.last_uuid.clone(),
        };
        let wait = Duration::from_millis(self.mgr.limits.checkpoints.checkpoint_timeout_ms);
        if tokio::time::timeout(wait, hook.turn_ended(end)).await.is_err() {
            tracing::warn!(run_id = %self.run.id, "a turn's checkpoint took too long; the run goes on without it");
        }
    }

    async fn pump(&mut self, h: &mut ExecHandle, w: &mut EventWriter, out: &mut Outcome, session: &mut Option<String>) {
        let (mgr, run, cancel) = (self.mgr, self.run, self.cancel);
        let deadline = tokio::time::sleep(Duration::from_secs(mgr.limits.run_timeout_secs));
        tokio::pin!(deadline);
        let mut renew = tokio::time::interval(crate::entity::lease::Term::of(&mgr.limits).every);
        renew.tick().await;
        // Inputs from other instances arrive by notification; the poll catches a missed one
        // and times out unanswered permission requests.
        let mut poll = tokio::time::interval(Duration::from_millis(500));
        let talks = self.talk.is_some();
        loop {
            let stopping = out.stop.is_some();
            let first = tokio::select! {
                _ = self.wake.notified(), if talks && !stopping => { self.sync(w, out, h).await; if self.parked() { break } continue; }
                _ = poll.tick(), if talks && !stopping => { self.sync(w, out, h).await; if self.parked() { break } continue; }
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
            let last_uuid = &mut self.turns.last_uuid;
            let mut ended = take(msg, w, out, self.talk.as_deref_mut(), last_uuid);
            while !ended && w.pending() < EVENTS_PER_INSERT {
                match h.output.try_recv() {
                    Ok(msg) => ended = take(msg, w, out, self.talk.as_deref_mut(), last_uuid),
                    Err(_) => break,
                }
            }
            let new_session = first_session(w, session);
            // A turn ended: it is kept before its end is published or Claude hears more.
            if self.talk.as_deref().is_some_and(Talk::holding) {
                self.keep_turn(session).await;
                if let Some(t) = self.talk.as_deref_mut() {
                    t.release();
                }
            }
            // Permission requests exist in the database before anyone can see them.
            if let Some(t) = self.talk.as_deref_mut()
                && let Err(e) = t.record(&mgr.db, run).await
                && out.stop.is_none()
            {
                tracing::error!(run_id = %run.id, error = ?e, "could not record a permission request");
                w.discard_pending();
                out.stop = Some(Stop::StoreFailed);
                h.cancel.cancel();
            }
            if w.flush().await.is_err() && out.stop.is_none() {
                // What cannot be stored is not published; the run ends FAILED.
                w.discard_pending();
                out.stop = Some(Stop::StoreFailed);
                h.cancel.cancel();
            }
            if let Some(sid) = new_session {
                remember_session(mgr, run, &sid).await;
            }
            if ended || self.parked() {
                break;
            }
        }
    }

    /// Whether the run is over with Claude kept waiting for the next run.
    fn parked(&self) -> bool {
        self.talk.as_deref().is_some_and(Talk::parked)
    }

    /// Takes queued inputs and answers and stores what they produced.
    async fn sync(&mut self, w: &mut EventWriter, out: &mut Outcome, h: &ExecHandle) {
        let Some(t) = self.talk.as_deref_mut() else { return };
        if let Err(e) = t.sync(&self.mgr.db, self.run.id, w).await {
            tracing::warn!(run_id = %self.run.id, error = ?e, "could not read a run's inputs");
        }
        if w.pending() > 0 && w.flush().await.is_err() && out.stop.is_none() {
            w.discard_pending();
            out.stop = Some(Stop::StoreFailed);
            h.cancel.cancel();
        }
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
