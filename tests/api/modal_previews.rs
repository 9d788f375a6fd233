//! Previews of Modal sandboxes: each sandbox opens `--modal-preview-ports` when it is
//! made, as the official client's `Sandbox.create(encrypted_ports=…)` sends them
//! (`open_ports`); the proxy finds the tunnel as `Sandbox.tunnels()` does
//! (`SandboxGetTunnelsV2` when the create's answer lacked them) and reaches the port
//! over TLS checked against the CA it was told to trust, with the preview's own
//! credentials in front. A port the sandboxes do not open is refused with a reason.

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{DbKind, fake_modal::FakeModal},
    modal_backend::spawn_tweaked,
    previews::{EXPOSE, browser, get, host_of, previews, serve_workspace},
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modal_sandbox_opens_its_preview_ports_and_the_proxy_reaches_them_through_the_tunnel() {
    let fake = FakeModal::start().await;
    // The create's answer carries no tunnels (not ready yet): sandboxql looks them up.
    fake.st().tunnels_late = true;
    let port = free_port();
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| c.modal.modal_preview_ports = vec![port]).await;
    let (_, token) = app.new_user("modal-preview").await;
    let sb = app.create_sandbox(&token, "web").await;
    let opened = fake.st().creates.last().unwrap().definition.clone().unwrap().open_ports.unwrap();
    assert_eq!(opened.ports.len(), 1);
    assert_eq!(
        (opened.ports[0].port, opened.ports[0].unencrypted, opened.ports[0].tunnel_type),
        (u32::from(port), false, None)
    );

    // A port the sandboxes do not open: refused before anything is stored.
    let (_, body) = app.post(Some(&token), EXPOSE, json!({"s": sb, "p": 1, "v": "PUBLIC"})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "PORT_NOT_OPENED", "{body}");
    assert!(previews(&app, &token, &sb).await.is_empty());

    serve_workspace(&app, &token, &sb, port, "hello-from-modal").await;
    let p = app.ok(&token, EXPOSE, json!({"s": sb, "p": port, "v": "PRIVATE"})).await["exposePort"].clone();
    let url = p["url"].as_str().unwrap().to_string();
    let client = browser(&app, &[host_of(&url)]);
    // The tunnel is public on Modal's side; sandboxql's credentials still come first.
    assert_eq!(get(&client, &url, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(fake.st().tunnel_connections, 0, "nothing reached the tunnel without the cookie");
    let link = previews(&app, &token, &sb).await[0]["link"]["url"].as_str().unwrap().to_string();
    let set = client.get(&link).send().await.unwrap().headers()["set-cookie"].to_str().unwrap().to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let (status, body, _) = get(&client, &url, Some(&cookie)).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "hello-from-modal"), "the workspace file, through the tunnel");
    assert!(fake.st().tunnel_connections >= 1);
    assert!(fake.count("SandboxGetTunnelsV2") >= 1, "{:?}", fake.st().calls);
    assert_eq!(fake.count("SandboxGetTunnels"), 0, "a V2 sandbox's tunnels are asked with the V2 call");
    assert!(fake.st().unauthenticated.is_empty(), "{:?}", fake.st().unauthenticated);
}

/// The tunnel's certificate is checked: one signed by a CA sandboxql was not told to
/// trust is never spoken to, though the app behind it is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_whose_certificate_is_not_trusted_is_not_used() {
    let fake = FakeModal::start().await;
    let port = free_port();
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| {
        c.modal.modal_preview_ports = vec![port];
        c.modal.modal_tunnel_ca = None;
    })
    .await;
    let (_, token) = app.new_user("modal-untrusted").await;
    let sb = app.create_sandbox(&token, "web").await;
    serve_workspace(&app, &token, &sb, port, "never-served").await;
    // The fake's processes share the host's loopback: the app is up when this answers.
    let up =
        crate::helpers::process::eventually(20, || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()).await;
    assert!(up, "the app in the fake sandbox came up");
    let url = app.ok(&token, EXPOSE, json!({"s": sb, "p": port, "v": "PUBLIC"})).await["exposePort"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = browser(&app, &[host_of(&url)]).get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert!(!resp.text().await.unwrap().contains("never-served"));
}

/// Ends the Modal sandbox of `sb` as Modal's idle timeout does; a read then finds it
/// SLEEPING. Waits out the preview route cache.
async fn put_to_sleep(app: &crate::helpers::TestApp, fake: &FakeModal, token: &str, sb: &str) {
    let modal_id = {
        let st = fake.st();
        let mine =
            |s: &&crate::helpers::fake_modal::FakeSandbox| s.tags.iter().any(|t| t.tag_value == sb) && !s.terminated;
        st.sandboxes.iter().find(|(_, s)| mine(s)).map(|(id, _)| id.clone()).unwrap()
    };
    fake.end_sandbox(&modal_id, sandboxql::backend::modal::proto::generic_result::GenericStatus::Timeout as i32);
    app.ok(token, "query($s: ID!) { sandbox(id: $s) { files { entries { path } } } }", json!({"s": sb})).await;
    let status = app.ok(token, "query($s: ID!) { sandbox(id: $s) { status } }", json!({"s": sb})).await;
    assert_eq!(status["sandbox"]["status"], "SLEEPING");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}

/// A sleeping sandbox's preview says so (503) and does not wake it, unless
/// `limits.previewWakes`: then a request wakes it once, the app must be started again
/// (processes end with the sandbox), and the new sandbox's tunnel serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_sandbox_preview_says_so_or_wakes_it_when_configured() {
    let fake = FakeModal::start().await;
    let port = free_port();
    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| c.modal.modal_preview_ports = vec![port]).await;
    let (_, token) = app.new_user("modal-sleepy").await;
    let sb = app.create_sandbox(&token, "web").await;
    let url = app.ok(&token, EXPOSE, json!({"s": sb, "p": port, "v": "PUBLIC"})).await["exposePort"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    put_to_sleep(&app, &fake, &token, &sb).await;
    let creates = fake.count("SandboxCreateV2");
    let resp = browser(&app, &[host_of(&url)]).get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.text().await.unwrap().contains("asleep"));
    assert_eq!(fake.count("SandboxCreateV2"), creates, "not woken");

    let app = spawn_tweaked(DbKind::Sqlite, &fake, |c| {
        c.modal.modal_preview_ports = vec![port];
        c.limits.previews.preview_wakes = true;
    })
    .await;
    let (_, token) = app.new_user("modal-waker").await;
    let sb = app.create_sandbox(&token, "web").await;
    serve_workspace(&app, &token, &sb, port, "awake-again").await;
    let url = app.ok(&token, EXPOSE, json!({"s": sb, "p": port, "v": "PUBLIC"})).await["exposePort"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let client = browser(&app, &[host_of(&url)]);
    assert_eq!(get(&client, &url, None).await.1, "awake-again");
    put_to_sleep(&app, &fake, &token, &sb).await;
    let creates = fake.count("SandboxCreateV2");
    let resp = client.get(&url).send().await.unwrap();
    // Woken, once; the app it served ended with the old sandbox.
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(fake.count("SandboxCreateV2"), creates + 1);
    let status = app.ok(&token, "query($s: ID!) { sandbox(id: $s) { status } }", json!({"s": sb})).await;
    assert_eq!(status["sandbox"]["status"], "RUNNING");
    serve_workspace(&app, &token, &sb, port, "awake-again").await;
    assert_eq!(get(&client, &url, None).await.1, "awake-again", "through the new sandbox's tunnel");
}
