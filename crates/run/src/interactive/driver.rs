//! The supervisor's side of an interactive or ASK run: it feeds Claude's control lines and
//! results to the [`Conversation`], writes what the conversation says to Claude's stdin,
//! and keeps the database in step — permission requests recorded before anyone can see
//! them, queued inputs taken, answers read, unanswered requests denied at their deadline.

use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use tokio::sync::mpsc;

use super::{
    inputs::{self, Answer, Asked},
    protocol::{Conversation, Step, unsupported_reply},
};
use crate::{
    entity::{agent_run, enums::PermissionStatus},
    error::AppResult,
};
use crate::{
    events::{ClaudeResult, Control, EventBody},
    writer::EventWriter,
};

/// The limits a conversation keeps (from `Limits`).
#[derive(Debug, Clone, Copy)]
pub struct TalkLimits {
    /// How long a permission request waits for an answer.
    pub permission_timeout: Duration,
    /// How long an interactive run waits for a follow-up.
    pub idle: Duration,
    /// Permission requests open at once; more are denied unasked (a process in the
    /// sandbox can write fake requests into Claude's output).
    pub max_pending: usize,
    /// Hold what would go to Claude after a turn ends until [`Talk::release`] (while the
    /// turn's checkpoint is taken, so the next message cannot change the workspace first).
    pub hold_at_turn_end: bool,
    /// At the run's end, keep Claude's input open (the process waits for the sandbox's
    /// next run) instead of closing it, when no turn is under way.
    pub keep_process: bool,
}

/// What waits for [`Talk::release`].
enum Held {
    Write(Vec<u8>),
    Close,
}

/// The live conversation of a run whose stdin stays open.
pub struct Talk {
    conv: Conversation,
    stdin: Option<mpsc::Sender<Vec<u8>>>,
    ask: bool,
    permission_timeout: Duration,
    idle: Duration,
    max_pending: usize,
    /// Requests asked since the last sync, to record before their events are published.
    asked: Vec<Asked>,
    /// Requests Claude withdrew, to mark in the database.
    withdrawn: Vec<String>,
    /// Each turn's end is an event (interactive and ASK runs); a one-shot run handed to
    /// a warm process records what a cold one does: none.
    turns: bool,
    hold_at_turn_end: bool,
    /// While a turn's end is being kept: what is to go to Claude after it.
    held: Option<Vec<Held>>,
    /// Whether Claude has been sent something since its last turn ended.
    turn_open: bool,
    keep_process: bool,
    /// Whether Claude's last turn ended well (a process is kept only then).
    last_ok: bool,
    /// The input kept open at the run's end, for the next run.
    parked: Option<mpsc::Sender<Vec<u8>>>,
}

impl Talk {
    /// Starts the conversation: the run's prompt is Claude's first message.
    pub fn start(prompt: &str, stdin: mpsc::Sender<Vec<u8>>, interactive: bool, ask: bool, limits: TalkLimits) -> Self {
        let mut t = Self {
            conv: Conversation::new(interactive),
            stdin: Some(stdin),
            ask,
            permission_timeout: limits.permission_timeout,
            idle: limits.idle,
            max_pending: limits.max_pending,
            asked: Vec::new(),
            withdrawn: Vec::new(),
            turns: interactive || ask,
            hold_at_turn_end: limits.hold_at_turn_end,
            held: None,
            turn_open: false,
            keep_process: limits.keep_process,
            last_ok: false,
            parked: None,
        };
        let steps = t.conv.start(prompt);
        t.apply_io(steps);
        t
    }

    /// Whether the last turn was stopped by an interrupt (it then ended in error).
    pub fn last_turn_interrupted(&self) -> bool {
        self.conv.last_turn_interrupted()
    }

    fn apply_io(&mut self, steps: Vec<Step>) {
        for s in steps {
            match s {
                Step::Write(bytes) => self.write(bytes),
                Step::Close => self.close(),
                Step::Emit(_) => {}
            }
        }
    }

    fn apply(&mut self, steps: Vec<Step>, w: &mut EventWriter) {
        for s in steps {
            match s {
                Step::Write(bytes) => self.write(bytes),
                Step::Close => self.close(),
                Step::Emit(e) => w.push(e),
            }
        }
    }

    fn close(&mut self) {
        match self.held.as_mut() {
            Some(held) => held.push(Held::Close),
            None => self.end_input(),
        }
    }

    /// The run is done with Claude: its input closes (Claude finishes and exits), or is
    /// kept for the next run when Claude is between turns after one that ended well.
    fn end_input(&mut self) {
        let stdin = self.stdin.take();
        self.parked = stdin.filter(|_| self.keep_process && self.last_ok && !self.conv.busy());
    }

    /// Whether the run is over and Claude waits, its input kept for the next run.
    pub fn parked(&self) -> bool {
        self.parked.is_some()
    }

    /// The kept input of a parked Claude.
    pub fn take_parked(&mut self) -> Option<mpsc::Sender<Vec<u8>>> {
        self.parked.take()
    }

    /// Whether each turn's end is an event (interactive and ASK runs).
    pub fn has_turns(&self) -> bool {
        self.turns
    }

