//! How a run ended, in the terms its closing RunFinished and its row record.

use std::time::Duration;

use super::events::{ClaudeResult, EventBody};
use crate::entity::enums::RunStatus;

/// Stable values of `RunFinished.reason`.
pub mod reasons {
    /// The Claude Code CLI could not be found where the sandbox starts it.
    pub const CLAUDE_NOT_FOUND: &str = "CLAUDE_NOT_FOUND";
    /// The run went past `--run-timeout-secs`.
    pub const TIMED_OUT: &str = "TIMED_OUT";
    /// The account's budget stopped it.
    pub const BUDGET_EXCEEDED: &str = "BUDGET_EXCEEDED";
    /// The server shut down or another instance took it over.
    pub const INTERRUPTED: &str = "INTERRUPTED";
    /// Claude reported an error result.
    pub const CLAUDE_ERROR: &str = "CLAUDE_ERROR";
    /// Claude exited (or was killed) without a result.
    pub const CLAUDE_EXITED: &str = "CLAUDE_EXITED";
    /// Its events could not be stored.
    pub const STORE_FAILED: &str = "STORE_FAILED";
    /// The sandbox ran out of the memory its template allows.
    pub const OUT_OF_MEMORY: &str = "OUT_OF_MEMORY";
}

/// What a run says when the Claude CLI cannot be found.
pub const CLAUDE_NOT_FOUND_MESSAGE: &str = "the Claude Code CLI (`claude`) is not installed where this sandbox \
    starts it: install it on the server (npm install -g @anthropic-ai/claude-code) or point --claude-bin at it";

/// The exit status of a shell, `nice` or the jail's relay whose command was not found.
const EXIT_NOT_FOUND: i32 = 127;

/// Why the supervisor stopped a run before it ended by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A user cancelled it.
    Cancelled,
    /// It ran past the run timeout.
    TimedOut,
    /// Its events could not be stored.
    StoreFailed,
    /// Its lease was lost: another instance finished it.
    LeaseLost,
    /// The server shut down (the reason says so).
    Interrupted(String),
    /// The gateway refused its requests (a budget reached); the reason says which.
    Refused(String),
    /// The sandbox ran out of memory and the kernel killed a process of it.
    OutOfMemory,
}

/// What ended the process, as far as the supervisor saw.
#[derive(Default)]
pub struct Outcome {
    /// Claude's result line.
    pub result: Option<ClaudeResult>,
    /// The exit, once the process exited (None inside: killed by a signal).
    pub exit: Option<Option<i32>>,
    /// Why the supervisor stopped it, if it did.
    pub stop: Option<Stop>,
    /// The command could not be started.
    pub start_error: Option<String>,
    /// The program of the command does not exist.
    pub not_found: bool,
    /// The last line of stderr, to explain a failure.
    pub last_stderr: Option<String>,
    /// The last turn was stopped by `interruptRun` (Claude then reports an error).
    pub interrupted_last_turn: bool,
    /// Claude did not exit: it waits, between turns, for the sandbox's next run.
    pub kept_waiting: bool,
}

