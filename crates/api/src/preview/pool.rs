//! Kept-alive connections to previews' apps, as a reverse proxy keeps its upstreams: a
//! connection whose response was read to its end goes back to its preview's idle list and
//! carries the next request, so the app is not dialled (and does not accept, or spawn a
//! thread) per request. Idle connections close by the preview idle timeout, or when the
//! app closes them; at most `limits.previewIdleConnections` wait per preview.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use axum::body::Body;
use bytes::Bytes;
use http_body_util::Limited;
use hyper::{
    body::{Frame, Incoming, SizeHint},
    client::conn::http1::SendRequest,
};
use uuid::Uuid;

/// A connection to an app, ready for a request.
pub(super) type Sender = SendRequest<Limited<Body>>;

/// The idle connections of every preview.
pub(super) struct Pool {
    idle: Mutex<HashMap<Uuid, Vec<Sender>>>,
    max_idle: usize,
}

impl Pool {
    /// Keeping at most `max_idle` idle connections per preview.
    pub(super) fn new(max_idle: usize) -> Self {
        Self { idle: Mutex::default(), max_idle }
    }

    /// An idle connection of `preview` that is still open and ready for a request (one
    /// whose last response just ended may need a moment to be).
    pub(super) async fn take(&self, preview: Uuid) -> Option<Sender> {
        loop {
            let mut s = {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                let list = idle.get_mut(&preview)?;
                match list.pop() {
                    Some(s) => s,
                    None => {
                        idle.remove(&preview);
                        return None;
                    }
                }
            };
            if !s.is_closed() && s.ready().await.is_ok() {
                return Some(s);
            }
        }
    }

    /// Keeps a connection whose last response ended, if it is still open and there is room.
    fn give_back(&self, preview: Uuid, s: Sender) {
        if s.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry(preview).or_default();
        list.retain(|s| !s.is_closed());
        if list.len() < self.max_idle {
            list.push(s);
        }
    }
}

/// An app's response body that gives its connection back once read to the end (a body
/// dropped before its end drops the connection with it).
pub(super) struct Returning {
    inner: Incoming,
    back: Option<(Arc<Pool>, Uuid, Sender)>,
}

impl Returning {
    /// `inner`, whose connection `sender` goes back to `pool` under `preview` at its end.
    pub(super) fn new(inner: Incoming, pool: Arc<Pool>, preview: Uuid, sender: Sender) -> Self {
        use hyper::body::Body as _;
        let mut me = Self { inner, back: Some((pool, preview, sender)) };
        if me.inner.is_end_stream() {
            me.done();
        }
        me
    }

    fn done(&mut self) {
        if let Some((pool, preview, sender)) = self.back.take() {
            pool.give_back(preview, sender);
        }
    }
}

impl hyper::body::Body for Returning {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.done(),
            Poll::Ready(Some(Err(_))) => this.back = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
