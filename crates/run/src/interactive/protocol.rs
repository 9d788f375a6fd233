//! The conversation with a Claude process in stream-json input mode, as a state machine
//! with no I/O: what to write to its stdin (user messages, permission answers, interrupts),
//! which events to record, and when to close stdin (Claude then finishes and exits).
//!
//! One turn at a time: a message sent while Claude works waits here and is written when
//! the turn's `result` arrives, so every message gets its own turn and its own result.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use super::inputs::{Answer, Input, InputKind};
use crate::entity::enums::PermissionStatus;
use crate::events::EventBody;

/// Something the supervisor must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Write this line (newline included) to Claude's stdin.
    Write(Vec<u8>),
    /// Store and publish this event.
    Emit(EventBody),
    /// Close Claude's stdin: it finishes what it has and exits.
    Close,
}

/// Conversation state of one run.
#[derive(Debug)]
pub struct Conversation {
    interactive: bool,
    busy: bool,
    ending: bool,
    closed: bool,
    interrupted: bool,
    queue: VecDeque<String>,
    pending: HashMap<String, Instant>,
    idle_since: Option<Instant>,
    requests: u64,
}

/// One JSON line for stdin.
fn line(v: &Value) -> Vec<u8> {
    let mut b = v.to_string().into_bytes();
    b.push(b'\n');
    b
}

fn user_line(text: &str) -> Vec<u8> {
    line(
        &json!({"type": "user", "message": {"role": "user", "content": text}, "parent_tool_use_id": null, "session_id": ""}),
    )
}

impl Conversation {
    /// A conversation that stays open for follow-ups when `interactive`.
    pub fn new(interactive: bool) -> Self {
        Self {
            interactive,
            busy: false,
            ending: false,
            closed: false,
            interrupted: false,
            queue: VecDeque::new(),
            pending: HashMap::new(),
            idle_since: None,
            requests: 0,
        }
    }

    /// The first prompt.
    pub fn start(&mut self, prompt: &str) -> Vec<Step> {
        self.busy = true;
        vec![Step::Write(user_line(prompt))]
    }

    /// Whether Claude is in a turn (it was sent a message and has not answered it).
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// Whether stdin is closed (the process is finishing).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Whether the last turn that ended was stopped by an interrupt.
    pub fn last_turn_interrupted(&self) -> bool {
        self.interrupted
    }

    fn close(&mut self) -> Vec<Step> {
        if self.closed {
            return vec![];
        }
        self.closed = true;
        self.queue.clear();
        vec![Step::Close]
    }

    fn send(&mut self, text: String) -> Vec<Step> {
        self.busy = true;
        self.idle_since = None;
        self.interrupted = false;
        vec![Step::Write(user_line(&text)), Step::Emit(EventBody::UserMessage { text })]
    }

    /// Claude's turn ended (its `result` line): the next queued message, or the end.
    pub fn on_result(&mut self, now: Instant) -> Vec<Step> {
        self.busy = false;
        if self.ending || self.closed {
            return self.close();
        }
        if let Some(text) = self.queue.pop_front() {
            return self.send(text);
        }
        if !self.interactive {
            return self.close();
        }
        self.idle_since = Some(now);
        vec![]
    }

    /// An input a user queued for the run.
    pub fn on_input(&mut self, input: Input) -> Vec<Step> {
        if self.closed {
            return vec![];
        }
        match input.kind {
            InputKind::Message => {
                let text = input.text.unwrap_or_default();
                if self.busy || self.ending {
                    self.queue.push_back(text);
                    vec![]
                } else {
                    self.send(text)
                }
            }
            InputKind::Interrupt if self.busy => {
                self.requests += 1;
                self.interrupted = true;
                let req = json!({"type": "control_request", "request_id": format!("sqlint_{}", self.requests),
                    "request": {"subtype": "interrupt"}});
                vec![Step::Write(line(&req))]
            }
            InputKind::Interrupt => vec![],
            InputKind::End => {
                self.ending = true;
                if self.busy { vec![] } else { self.close() }
            }
        }
    }

    /// Claude asks permission for a tool call; it waits until `deadline`.
    pub fn on_asked(&mut self, request_id: &str, deadline: Instant) {
        self.pending.insert(request_id.to_string(), deadline);
    }

    /// Requests still waiting for an answer.
    pub fn pending(&self) -> Vec<String> {
        self.pending.keys().cloned().collect()
    }

    /// Requests whose deadline passed.
    pub fn expired(&self, now: Instant) -> Vec<String> {
        self.pending.iter().filter(|(_, d)| **d <= now).map(|(id, _)| id.clone()).collect()
    }

    /// Claude withdrew a request: no answer may be written for it.
    pub fn on_withdrawn(&mut self, request_id: &str) -> bool {
        self.pending.remove(request_id).is_some()
    }

    /// The answer to a request (once per request): the control response for Claude and
    /// the PermissionAnswered event.
    pub fn on_answer(&mut self, request_id: &str, answer: &Answer) -> Vec<Step> {
        if self.pending.remove(request_id).is_none() {
            return vec![];
        }
        let allow = answer.status == PermissionStatus::Allowed;
        let reply = permission_reply(request_id, answer);
        let event = EventBody::PermissionAnswered {
            request_id: request_id.to_string(),
            allow,
            decided_by: answered_by(answer).to_string(),
            message: answer.message.clone(),
        };
        vec![Step::Write(line(&reply)), Step::Emit(event)]
    }

    /// Whether an interactive run has waited `idle` with nothing to do.
    pub fn idle_expired(&self, now: Instant, idle: Duration) -> bool {
        !self.busy && !self.closed && self.pending.is_empty() && self.idle_since.is_some_and(|t| now - t >= idle)
    }
}

/// Who decided, in the words of PermissionAnswered.decidedBy.
fn answered_by(a: &Answer) -> &'static str {
    match a.status {
        PermissionStatus::TimedOut => "TIMEOUT",
        PermissionStatus::Withdrawn => "WITHDRAWN",
        _ => "USER",
    }
}

/// The `control_response` answering a `can_use_tool` request.
pub fn permission_reply(request_id: &str, a: &Answer) -> Value {
    let response = if a.status == PermissionStatus::Allowed {
        // `{}` tells Claude to use the tool's input unchanged.
        json!({"behavior": "allow", "updatedInput": a.updated_input.clone().unwrap_or_else(|| json!({}))})
    } else {
        let message = a.message.clone().unwrap_or_else(|| "The user denied this tool call.".to_string());
        json!({"behavior": "deny", "message": message})
    };
    json!({"type": "control_response", "response": {"subtype": "success", "request_id": request_id, "response": response}})
}

/// The `control_response` refusing a request the server does not serve (hooks, MCP…).
pub fn unsupported_reply(request_id: &str, subtype: &str) -> Vec<u8> {
    line(&json!({"type": "control_response", "response": {"subtype": "error", "request_id": request_id,
        "error": format!("sandboxql does not answer `{subtype}` requests")}}))
}

#[cfg(test)]
mod tests;
