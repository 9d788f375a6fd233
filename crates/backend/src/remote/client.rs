//! Calls to the instance on a sandbox's host: unary JSON calls, file bodies streamed
//! both ways, walks and watches as newline-delimited JSON, and commands over a WebSocket
//! (input frames in, output frames out, closed when either side goes). A failure to
//! reach the host is CONFLICT `HOST_UNAVAILABLE`; an error the host answers keeps its
//! code and reason.

use base64::Engine;
use futures::{SinkExt, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
use tokio_util::sync::CancellationToken;

use super::wire::{self, Call, ExecStart, SECRET_HEADER, Target};
use crate::{
    config::Secret,
    error::{AppError, AppResult, WireError, reasons},
    exec::{ExecHandle, ExecOutput},
    files::{FileEntry, WalkChunk},
    storage::Upload,
    watch::{RawChange, WorkspaceWatch},
};

/// A WebSocket to another instance.
pub(super) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Output events buffered per forwarded command.
const OUTPUT_QUEUE: usize = 256;

/// The client side of the internal channel.
#[derive(Clone)]
pub struct Remote {
    http: reqwest::Client,
    secret: Secret,
    max_line: usize,
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> AppError {
    tracing::warn!(error = %e, "the instance on a sandbox's host could not be reached");
    AppError::conflict_because(
        reasons::HOST_UNAVAILABLE,
        "the host that holds this sandbox's workspace did not answer; retry shortly",
    )
}

fn target_header(t: &Target) -> AppResult<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(t)?))
}

async fn checked(resp: reqwest::Response) -> AppResult<reqwest::Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let body = resp.bytes().await.map_err(unavailable)?;
    match serde_json::from_slice::<WireError>(&body) {
        Ok(w) => Err(w.into_app_error()),
        Err(_) => Err(unavailable("an answer that is not an error")),
    }
}

/// Splits a response body into JSON lines.
fn lines<T: DeserializeOwned + Send + 'static>(
    resp: reqwest::Response,
    max_line: usize,
) -> mpsc::Receiver<AppResult<T>> {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut body = resp.bytes_stream();
        let mut buf: Vec<u8> = Vec::new();
        loop {
            while let Some(at) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=at).collect();
                let item = serde_json::from_slice::<Result<T, WireError>>(&line[..line.len() - 1])
                    .map_err(|e| unavailable(format!("a bad line: {e}")))
                    .and_then(|r| r.map_err(WireError::into_app_error));
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            match body.next().await {
                Some(Ok(chunk)) if buf.len() + chunk.len() <= max_line => buf.extend_from_slice(&chunk),
                Some(Ok(_)) => {
                    let _ = tx.send(Err(unavailable("a line over the limit"))).await;
                    return;
                }
                Some(Err(e)) => {
                    let _ = tx.send(Err(unavailable(e))).await;
                    return;
                }
                None => return,
            }
        }
    });
    rx
}

