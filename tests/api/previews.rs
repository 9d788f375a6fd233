//! Preview URLs: a server a sandbox's process runs is served at
//! `{port}-{sandboxId}.localhost:{previewPort}` through sandboxql, PRIVATE behind the
//! cookie a signed link sets (no cookie 401; a tampered, expired or another preview's
//! link 404; a host naming no preview 404), PUBLIC to anyone and PRIVATE again at once,
//! gone after `unexposePort`; another account sees NOT_FOUND; the preview origin gets no
//! CORS grant from the API; the jail still reaches nothing outside.

use std::time::Duration;

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::{
    both_dbs,
    bounds::sh,
    helpers::{DbKind, TestApp},
};

pub(crate) const EXPOSE: &str = "mutation($s: ID!, $p: Int!, $v: PreviewVisibility!) { exposePort(sandboxId: $s, port: $p, visibility: $v) { port url visibility } }";
pub(crate) const LIST: &str =
    "query($s: ID!) { sandbox(id: $s) { previews { port url visibility link { url expiresAt } } } }";

/// A client that sends every `*.localhost` preview host to the preview listener.
pub(crate) fn browser(app: &TestApp, hosts: &[String]) -> reqwest::Client {
    let mut b = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    for h in hosts {
        b = b.resolve(h, app.preview_addr);
    }
    b.build().unwrap()
}

pub(crate) fn host_of(url: &str) -> String {
    url.split("://").nth(1).unwrap().split(['/', ':']).next().unwrap().to_string()
}

pub(crate) async fn serve_workspace(app: &TestApp, token: &str, sb: &str, port: u16, text: &str) {
    app.write_file(token, sb, "index.html", text).await;
    app.start_process(token, sb, &["python3", "-m", "http.server", &port.to_string(), "--bind", "127.0.0.1"]).await;
}