    /// Whether Claude was sent something since its last turn ended (a turn is under way).
    pub fn turn_open(&self) -> bool {
        self.turn_open
    }

    /// Whether a turn ended and its input is held.
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// Sends what was held since the turn ended.
    pub fn release(&mut self) {
        for h in self.held.take().unwrap_or_default() {
            match h {
                Held::Write(bytes) => self.write(bytes),
                Held::Close => self.end_input(),
            }
        }
    }

    fn write(&mut self, bytes: Vec<u8>) {
        if let Some(held) = self.held.as_mut() {
            held.push(Held::Write(bytes));
            return;
        }
        // Claude reads its stdin promptly; one that stops reading loses further input
        // rather than stalling the supervisor that drains its output.
        if let Some(tx) = &self.stdin {
            match tx.try_send(bytes) {
                Ok(()) => self.turn_open = true,
                Err(_) => {
                    tracing::warn!("claude is not reading its input; closing it");
                    self.stdin = None;
                }
            }
        }
    }

    /// A control line from Claude.
    pub fn on_control(&mut self, c: Control, w: &mut EventWriter) {
        match c {
            Control::CanUseTool { request_id, tool_name, tool_use_id, input } => {
                let flooded = self.conv.pending().len() >= self.max_pending;
                if !self.ask || flooded {
                    let (status, message) = match flooded {
                        true => (PermissionStatus::Denied, Some("Too many permission requests are open.".to_string())),
                        false => (PermissionStatus::Allowed, None),
                    };
                    let answer = Answer { status, by: None, message, updated_input: None };
                    let reply = super::protocol::permission_reply(&request_id, &answer);
                    let mut line = reply.to_string().into_bytes();
                    line.push(b'\n');
                    self.write(line);
                    return;
                }
                self.conv.on_asked(&request_id, Instant::now() + self.permission_timeout);
                w.push(EventBody::PermissionRequested {
                    request_id: request_id.clone(),
                    tool_name: tool_name.clone(),
                    tool_use_id: tool_use_id.clone(),
                    input: input.clone(),
                });
                self.asked.push(Asked { request_id, tool_name, tool_use_id, input });
            }
            Control::Cancelled { request_id } => {
                if self.conv.on_withdrawn(&request_id) {
                    w.push(EventBody::PermissionAnswered {
                        request_id: request_id.clone(),
                        allow: false,
                        decided_by: "WITHDRAWN".into(),
                        message: None,
                    });
                    self.withdrawn.push(request_id);
                }
            }
            Control::Other { request_id, subtype } => self.write(unsupported_reply(&request_id, &subtype)),
            Control::Response => {}
        }
    }

    /// Claude's turn ended.
    pub fn on_result(&mut self, r: &ClaudeResult, w: &mut EventWriter) {
        self.turn_open = false;
        self.last_ok = !r.is_error && !self.conv.last_turn_interrupted();
        if self.turns {
            w.push(EventBody::TurnFinished {
                is_error: r.is_error,
                result: r.result.clone(),
                subtype: r.subtype.clone(),
                interrupted: self.conv.last_turn_interrupted(),
            });
            if self.hold_at_turn_end && self.held.is_none() {
                self.held = Some(Vec::new());
            }
        }
        let steps = self.conv.on_result(Instant::now());
        self.apply(steps, w);
    }

    /// Records what Claude asked since the last call (before its events are published).
    pub async fn record(&mut self, db: &DatabaseConnection, run: &agent_run::Model) -> AppResult<()> {
        for a in std::mem::take(&mut self.asked) {
            inputs::record_request(db, run, &a).await?;
        }
        for id in std::mem::take(&mut self.withdrawn) {
            let answer = Answer { status: PermissionStatus::Withdrawn, by: None, message: None, updated_input: None };
            inputs::resolve(db, run.id, &id, &answer).await?;
        }
        Ok(())
    }

    /// Takes queued inputs, delivers answers, denies requests past their deadline and
    /// ends an interactive run left idle.
    pub async fn sync(&mut self, db: &DatabaseConnection, run_id: uuid::Uuid, w: &mut EventWriter) -> AppResult<()> {
        for input in inputs::take(db, run_id).await? {
            let steps = self.conv.on_input(input);
            self.apply(steps, w);
        }
        let now = Instant::now();
        let expired = self.conv.expired(now);
        for id in expired {
            let message = format!("No answer within {} s: denied.", self.permission_timeout.as_secs());
            let timeout =
                Answer { status: PermissionStatus::TimedOut, by: None, message: Some(message), updated_input: None };
            // The first answer counts: a user's that landed just before the deadline wins.
            if inputs::resolve(db, run_id, &id, &timeout).await? {
                let steps = self.conv.on_answer(&id, &timeout);
                self.apply(steps, w);
            }
        }
        for id in self.conv.pending() {
            if let Some(answer) = inputs::answer_of(db, run_id, &id).await? {
                let steps = self.conv.on_answer(&id, &answer);
                self.apply(steps, w);
            }
        }
        if self.conv.idle_expired(now, self.idle) {
            let steps = self.conv.on_input(inputs::Input { kind: inputs::InputKind::End, text: None });
            self.apply(steps, w);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
