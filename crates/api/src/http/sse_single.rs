//! graphql-sse's single connection mode: `PUT /graphql/stream` reserves a stream and
//! answers its token; `GET` with `X-GraphQL-Event-Stream-Token` opens it; each operation
//! is a `POST` with the token and `extensions.operationId` (202, results on the stream as
//! `{"id", "payload"}`); `DELETE ?operationId=` stops one. A reservation holds one
//! [`Session`] (the websocket's: same caps and rate); results sent before the stream
//! opens wait in its bounded outbox. Unopened reservations expire; a closed stream ends
//! its reservation and every operation on it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::http::HeaderMap;
use tokio::sync::mpsc::UnboundedReceiver;
use uuid::Uuid;

use super::{outbox::Queued, session::Session};

/// The header (or `?token=`) that names a reservation.
pub const TOKEN_HEADER: &str = "x-graphql-event-stream-token";

/// One reserved stream.
pub struct Reservation {
    /// Its operations.
    pub session: Arc<Session>,
    /// The frames, until a GET takes them (then None: one stream per reservation).
    pub frames: Mutex<Option<UnboundedReceiver<Queued>>>,
    /// Whose it is (None: anonymous).
    pub account: Option<Uuid>,
    created: Instant,
}

/// Reservations by token, bounded in number and age.
#[derive(Default)]
pub struct Reservations {
    by_token: Mutex<HashMap<String, Arc<Reservation>>>,
}

/// Unopened reservations older than this are dropped.
const UNOPENED_TTL: Duration = Duration::from_secs(60);

impl Reservations {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Reservation>>> {
        self.by_token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves a stream for `session`; None when `max` reservations exist already.
    pub fn reserve(
        &self,
        session: Session,
        frames: UnboundedReceiver<Queued>,
        account: Option<Uuid>,
        max: usize,
    ) -> Option<String> {
        let mut map = self.map();
        map.retain(|_, r| {
            r.created.elapsed() < UNOPENED_TTL || r.frames.lock().unwrap_or_else(|e| e.into_inner()).is_none()
        });
        if map.len() >= max {
            return None;
        }
        let token = Uuid::new_v4().to_string();
        let r = Reservation {
            session: Arc::new(session),
            frames: Mutex::new(Some(frames)),
            account,
            created: Instant::now(),
        };
        map.insert(token.clone(), Arc::new(r));
        Some(token)
    }

    /// The reservation a request names, if it is the caller's.
    pub fn find(&self, token: &str, account: Option<Uuid>) -> Option<Arc<Reservation>> {
        self.map().get(token).filter(|r| r.account == account).cloned()
    }

    /// Ends a reservation (its stream closed): its operations stop.
    pub fn end(&self, token: &str) {
        self.map().remove(token);
    }
}

/// The token a request carries, in the header or the query string.
pub fn token_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(t) = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(t.to_string());
    }
    query?.split('&').find_map(|kv| kv.strip_prefix("token=")).map(str::to_string)
}

/// The `operationId` of a `DELETE ?operationId=…`.
pub fn operation_id_of(query: Option<&str>) -> Option<String> {
    query?.split('&').find_map(|kv| kv.strip_prefix("operationId=")).map(str::to_string)
}