pub(crate) async fn get(
    client: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
) -> (StatusCode, String, Option<String>) {
    for _ in 0..40 {
        let mut req = client.get(url);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let set = resp.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string());
        let body = resp.text().await.unwrap();
        // The server in the sandbox may still be starting.
        if status != StatusCode::BAD_GATEWAY {
            return (status, body, set);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{url}: the sandbox's server never came up");
}

pub(crate) async fn previews(app: &TestApp, token: &str, sb: &str) -> Vec<Value> {
    app.ok(token, LIST, json!({"s": sb})).await["sandbox"]["previews"].as_array().unwrap().clone()
}

both_dbs!(a_private_preview_serves_the_sandbox_port_behind_a_signed_link_only, private_preview);

async fn private_preview(kind: DbKind) {
    let app = TestApp::spawn_with(kind, |c| c.limits.previews.preview_link_secs = 3, None).await;
    let (_, token) = app.new_user("maker").await;
    let (_, other) = app.new_user("other").await;
    let sb = app.create_sandbox(&token, "web").await;
    let theirs = app.create_sandbox(&other, "theirs").await;
    serve_workspace(&app, &token, &sb, 5173, "hello-preview").await;
    let p = app.ok(&token, EXPOSE, json!({"s": sb, "p": 5173, "v": "PRIVATE"})).await["exposePort"].clone();
    let url = p["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("http://5173-{sb}.localhost:{}/", app.preview_addr.port()));
    let exposed = "SELECT COUNT(*) FROM webhook_events WHERE event_type = 'preview.exposed'";
    assert_eq!(app.count(exposed).await, 1, "exposePort is an event for webhooks");
    app.ok(&other, EXPOSE, json!({"s": theirs, "p": 5173, "v": "PRIVATE"})).await;
    let their_url = previews(&app, &other, &theirs).await[0]["url"].as_str().unwrap().to_string();
    let nobody = format!("5173-{}.localhost", uuid::Uuid::now_v7());
    let client = browser(&app, &[host_of(&url), host_of(&their_url), nobody.clone()]);

    // No cookie: 401. A host that names no preview: 404.
    assert_eq!(get(&client, &url, None).await.0, StatusCode::UNAUTHORIZED);
    let port = app.preview_addr.port();
    assert_eq!(get(&client, &format!("http://{nobody}:{port}/"), None).await.0, StatusCode::NOT_FOUND);
    // The signed link sets a host-only cookie and sends the browser to the clean URL.
    let link = previews(&app, &token, &sb).await[0]["link"]["url"].as_str().unwrap().to_string();
    let resp = client.get(&link).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    assert_eq!(resp.headers()[header::LOCATION], "/");
    let set = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=") && !set.contains("Domain"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let (status, body, _) = get(&client, &url, Some(&cookie)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "hello-preview"), "the workspace file, through sandboxql");
    // That cookie opens no other preview; a tampered link, another preview's link and
    // an expired one open nothing.
    assert_eq!(get(&client, &their_url, Some(&cookie)).await.0, StatusCode::UNAUTHORIZED);
    let tampered = format!("{}x", link);
    assert_eq!(client.get(&tampered).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let their_link = previews(&app, &other, &theirs).await[0]["link"]["url"].as_str().unwrap().to_string();
    let token_part = their_link.split_once('?').unwrap().1;
    let crossed = format!("{}__sandboxql/open?{token_part}", url);
    assert_eq!(client.get(&crossed).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(client.get(&link).send().await.unwrap().status(), StatusCode::NOT_FOUND, "expired");
    assert_eq!(get(&client, &url, Some(&cookie)).await.0, StatusCode::OK, "the cookie outlives the link");

    // Another account sees none of it.
    let q = "mutation($s: ID!) { unexposePort(sandboxId: $s, port: 5173) }";
    let (_, body) = app.post(Some(&other), q, json!({"s": sb})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let (_, body) = app.post(Some(&other), EXPOSE, json!({"s": sb, "p": 5174, "v": "PUBLIC"})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    let (_, body) = app.post(Some(&other), LIST, json!({"s": sb})).await;
    assert!(body["data"]["sandbox"].is_null(), "{body}");

    // PUBLIC needs no cookie; PRIVATE again holds at once; unexposed is 404.
    app.ok(&token, EXPOSE, json!({"s": sb, "p": 5173, "v": "PUBLIC"})).await;
    assert_eq!(get(&client, &url, None).await.0, StatusCode::OK);
    app.ok(&token, EXPOSE, json!({"s": sb, "p": 5173, "v": "PRIVATE"})).await;
    assert_eq!(get(&client, &url, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.ok(&token, "mutation($s: ID!) { unexposePort(sandboxId: $s, port: 5173) }", json!({"s": sb})).await["unexposePort"],
        true
    );
    assert_eq!(get(&client, &url, Some(&cookie)).await.0, StatusCode::NOT_FOUND);
    app.ok(&token, EXPOSE, json!({"s": sb, "p": 5173, "v": "PRIVATE"})).await;
    assert_eq!(
        get(&client, &url, Some(&cookie)).await.0,
        StatusCode::UNAUTHORIZED,
        "exposed again: old cookies open nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_page_gets_no_grant_from_the_api_and_the_jail_reaches_nothing_outside() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("maker").await;
    let sb = app.create_sandbox(&token, "web").await;
    let origin = format!("http://5173-{sb}.localhost:{}", app.preview_addr.port());
    // A page of the preview calling /graphql: the preflight grants it nothing, and the
    // API takes bearer tokens only (no cookie of the user's to ride on).
    let resp = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("http://{}/graphql", app.addr))
        .header(header::ORIGIN, &origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none(), "{:?}", resp.headers());
    let resp = reqwest::Client::new()
        .post(format!("http://{}/graphql", app.addr))
        .header(header::ORIGIN, &origin)
        .json(&json!({"query": "{ viewer { id } }"}))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
    // The jail cannot reach the preview listener, the API or the host's loopback.
    let probe = format!(
        "python3 -c 'import socket\nfor p in ({}, {}):\n    try:\n        socket.create_connection((\"127.0.0.1\", p), 2); print(\"reached\", p)\n    except OSError: print(\"refused\", p)'",
        app.preview_addr.port(),
        app.addr.port()
    );
    let out = sh(&app, &token, &sb, &probe).await;
    let said = out["stdout"].as_str().unwrap();
    assert!(!said.contains("reached"), "{out}");
    assert_eq!(said.matches("refused").count(), 2, "{out}");
}

/// The cookie the preview's signed link sets.
async fn cookie_via_link(app: &TestApp, token: &str, sb: &str, client: &reqwest::Client) -> String {
    let link = previews(app, token, sb).await[0]["link"]["url"].as_str().unwrap().to_string();
    let resp = client.get(&link).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    resp.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_and_server_sent_events_go_through_a_preview() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("live").await;
    let sb = app.create_sandbox(&token, "live").await;
    let script = include_str!("../fixtures/preview-app.py");
    app.write_file(&token, &sb, "app.py", script).await;
    app.start_process(&token, &sb, &["python3", "app.py", "5173"]).await;
    let url = app.ok(&token, EXPOSE, json!({"s": sb, "p": 5173, "v": "PRIVATE"})).await["exposePort"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let client = browser(&app, &[host_of(&url)]);
    let cookie = cookie_via_link(&app, &token, &sb, &client).await;
    assert_eq!(get(&client, &url, Some(&cookie)).await.0, StatusCode::OK, "the app is up");

    // What the app sees: the browser's own cookies, never the preview's; where the
    // request came from, set by the proxy and not by the browser.
    let resp = client
        .get(format!("{url}headers"))
        .header(header::COOKIE, format!("{cookie}; theme=dark"))
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    let seen: Value = resp.json().await.unwrap();
    assert_eq!(seen["cookie"], "theme=dark", "{seen}");
    assert_eq!(seen["x-forwarded-host"], json!(format!("{}:{}", host_of(&url), app.preview_addr.port())), "{seen}");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");

    // SSE: the events arrive as the app writes them, not all at the end.
    let resp = client.get(format!("{url}events")).header(header::COOKIE, &cookie).send().await.unwrap();
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = resp.bytes_stream();
    let mut pieces = vec![];
    while let Some(chunk) = body.next().await {
        pieces.push(String::from_utf8(chunk.unwrap().to_vec()).unwrap());
    }
    let all = pieces.concat();
    assert_eq!(all.matches("data: tick").count(), 3, "{all}");
    assert!(pieces.len() >= 3, "streamed event by event, not buffered: {pieces:?}");

    // A websocket (a dev server's hot reload), with the preview's cookie on the upgrade.
    let ws_url = url.replacen("http://", "ws://", 1) + "echo";
    let mut req = ws_url.into_client_request().unwrap();
    req.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(app.preview_addr).await.unwrap();
    let (mut ws, resp) = tokio_tungstenite::client_async(req, tcp).await.expect("upgraded through the preview");
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws.send(Message::Text("ping from the browser".into())).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "ping from the browser");
    ws.send(Message::Binary(vec![0u8, 1, 2, 255].into())).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(echoed.into_data().to_vec(), vec![0u8, 1, 2, 255]);
    // Without the cookie the upgrade is refused like any request.
    let bare = (url.replacen("http://", "ws://", 1) + "echo").into_client_request().unwrap();
    let tcp = tokio::net::TcpStream::connect(app.preview_addr).await.unwrap();
    let refused = tokio_tungstenite::client_async(bare, tcp).await;
    assert!(
        matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == StatusCode::UNAUTHORIZED),
        "{refused:?}"
    );
}
