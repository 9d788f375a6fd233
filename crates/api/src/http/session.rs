//! The operations of one subscription connection, whatever carries them: each runs in its
//! own task and writes `next`/`complete`/`error` frames into the connection's bounded
//! [`Outbox`]. The caps live here: operations per connection, per account (over all
//! connections of an instance) and the account's request rate.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_graphql::{Data, Executor, Request};
use futures::StreamExt;
use tokio::task::AbortHandle;
use uuid::Uuid;

use super::{
    outbox::Outbox,
    protocol::Frame,
    rate::{Caller, RateLimiter},
};
use crate::{config::Limits, error::AppError, gql::Bound};

/// Open operations per account on this instance.
#[derive(Default)]
pub struct OpenOperations {
    by_account: Mutex<HashMap<Uuid, u64>>,
}

/// One open operation counted for its account; dropping it uncounts it.
struct Counted(Arc<OpenOperations>, Uuid);

impl Drop for Counted {
    fn drop(&mut self) {
        let mut map = self.0.by_account.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.1);
            }
        }
    }
}

impl OpenOperations {
    fn open(self: &Arc<Self>, account: Uuid, max: u64) -> Option<Counted> {
        let mut map = self.by_account.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(account).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Counted(self.clone(), account))
    }
}

/// Why an operation was not started.
pub enum Refused {
    /// The id is already in use on this connection (a protocol error: close the connection).
    Duplicate,
    /// Over a cap; an `error` frame has been queued for the id.
    Limited,
}

/// What a connection shares with its operations.
pub struct Session {
    schema: Bound,
    data: Arc<Data>,
    caller: Caller,
    account: Option<Uuid>,
    out: Outbox,
    ops: Arc<Mutex<HashMap<String, AbortHandle>>>,
    rate: Arc<RateLimiter>,
    open: Arc<OpenOperations>,
    limits: Arc<Limits>,
}

/// The frame of an operation refused before it started (over a cap).
pub fn error_frame(id: &str, e: AppError) -> Frame {
    Frame::error(id, &crate::gql::errors::server_error(e, "-"))
}

impl Session {
    /// A session for a connection whose caller is known.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        schema: Bound,
        data: Data,
        caller: Caller,
        account: Option<Uuid>,
        out: Outbox,
        rate: Arc<RateLimiter>,
        open: Arc<OpenOperations>,
        limits: Arc<Limits>,
    ) -> Self {
        let ops = Arc::default();
        Self { schema, data: Arc::new(data), caller, account, out, ops, rate, open, limits }
    }

    fn check(&self) -> Result<Option<Counted>, AppError> {
        let per_conn = self.limits.max_subscriptions_per_connection;
        if self.ops.lock().unwrap_or_else(|p| p.into_inner()).len() as u64 >= per_conn {
            return Err(AppError::rate_limited(
                format!("this connection already has {per_conn} operations open; complete one first"),
                1000,
            ));
        }
        self.rate.take(self.caller, 1)?;
        match self.account {
            None => Ok(None),
            Some(account) => {
                let max = self.limits.max_subscriptions_per_account;
                self.open.open(account, max).map(Some).ok_or_else(|| {
                    AppError::rate_limited(format!("this account already has {max} operations open"), 1000)
                })
            }
        }
    }

    /// Starts operation `id`; its frames go to the outbox until it ends or is stopped.
    pub async fn start(&self, id: String, request: Request) -> Result<(), Refused> {
        if self.ops.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&id) {
            return Err(Refused::Duplicate);
        }
        let counted = match self.check() {
            Ok(c) => c,
            Err(e) => {
                self.out.send(error_frame(&id, e)).await;
                return Err(Refused::Limited);
            }
        };
        let stream = self.schema.execute_stream(request, Some(self.data.clone()));
        let (out, ops, op_id) = (self.out.clone(), self.ops.clone(), id.clone());
        let mut ops_guard = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let task = tokio::spawn(async move {
            let _counted = counted;
            let mut stream = stream;
            while let Some(resp) = stream.next().await {
                if !out.send(Frame::next(&op_id, &resp)).await {
                    return;
                }
            }
            out.send(Frame::Complete { id: op_id.clone() }).await;
            ops.lock().unwrap_or_else(|p| p.into_inner()).remove(&op_id);
        });
        ops_guard.insert(id, task.abort_handle());
        Ok(())
    }

    /// Stops operation `id` (the client completed it); unknown ids are ignored.
    pub fn stop(&self, id: &str) {
        if let Some(task) = self.ops.lock().unwrap_or_else(|p| p.into_inner()).remove(id) {
            task.abort();
        }
    }

    /// Operations open now.
    pub fn open_operations(&self) -> usize {
        self.ops.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for Session {
    /// The connection is gone: every operation stops (runs themselves go on).
    fn drop(&mut self) {
        for (_, task) in self.ops.lock().unwrap_or_else(|p| p.into_inner()).drain() {
            task.abort();
        }
    }
}
