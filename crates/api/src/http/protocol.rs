//! The subscription protocols, typed: what clients send over graphql-transport-ws
//! ([`ClientMessage`], a serde-tagged enum), the close codes the server answers with
//! ([`Close`]), and what an operation sends its client ([`Frame`]), written out for a
//! websocket ([`Frame::ws_text`]) or for graphql-sse ([`Frame::sse_text`]). An operation's
//! result is serialised once, when it is produced; the transports only wrap it.

use async_graphql::{Request, Response, ServerError, Value};
use serde::Deserialize;

/// A graphql-transport-ws message from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message: credentials in the payload.
    ConnectionInit {
        /// `{"authorization": "Bearer …"}`.
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    /// Liveness from the client; answered with a pong.
    Ping {},
    /// Liveness answer.
    Pong {},
    /// Starts operation `id`.
    Subscribe {
        /// The operation's id, unique on the connection.
        id: String,
        /// The GraphQL request (boxed: it is much larger than the other messages).
        payload: Box<Request>,
    },
    /// Stops operation `id`.
    Complete {
        /// The operation's id.
        id: String,
    },
}

impl ClientMessage {
    /// The message in a text frame, or None when it is not one of the protocol's.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// The `authorization` a `connection_init` carries (either spelling of the key).
    pub fn authorization(payload: &Option<serde_json::Value>) -> Option<String> {
        let p = payload.as_ref()?;
        p.get("authorization").or_else(|| p.get("Authorization")).and_then(|v| v.as_str()).map(str::to_string)
    }
}

/// A websocket close: code and reason, as graphql-transport-ws names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    /// The close code.
    pub code: u16,
    /// The reason sent with it.
    pub reason: &'static str,
}

impl Close {
    /// A message the protocol does not know, or a malformed one.
    pub const INVALID_MESSAGE: Close = Close { code: 4400, reason: "Invalid message" };
    /// The first message was not `connection_init`.
    pub const UNAUTHORIZED: Close = Close { code: 4401, reason: "Unauthorized" };
    /// The credentials are refused (or were revoked while the socket was open).
    pub const FORBIDDEN: Close = Close { code: 4403, reason: "Forbidden" };
    /// No `connection_init` within `wsInitTimeoutSecs`.
    pub const INIT_TIMEOUT: Close = Close { code: 4408, reason: "Connection initialisation timeout" };
    /// A `subscribe` reused the id of an open operation.
    pub const DUPLICATE_ID: Close = Close { code: 4409, reason: "Subscriber for that id already exists" };
    /// A second `connection_init`.
    pub const TOO_MANY_INITS: Close = Close { code: 4429, reason: "Too many initialisation requests" };
    /// Silent past `wsIdleTimeoutSecs`.
    pub const IDLE: Close = Close { code: 1001, reason: "idle timeout" };
    /// The server shuts down: reconnect (to another instance).
    pub const RESTARTING: Close = Close { code: 1012, reason: "server restarting; reconnect" };
}

/// What an operation sends its client, whatever the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A result of operation `id`: its JSON, and the seq of a `runEvents` event (the SSE
    /// event id, so a reconnect resumes after it).
    Next {
        /// The operation.
        id: String,
        /// The result, as JSON.
        payload: String,
        /// The run event's seq, for `runEvents`.
        seq: Option<i64>,
    },
    /// Operation `id` was refused: the errors, as a JSON array.
    Error {
        /// The operation.
        id: String,
        /// The errors, as JSON.
        errors: String,
    },
    /// Operation `id` is over.
    Complete {
        /// The operation.
        id: String,
    },
    /// The answer to a client's ping.
    Pong,
}