impl Remote {
    /// A client presenting `secret`, taking answer lines of at most `max_line` bytes
    /// (`limits.internalMaxLineBytes`).
    pub fn new(secret: Secret, max_line: usize) -> AppResult<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(Self { http, secret, max_line })
    }

    fn post(&self, url: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{url}/internal/v1/{path}")).header(SECRET_HEADER, &self.secret.0)
    }

    /// A JSON request to route `path` of the instance at `url`, answered within `wait`
    /// (work the services hand over, such as a run for that instance's warm Claude).
    pub async fn post_json<B: serde::Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: &str,
        path: &str,
        body: &B,
        wait: std::time::Duration,
    ) -> AppResult<T> {
        let resp = self.post(url, path).timeout(wait).json(body).send().await.map_err(unavailable)?;
        checked(resp).await?.json::<T>().await.map_err(unavailable)
    }

    /// A unary call.
    pub async fn call<T: DeserializeOwned>(&self, url: &str, call: &Call) -> AppResult<T> {
        let resp = self.post(url, "call").json(call).send().await.map_err(unavailable)?;
        checked(resp).await?.json::<T>().await.map_err(unavailable)
    }

    /// A file's content as a stream.
    pub async fn read_stream(&self, url: &str, t: &Target) -> AppResult<Upload> {
        let resp = self.post(url, "read").header("x-sandboxql-target", target_header(t)?).send().await;
        let resp = checked(resp.map_err(unavailable)?).await?;
        let stream = resp.bytes_stream().map_err(std::io::Error::other);
        Ok(Box::pin(tokio_util::io::StreamReader::new(stream)))
    }

    /// Writes `body` to a file.
    pub async fn write_stream(&self, url: &str, t: &Target, body: Upload) -> AppResult<FileEntry> {
        let stream = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(body));
        let resp = self.post(url, "write").header("x-sandboxql-target", target_header(t)?).body(stream).send().await;
        checked(resp.map_err(unavailable)?).await?.json().await.map_err(unavailable)
    }

    /// A streamed walk.
    pub async fn walk_stream(&self, url: &str, t: &Target) -> AppResult<mpsc::Receiver<AppResult<WalkChunk>>> {
        let resp = self.post(url, "walk").json(t).send().await.map_err(unavailable)?;
        Ok(lines(checked(resp).await?, self.max_line))
    }

    /// A watch of a workspace; it ends when the host's ends or the connection does (an
    /// `Overflow` then tells the watcher to list again).
    pub async fn watch(&self, url: &str, t: &Target) -> AppResult<WorkspaceWatch> {
        let resp = self.post(url, "watch").json(t).send().await.map_err(unavailable)?;
        let mut from = lines::<RawChange>(checked(resp).await?, self.max_line);
        let (tx, rx) = mpsc::channel(t.capacity.unwrap_or(64).max(1));
        let overflowed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = overflowed.clone();
        let pump = tokio::spawn(async move {
            while let Some(Ok(change)) = from.recv().await {
                if tx.try_send(change).is_err() {
                    flag.store(true, std::sync::atomic::Ordering::Release);
                }
            }
        });
        Ok(WorkspaceWatch::new(rx, overflowed, Box::new(tokio_util::task::AbortOnDropHandle::new(pump))))
    }

    /// A WebSocket to the internal route `path` of the instance at `url`.
    pub(super) async fn socket(&self, url: &str, path: &str) -> AppResult<Socket> {
        let ws_url = format!("{}/internal/v1/{path}", url.replacen("http", "ws", 1));
        let mut req = ws_url.into_client_request().map_err(unavailable)?;
        let secret = self.secret.0.parse().map_err(|_| AppError::Internal(anyhow::anyhow!("bad internal secret")))?;
        req.headers_mut().insert(SECRET_HEADER, secret);
        let (ws, _) = tokio_tungstenite::connect_async(req).await.map_err(unavailable)?;
        Ok(ws)
    }

    /// Runs a command on the host, its input and output relayed over a WebSocket.
    pub async fn exec(
        &self,
        url: &str,
        start: ExecStart,
        mut stdin: Option<mpsc::Receiver<Vec<u8>>>,
    ) -> AppResult<ExecHandle> {
        let (mut sink, mut source) = self.socket(url, "exec").await?.split();
        sink.send(Message::text(serde_json::to_string(&start)?)).await.map_err(unavailable)?;
        let (out_tx, out_rx) = mpsc::channel(OUTPUT_QUEUE);
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        tokio::spawn(async move {
            let mut exited = false;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => {
                        let _ = sink.send(Message::text(wire::CANCEL)).await;
                        stop.cancel();
                        // Keep reading: the host reports the exit of the killed command.
                        break;
                    }
                    chunk = async { match stdin.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                        let sent = match chunk {
                            Some(bytes) => sink.send(Message::binary(bytes)).await,
                            None => { stdin = None; sink.send(Message::text(wire::STDIN_EOF)).await }
                        };
                        if sent.is_err() { break; }
                    }
                    msg = source.next() => match msg {
                        Some(Ok(Message::Text(t))) => match serde_json::from_str::<Result<ExecOutput, WireError>>(&t) {
                            Ok(Ok(out)) => {
                                exited |= matches!(out, ExecOutput::Exited(_));
                                if out_tx.send(out).await.is_err() { stop.cancel(); }
                            }
                            Ok(Err(e)) => { tracing::warn!(code = %e.code, "a forwarded command failed on its host"); break; }
                            Err(_) => break,
                        },
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => {}
                    }
                }
            }
            while !exited {
                match source.next().await {
                    Some(Ok(Message::Text(t))) => {
                        if let Ok(Ok(out)) = serde_json::from_str::<Result<ExecOutput, WireError>>(&t) {
                            exited |= matches!(out, ExecOutput::Exited(_));
                            let _ = out_tx.send(out).await;
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
            if !exited {
                let _ = out_tx.send(ExecOutput::Stderr("sandboxql: the sandbox's host went away".into())).await;
                let _ = out_tx.send(ExecOutput::Exited(None)).await;
            }
        });
        Ok(ExecHandle { output: out_rx, cancel })
    }
}
