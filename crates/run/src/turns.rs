//! Turn ends, for whoever keeps state at them (checkpoints live above this crate): the
//! supervisor calls the [`TurnHook`] once a turn's output is in and before the turn's end
//! is published or the next message reaches Claude, so the state it keeps is the turn's.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

/// Where a run stood when a turn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnEnd {
    /// The run.
    pub run_id: Uuid,
    /// Its account.
    pub account_id: Uuid,
    /// Its sandbox.
    pub sandbox_id: Uuid,
    /// Which turn of the run (1, 2, 3…).
    pub turn: i64,
    /// Claude's session, once it said which.
    pub session_id: Option<String>,
    /// The uuid of the last message Claude wrote to that session.
    pub resume_at: Option<String>,
}

/// What is done at each turn's end.
#[async_trait]
pub trait TurnHook: Send + Sync {
    /// Called once per turn; failures are the hook's to log (the run goes on).
    async fn turn_ended(&self, end: TurnEnd);
}

/// The hook a manager calls, set once at start-up.
pub type SharedHook = Arc<std::sync::OnceLock<Arc<dyn TurnHook>>>;

/// The `uuid` of a stream-json `assistant` line (the message a session can resume at).
pub fn assistant_uuid(line: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "type")]
        kind: Option<String>,
        uuid: Option<String>,
    }
    if !line.contains("\"assistant\"") {
        return None;
    }
    let head: Head = serde_json::from_str(line).ok()?;
    let uuid = head.uuid.filter(|_| head.kind.as_deref() == Some("assistant"))?;
    // Only a well-formed uuid is ever passed back to Claude as an argument.
    Uuid::parse_str(&uuid).ok().map(|u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_assistant_lines_uuid_is_taken() {
        let line = r#"{"type":"assistant","uuid":"27dfd0a1-cda3-415c-b44b-af9674864def","message":{}}"#;
        assert_eq!(assistant_uuid(line).as_deref(), Some("27dfd0a1-cda3-415c-b44b-af9674864def"));
        assert_eq!(assistant_uuid(r#"{"type":"user","uuid":"27dfd0a1-cda3-415c-b44b-af9674864def"}"#), None);
        assert_eq!(assistant_uuid(r#"{"type":"assistant","uuid":"--help"}"#), None);
        assert_eq!(assistant_uuid("not json \"assistant\""), None);
    }
}