impl Frame {
    /// A result of operation `id`.
    pub fn next(id: &str, resp: &Response) -> Frame {
        let seq = match &resp.data {
            Value::Object(o) => match o.get("runEvents") {
                Some(Value::Object(ev)) => match ev.get("seq") {
                    Some(Value::Number(n)) => n.as_i64(),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        let payload = serde_json::to_string(resp).unwrap_or_else(|_| r#"{"errors":[]}"#.into());
        Frame::Next { id: id.to_string(), payload, seq }
    }

    /// Operation `id` refused with `err`.
    pub fn error(id: &str, err: &ServerError) -> Frame {
        let errors = serde_json::to_string(&[err]).unwrap_or_else(|_| "[]".into());
        Frame::Error { id: id.to_string(), errors }
    }

    /// Bytes this frame takes in a connection's queue.
    pub fn queued_bytes(&self) -> usize {
        match self {
            Frame::Next { id, payload, .. } => id.len() + payload.len(),
            Frame::Error { id, errors } => id.len() + errors.len(),
            Frame::Complete { id } => id.len(),
            Frame::Pong => 0,
        }
    }

    /// The frame as graphql-transport-ws sends it.
    pub fn ws_text(&self) -> String {
        let id = |id: &str| serde_json::to_string(id).unwrap_or_default();
        match self {
            Frame::Next { id: i, payload, .. } => format!(r#"{{"id":{},"type":"next","payload":{payload}}}"#, id(i)),
            Frame::Error { id: i, errors } => format!(r#"{{"id":{},"type":"error","payload":{errors}}}"#, id(i)),
            Frame::Complete { id: i } => format!(r#"{{"id":{},"type":"complete"}}"#, id(i)),
            Frame::Pong => r#"{"type":"pong"}"#.to_string(),
        }
    }

    /// The frame as graphql-sse events, and whether its operation is over. In single
    /// connection mode (`single`) events name their operation and the stream goes on.
    pub fn sse_text(&self, single: bool) -> (String, bool) {
        let wrap = |id: &str, payload: &str| match single {
            true => format!(r#"{{"id":{},"payload":{payload}}}"#, serde_json::to_string(id).unwrap_or_default()),
            false => payload.to_string(),
        };
        let complete = |id: &str| match single {
            true => format!("event: complete\ndata: {{\"id\":{}}}\n\n", serde_json::to_string(id).unwrap_or_default()),
            false => "event: complete\ndata:\n\n".into(),
        };
        match self {
            Frame::Next { id, payload, seq } => {
                let sse_id = seq.map(|s| format!("id: {s}\n")).unwrap_or_default();
                (format!("{sse_id}event: next\ndata: {}\n\n", wrap(id, payload)), false)
            }
            Frame::Error { id, errors } => {
                let next = wrap(id, &format!(r#"{{"errors":{errors}}}"#));
                (format!("event: next\ndata: {next}\n\n{}", complete(id)), true)
            }
            Frame::Complete { id } => (complete(id), true),
            Frame::Pong => (String::new(), false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_by_their_type() {
        assert!(matches!(ClientMessage::parse(r#"{"type":"ping"}"#), Some(ClientMessage::Ping {})));
        let init = ClientMessage::parse(r#"{"type":"connection_init","payload":{"Authorization":"Bearer x"}}"#);
        let Some(ClientMessage::ConnectionInit { payload }) = init else { panic!("{init:?}") };
        assert_eq!(ClientMessage::authorization(&payload).as_deref(), Some("Bearer x"));
        let sub = ClientMessage::parse(r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }"}}"#);
        assert!(matches!(sub, Some(ClientMessage::Subscribe { id, payload }) if id == "1" && payload.query == "{ a }"));
        assert!(ClientMessage::parse(r#"{"type":"subscribe","payload":{}}"#).is_none(), "no id");
        assert!(ClientMessage::parse(r#"{"type":"unknown"}"#).is_none());
        assert!(ClientMessage::parse("not json").is_none());
    }

    #[test]
    fn frames_become_graphql_sse_events_and_ws_messages() {
        let next = Frame::Next { id: "1".into(), payload: r#"{"data":{"runEvents":{"seq":7}}}"#.into(), seq: Some(7) };
        assert_eq!(
            next.sse_text(false),
            ("id: 7\nevent: next\ndata: {\"data\":{\"runEvents\":{\"seq\":7}}}\n\n".into(), false)
        );
        assert_eq!(next.ws_text(), r#"{"id":"1","type":"next","payload":{"data":{"runEvents":{"seq":7}}}}"#);
        let done = Frame::Complete { id: "a".into() };
        assert_eq!(done.sse_text(false), ("event: complete\ndata:\n\n".into(), true));
        assert_eq!(done.sse_text(true), ("event: complete\ndata: {\"id\":\"a\"}\n\n".into(), true));
        let err = Frame::Error { id: "1".into(), errors: r#"[{"message":"no"}]"#.into() };
        let (text, over) = err.sse_text(false);
        assert!(over && text.starts_with("event: next\ndata: {\"errors\":[{\"message\":\"no\"}]}"));
        assert_eq!(Frame::Complete { id: "q\"x".into() }.ws_text(), r#"{"id":"q\"x","type":"complete"}"#);
    }

    #[test]
    fn a_run_events_result_carries_its_seq() {
        let data =
            Value::from_json(serde_json::json!({"runEvents": {"seq": 12, "__typename": "AssistantText"}})).unwrap();
        let f = Frame::next("op", &Response::new(data));
        assert!(matches!(f, Frame::Next { seq: Some(12), .. }), "{f:?}");
    }
}