/// The run's final status and its closing event.
pub fn finish_event(out: &Outcome, elapsed: Duration, timeout_secs: u64) -> (RunStatus, EventBody) {
    let r = out.result.clone().unwrap_or_default();
    let exit_code = out.exit.flatten();
    let (status, error, reason) = match &out.stop {
        Some(Stop::Cancelled) => (RunStatus::Cancelled, Some("cancelled".to_string()), None),
        Some(Stop::TimedOut) => (
            RunStatus::Failed,
            Some(format!("the run exceeded its time limit of {timeout_secs} s")),
            Some(reasons::TIMED_OUT),
        ),
        Some(Stop::StoreFailed) => {
            (RunStatus::Failed, Some("the run's events could not be stored".to_string()), Some(reasons::STORE_FAILED))
        }
        Some(Stop::LeaseLost) => {
            (RunStatus::Interrupted, Some("another instance took the run over".to_string()), Some(reasons::INTERRUPTED))
        }
        Some(Stop::Interrupted(why)) => (RunStatus::Interrupted, Some(why.clone()), Some(reasons::INTERRUPTED)),
        Some(Stop::Refused(why)) => (RunStatus::Failed, Some(why.clone()), Some(reasons::BUDGET_EXCEEDED)),
        Some(Stop::OutOfMemory) => (
            RunStatus::Failed,
            Some(
                "the sandbox ran out of memory: a process was killed and the run stopped (its template sets the limit)"
                    .to_string(),
            ),
            Some(reasons::OUT_OF_MEMORY),
        ),
        None if out.not_found || (out.result.is_none() && exit_code == Some(EXIT_NOT_FOUND)) => {
            (RunStatus::Failed, Some(CLAUDE_NOT_FOUND_MESSAGE.to_string()), Some(reasons::CLAUDE_NOT_FOUND))
        }
        None => match &out.start_error {
            Some(e) => (RunStatus::Failed, Some(e.clone()), Some(reasons::CLAUDE_EXITED)),
            None if out.result.is_some() && !r.is_error && (exit_code == Some(0) || out.kept_waiting) => {
                (RunStatus::Succeeded, None, None)
            }
            // The user stopped the last turn: the run ends as they asked, not as a failure.
            None if out.interrupted_last_turn && out.result.is_some() => {
                (RunStatus::Cancelled, Some("the last turn was interrupted".to_string()), None)
            }
            None => {
                let (why, reason) = match (&out.result, exit_code) {
                    (Some(r), _) if r.is_error => (
                        format!("claude reported {}", r.subtype.as_deref().unwrap_or("an error")),
                        reasons::CLAUDE_ERROR,
                    ),
                    (_, Some(0)) => ("claude ended without a result".to_string(), reasons::CLAUDE_EXITED),
                    (_, Some(code)) => (format!("claude exited with code {code}"), reasons::CLAUDE_EXITED),
                    (_, None) => ("claude was killed by a signal".to_string(), reasons::CLAUDE_EXITED),
                };
                let why = match &out.last_stderr {
                    Some(line) if out.result.is_none() => format!("{why}: {line}"),
                    _ => why,
                };
                (RunStatus::Failed, Some(why), Some(reason))
            }
        },
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
        reason: reason.map(str::to_string),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status(out: &Outcome) -> (RunStatus, Option<String>) {
        match finish_event(out, Duration::from_secs(1), 60) {
            (s, EventBody::RunFinished { error, .. }) => (s, error),
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_clean_result_and_exit_is_success() {
        let out = Outcome { result: Some(ClaudeResult::default()), exit: Some(Some(0)), ..Outcome::default() };
        assert_eq!(status(&out), (RunStatus::Succeeded, None));
    }

    #[test]
    fn stops_say_why() {
        let cases = [
            (Stop::Cancelled, RunStatus::Cancelled),
            (Stop::TimedOut, RunStatus::Failed),
            (Stop::StoreFailed, RunStatus::Failed),
            (Stop::LeaseLost, RunStatus::Interrupted),
            (Stop::Interrupted("the server shut down".into()), RunStatus::Interrupted),
            (Stop::Refused("BUDGET_EXCEEDED: spent".into()), RunStatus::Failed),
        ];
        for (stop, want) in cases {
            let out = Outcome { stop: Some(stop.clone()), exit: Some(None), ..Outcome::default() };
            let (s, error) = status(&out);
            assert_eq!(s, want, "{stop:?}");
            assert!(error.is_some_and(|e| !e.is_empty()));
        }
    }

    #[test]
    fn a_missing_cli_is_claude_not_found() {
        for out in [
            Outcome { not_found: true, ..Outcome::default() },
            Outcome {
                exit: Some(Some(127)),
                last_stderr: Some("nice: 'claude': No such file".into()),
                ..Outcome::default()
            },
        ] {
            let (status, body) = finish_event(&out, Duration::from_secs(1), 60);
            assert_eq!(status, RunStatus::Failed);
            let EventBody::RunFinished { reason, error, .. } = body else { unreachable!() };
            assert_eq!(reason.as_deref(), Some(reasons::CLAUDE_NOT_FOUND));
            assert!(error.unwrap().contains("npm install -g @anthropic-ai/claude-code"));
        }
    }

    #[test]
    fn a_failure_quotes_stderr_when_there_is_no_result() {
        let out = Outcome { exit: Some(Some(3)), last_stderr: Some("boom".into()), ..Outcome::default() };
        assert_eq!(status(&out), (RunStatus::Failed, Some("claude exited with code 3: boom".into())));
    }
}
