//! The unary calls and the streamed reads, writes, walks and watches of the internal
//! channel, each done by this host's local backend.

use axum::{
    Json,
    body::{Body, Bytes},
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use base64::Engine;
use futures::{StreamExt, TryStreamExt};
use sandboxql_backend::{
    ExternalId, SandboxSpec,
    remote::wire::{Call, Target},
};
use serde::Serialize;
use serde_json::Value;

use super::{InternalState, failed};
use crate::error::{AppError, AppResult, WireError};

fn answer(done: AppResult<Value>) -> Response {
    match done {
        Ok(v) => Json(v).into_response(),
        Err(e) => failed(&e),
    }
}

fn json(v: impl Serialize) -> AppResult<Value> {
    Ok(serde_json::to_value(v)?)
}

async fn run(s: &InternalState, call: Call) -> AppResult<Value> {
    let b = &s.backend;
    let ext = |e: &str| ExternalId::from(e);
    match call {
        Call::Create { sandbox_id, account_id, template } => {
            let spec = SandboxSpec { sandbox_id, account_id, template: s.templates.of_sandbox(Some(&template))? };
            json(b.create(&spec).await?.as_str())
        }
        Call::Terminate { ext: e } => json(b.terminate(&ext(&e)).await?),
        Call::Destroy { sandbox_id, ext: e } => json(b.destroy(sandbox_id, &ext(&e)).await?),
        Call::Forget { sandbox_id } => {
            b.forget(sandbox_id).await;
            Ok(Value::Null)
        }
        Call::Status { ext: e } => json(b.status(&ext(&e)).await?),
        Call::Walk { ext: e, path, opts } => json(b.walk(&ext(&e), &path, opts).await?),
        Call::HashFile { ext: e, path } => json(b.hash_file(&ext(&e), &path).await?),
        Call::Stat { ext: e, path } => json(b.stat(&ext(&e), &path).await?),
        Call::ReadFile { ext: e, path, max_bytes } => json(b.read_file(&ext(&e), &path, max_bytes).await?),
        Call::MakeDir { ext: e, path } => json(b.make_dir(&ext(&e), &path).await?),
        Call::MovePath { ext: e, from, to } => json(b.move_path(&ext(&e), &from, &to).await?),
        Call::SetMode { ext: e, path, mode } => json(b.set_mode(&ext(&e), &path, mode).await?),
        Call::MakeSymlink { ext: e, path, target } => json(b.make_symlink(&ext(&e), &path, &target).await?),
        Call::DeletePath { ext: e, path, recursive } => json(b.delete_path(&ext(&e), &path, recursive).await?),
        Call::Usage { ext: e } => {
            let meter = b.usage().ok_or_else(|| AppError::bad_input("this host cannot measure usage"))?;
            json(meter.usage(&ext(&e)).await?)
        }
    }
}

/// `POST /internal/v1/call`.
pub(super) async fn call(State(s): State<InternalState>, Json(c): Json<Call>) -> Response {
    answer(run(&s, c).await)
}

fn target_of(headers: &HeaderMap) -> AppResult<Target> {
    let raw = headers.get("x-sandboxql-target").ok_or_else(|| AppError::bad_input("no target"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.as_bytes())
        .map_err(|_| AppError::bad_input("the target is not base64"))?;
    serde_json::from_slice(&bytes).map_err(|e| AppError::bad_input(format!("a bad target: {e}")))
}

/// `POST /internal/v1/read`: a file's content, streamed.
pub(super) async fn read(State(s): State<InternalState>, headers: HeaderMap) -> Response {
    let opened = async {
        let t = target_of(&headers)?;
        s.backend.read_stream(&ExternalId::from(t.ext.as_str()), &t.path).await
    };
    match opened.await {
        Ok(reader) => Body::from_stream(tokio_util::io::ReaderStream::new(reader)).into_response(),
        Err(e) => failed(&e),
    }
}

/// `POST /internal/v1/write`: the body becomes the file.
pub(super) async fn write(State(s): State<InternalState>, headers: HeaderMap, body: Body) -> Response {
    let written = async {
        let t = target_of(&headers)?;
        let stream = body.into_data_stream().map_err(std::io::Error::other);
        let upload: sandboxql_storage::Upload = Box::pin(tokio_util::io::StreamReader::new(stream));
        json(s.backend.write_stream(&ExternalId::from(t.ext.as_str()), &t.path, upload).await?)
    };
    answer(written.await)
}

fn line<T: Serialize>(item: Result<T, &AppError>) -> Result<Bytes, std::io::Error> {
    let item = item.map_err(WireError::from);
    let mut v = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
    v.push(b'\n');
    Ok(Bytes::from(v))
}

/// `POST /internal/v1/walk`: chunks of a walk as JSON lines.
pub(super) async fn walk(State(s): State<InternalState>, Json(t): Json<Target>) -> Response {
    let Some(opts) = t.opts else { return failed(&AppError::bad_input("a walk needs its options")) };
    match s.backend.walk_stream(&ExternalId::from(t.ext.as_str()), &t.path, opts).await {
        Ok(rx) => {
            let lines = tokio_stream::wrappers::ReceiverStream::new(rx).map(|c| line(c.as_ref()));
            Body::from_stream(lines).into_response()
        }
        Err(e) => failed(&e),
    }
}

/// `POST /internal/v1/watch`: changes as JSON lines for as long as the caller listens.
pub(super) async fn watch(State(s): State<InternalState>, Json(t): Json<Target>) -> Response {
    let Some(watcher) = s.backend.watcher() else { return failed(&AppError::bad_input("this host cannot watch")) };
    let capacity = t.capacity.unwrap_or(64).max(1);
    match watcher.watch(&ExternalId::from(t.ext.as_str()), capacity).await {
        Ok(w) => {
            let changes = futures::stream::unfold(w, |mut w| async move { w.next().await.map(|c| (line(Ok(c)), w)) });
            Body::from_stream(changes).into_response()
        }
        Err(e) => failed(&e),
    }
}
