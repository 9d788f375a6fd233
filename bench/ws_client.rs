//! A tiny graphql-transport-ws client for the benchmarks.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

/// An acknowledged connection.
pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects, authenticates, and subscribes with `query`/`variables` under id "1".
pub async fn subscribe(addr: &str, token: &str, query: &str, variables: Value) -> anyhow::Result<Socket> {
    let mut ws = connect(addr, token).await?;
    start(&mut ws, query, variables).await?;
    Ok(ws)
}

/// Connects and authenticates (acknowledged), subscribing to nothing yet.
pub async fn connect(addr: &str, token: &str) -> anyhow::Result<Socket> {
    let mut req = format!("ws://{addr}/graphql").into_client_request()?;
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = connect_async(req).await?;
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}});
    ws.send(Message::Text(init.to_string().into())).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("connection_ack") => {}
        other => anyhow::bail!("no ack: {other:?}"),
    }
    Ok(ws)
}

/// Subscribes with `query`/`variables` under id "1" on an acknowledged connection.
pub async fn start(ws: &mut Socket, query: &str, variables: Value) -> anyhow::Result<()> {
    let sub = json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}});
    ws.send(Message::Text(sub.to_string().into())).await?;
    Ok(())
}

/// The next event payload (`data.<field>`), or None when the operation completed.
pub async fn next_event(ws: &mut Socket) -> anyhow::Result<Option<Value>> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t)?;
                match v["type"].as_str() {
                    Some("next") => {
                        let data = v["payload"]["data"].as_object().and_then(|o| o.values().next()).cloned();
                        return Ok(Some(data.unwrap_or(Value::Null)));
                    }
                    Some("complete") => return Ok(None),
                    Some("ping") => ws.send(Message::Text(json!({"type": "pong"}).to_string().into())).await?,
                    _ => anyhow::bail!("unexpected message {v}"),
                }
            }
            Some(Ok(_)) => {}
            other => anyhow::bail!("socket ended: {other:?}"),
        }
    }
}
