//! The websocket on /graphql speaks graphql-transport-ws and authenticates in connection_init.

use serde_json::json;

use crate::{
    both_dbs,
    helpers::{
        DbKind, TestApp,
        ws::{Closed, WsClient},
    },
};

async fn websocket(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (account, token) = app.new_user("kim").await;
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.expect("ack");
    ws.subscribe("1", "{ viewer { id } }", json!({})).await;
    let msg = ws.next().await;
    assert_eq!(msg["type"], "next");
    assert_eq!(msg["payload"]["data"]["viewer"]["id"], account);
    assert_eq!(ws.next().await["type"], "complete");
    ws.subscribe("2", "{ sandbox(id: \"bad\") { id } }", json!({})).await;
    let msg = ws.next().await;
    assert_eq!(msg["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{msg}");
    ws.close().await;

    assert_eq!(WsClient::connect(app.addr, Some("sbq_nope")).await.err(), Some(Closed { code: 4403 }));
    assert_eq!(WsClient::connect(app.addr, None).await.err(), Some(Closed { code: 4403 }));
    let early = WsClient::connect_raw(
        app.addr,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { id } }"}}),
    )
    .await;
    assert_eq!(early.err(), Some(Closed { code: 4401 }));
}
both_dbs!(websocket_authenticates_in_connection_init, websocket);
