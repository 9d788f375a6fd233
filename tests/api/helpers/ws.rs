//! A minimal graphql-transport-ws client, as a browser library would speak it.

use std::{net::SocketAddr, time::Duration};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{Message, client::IntoClientRequest, http::HeaderValue},
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A connected, acknowledged websocket.
pub struct WsClient {
    socket: Socket,
}

/// How a connection attempt ended when it was not acknowledged.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed {
    /// Close code sent by the server.
    pub code: u16,
}

async fn open(addr: SocketAddr) -> Socket {
    let mut req = format!("ws://{addr}/graphql").into_client_request().expect("request");
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (socket, _) = connect_async(req).await.expect("websocket connect");
    socket
}

impl WsClient {
    /// Connects and sends `connection_init` with the token; Err carries the close code.
    pub async fn connect(addr: SocketAddr, token: Option<&str>) -> Result<WsClient, Closed> {
        let payload = match token {
            Some(t) => json!({"authorization": format!("Bearer {t}")}),
            None => json!({}),
        };
        Self::connect_raw(addr, json!({"type": "connection_init", "payload": payload})).await
    }

    /// Connects and sends `first` as the first message.
    pub async fn connect_raw(addr: SocketAddr, first: Value) -> Result<WsClient, Closed> {
        let mut socket = open(addr).await;
        socket.send(Message::Text(first.to_string().into())).await.expect("send init");
        let mut client = WsClient { socket };
        match client.next_raw().await {
            Some(Ok(v)) if v["type"] == "connection_ack" => Ok(client),
            Some(Ok(v)) => panic!("unexpected reply to init: {v}"),
            Some(Err(code)) => Err(Closed { code }),
            None => Err(Closed { code: 1006 }),
        }
    }

    /// Starts an operation under `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        let msg = json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}});
        self.socket.send(Message::Text(msg.to_string().into())).await.expect("send subscribe");
    }

    /// Stops an operation.
    #[allow(dead_code)]
    pub async fn complete(&mut self, id: &str) {
        let msg = json!({"id": id, "type": "complete"});
        self.socket.send(Message::Text(msg.to_string().into())).await.expect("send complete");
    }

    /// The next protocol message (Ok) or the close code (Err); None when the stream ended.
    pub async fn next_raw(&mut self) -> Option<Result<Value, u16>> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("websocket message within 30s")?;
            match msg {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("json message");
                    if v["type"] == "ping" {
                        let pong = json!({"type": "pong"}).to_string();
                        self.socket.send(Message::Text(pong.into())).await.expect("pong");
                        continue;
                    }
                    return Some(Ok(v));
                }
                Ok(Message::Close(frame)) => {
                    return Some(Err(frame.map(|f| u16::from(f.code)).unwrap_or(1005)));
                }
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The next message, which must be a protocol message.
    pub async fn next(&mut self) -> Value {
        match self.next_raw().await {
            Some(Ok(v)) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Closes the socket from the client side (a tab closing).
    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}
