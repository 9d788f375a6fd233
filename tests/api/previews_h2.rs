//! HTTP/2 from the client: the preview listener serves a connection that opens with the
//! HTTP/2 preface (prior knowledge, as a TLS-terminating balancer speaks it) as HTTP/2,
//! several requests at once on the one connection, with the same auth as HTTP/1.1; the
//! app in the sandbox still gets HTTP/1.1 with its host in `Host`. A connection that
//! sends nothing is closed at the header deadline, HTTP/2 or not.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::{Request, StatusCode, Version, body::Bytes};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::{
    helpers::{DbKind, TestApp},
    previews::{EXPOSE, browser, get, host_of},
};

/// One HTTP/2 connection to the preview listener.
async fn h2(app: &TestApp) -> hyper::client::conn::http2::SendRequest<Empty<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(app.preview_addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
        .await
        .expect("an HTTP/2 handshake");
    tokio::spawn(conn);
    sender
}

async fn fetch(
    sender: &mut hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    url: &str,
    cookie: Option<&str>,
) -> (StatusCode, Version, String) {
    let mut req = Request::get(url);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = sender.send_request(req.body(Empty::new()).unwrap()).await.expect("an HTTP/2 answer");
    let (status, version) = (resp.status(), resp.version());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, version, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_speaks_http2_to_a_client_that_opens_with_its_preface() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("h2").await;
    let sb = app.create_sandbox(&token, "h2").await;
    app.write_file(&token, &sb, "app.py", include_str!("../fixtures/preview-app.py")).await;
    app.start_process(&token, &sb, &["python3", "app.py", "5173"]).await;
    let url = app.ok(&token, EXPOSE, json!({"s": sb, "p": 5173, "v": "PRIVATE"})).await["exposePort"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    // Up over HTTP/1.1 first (the app may still be starting).
    let http1 = browser(&app, &[host_of(&url)]);
    let link = crate::previews::previews(&app, &token, &sb).await[0]["link"]["url"].as_str().unwrap().to_string();
    let cookie = http1.get(&link).send().await.unwrap().headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(get(&http1, &url, Some(&cookie)).await.0, reqwest::StatusCode::OK);

    let mut sender = h2(&app).await;
    // The same auth: no cookie, 401; a host naming no preview, 404.
    let (status, version, _) = fetch(&mut sender, &url, None).await;
    assert_eq!((status, version), (StatusCode::UNAUTHORIZED, Version::HTTP_2));
    let nobody = format!("http://5173-{}.localhost:{}/", uuid::Uuid::now_v7(), app.preview_addr.port());
    assert_eq!(fetch(&mut sender, &nobody, Some(&cookie)).await.0, StatusCode::NOT_FOUND);
    // With the cookie: the app answers, and sees an HTTP/1.1 request for its own host
    // and path, and no preview cookie.
    let (status, version, body) =
        fetch(&mut sender, &format!("{url}headers?x=1"), Some(&format!("{cookie}; a=b"))).await;
    assert_eq!((status, version), (StatusCode::OK, Version::HTTP_2), "{body}");
    let seen: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(seen["host"], json!(format!("{}:{}", host_of(&url), app.preview_addr.port())), "{seen}");
    assert_eq!(seen["_path"], "/headers?x=1", "{seen}");
    assert_eq!(seen["_version"], "HTTP/1.1", "{seen}");
    assert_eq!(seen["cookie"], "a=b", "{seen}");

    // Several requests at once on the one connection, each answered.
    let all = futures::future::join_all((0..8).map(|_| {
        let mut s = sender.clone();
        let (u, c) = (url.clone(), cookie.clone());
        async move { fetch(&mut s, &format!("{u}headers"), Some(&c)).await }
    }))
    .await;
    assert!(all.iter().all(|(s, v, _)| *s == StatusCode::OK && *v == Version::HTTP_2), "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_connection_that_sends_nothing_or_half_a_preface_is_closed_at_the_header_deadline() {
    let app = TestApp::spawn_with(DbKind::Sqlite, |c| c.limits.requests.header_timeout_ms = 500, None).await;
    for opening in [&b""[..], b"PRI * HTTP/2.0\r\n"] {
        let mut tcp = tokio::net::TcpStream::connect(app.preview_addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut tcp, opening).await.unwrap();
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "closed after the deadline, not held: {read:?}");
    }
}
