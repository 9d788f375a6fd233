//! The playground in a real browser: runs `tests/browser/playground.mjs` (playwright-core
//! with Debian's chromium, both installed by scripts/install-test-deps.sh) against a real
//! server with the stand-in claude. Screenshots land in `target/playground-screenshots/`.

use crate::helpers::{DbKind, TestApp, fake_anthropic, node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_flows_in_chromium() {
    // Runs that call the API (`[api N]`) go through the gateway to a fake priced at
    // $1000/MTok, so the first call costs $0.37.
    let fake = fake_anthropic::start().await;
    // Bounded sandboxes, so the usage line shows real figures against the template's.
    let dir = tempfile::tempdir().unwrap();
    let templates = crate::bounds::templates_file(dir.path(), "512 MiB", "64 MiB", 256, "16 MiB");
    let app = crate::bounds::bounded_app(&templates, |c| {
        c.gateway.anthropic_base_url = format!("http://{}", fake.addr);
        c.gateway.model_prices = vec!["fake-model=1000,1000,1000,1000".into()];
    })
    .await;
    let (_, token) = app.new_user("ada").await;
    let (_, other) = app.new_user("bob").await;
    let theirs = app.create_sandbox(&other, "bobs").await;
    let envs = vec![
        ("PLAYGROUND_URL", format!("http://{}", app.addr)),
        ("PLAYGROUND_TOKEN", token),
        ("ADMIN_TOKEN", app.admin_token.clone()),
        ("OTHER_SANDBOX", theirs),
    ];
    node::run("browser/playground.mjs", envs, "playground browser test passed").await;
}

/// The page and its modules are served from the binary with the strict CSP; GraphiQL
/// still answers.
#[tokio::test]
async fn playground_assets_and_graphiql_are_served() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let base = format!("http://{}", app.addr);
    let page = app.http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("/playground/js/app.js") && !html.contains("<script>"), "no inline script");
    let js = app.http.get(format!("{base}/playground/js/app.js")).send().await.unwrap();
    assert_eq!(js.headers()["content-type"], "text/javascript; charset=utf-8");
    // HTTP clients normalise `..` away before sending, so speak raw HTTP: the server itself
    // must refuse every traversal form it receives.
    for path in ["/playground/../Cargo.toml", "/playground/..%2fCargo.toml", "/playground/js/../../Cargo.toml"] {
        let (status, body) = raw_get(app.addr, path).await;
        assert!(status.starts_with("HTTP/1.1 404"), "{path}: {status}");
        assert!(!body.contains("[package]"), "{path} leaked a file");
    }
    let graphiql = app.http.get(format!("{base}/graphiql")).send().await.unwrap();
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.unwrap().to_lowercase().contains("graphiql"));
}

/// Sends `GET <path>` exactly as written (no client-side normalisation) and returns the
/// status line and the body.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut reply = String::new();
    tcp.read_to_string(&mut reply).await.unwrap();
    let status = reply.lines().next().unwrap_or_default().to_string();
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// A sandbox whose Modal sandbox ended shows as SLEEPING with its files, and a message
/// sent from the page wakes it (Modal backend against the fake).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_shows_a_sleeping_sandbox_and_a_message_wakes_it() {
    use crate::helpers::fake_modal::{FakeModal, TOKEN_ID, TOKEN_SECRET};
    let fake = FakeModal::start().await;
    let url = fake.url();
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        move |c| {
            c.backend = sandboxql::config::BackendKind::Modal;
            c.modal.modal_token_id = Some(sandboxql::config::Secret(TOKEN_ID.into()));
            c.modal.modal_token_secret = Some(sandboxql::config::Secret(TOKEN_SECRET.into()));
            c.modal.modal_server_url = url;
            c.modal.modal_retry_base_ms = 10;
            c.gateway.gateway_public_url = Some("https://gateway.sandboxql.test".into());
        },
        None,
    )
    .await;
    let (_, token) = app.new_user("sam").await;
    let sb = app.create_sandbox(&token, "napping").await;
    let write = "mutation($id: ID!) { writeFile(sandboxId: $id, path: \"notes/a.txt\", content: \"hi\") { size } }";
    app.ok(&token, write, serde_json::json!({"id": sb})).await;
    let modal_id = fake.st().sandboxes.keys().next().unwrap().clone();
    fake.end_sandbox(&modal_id, 7);
    // The next read notices: the sandbox sleeps.
    app.ok(&token, "query($id: ID!) { sandbox(id: $id) { files { totalCount } } }", serde_json::json!({"id": sb}))
        .await;
    let status = app.ok(&token, "query($id: ID!) { sandbox(id: $id) { status } }", serde_json::json!({"id": sb})).await;
    assert_eq!(status["sandbox"]["status"], "SLEEPING");

    let envs =
        vec![("PLAYGROUND_URL", format!("http://{}", app.addr)), ("PLAYGROUND_TOKEN", token), ("SANDBOX_ID", sb)];
    node::run("browser/sleeping.mjs", envs, "sleeping browser test passed").await;
    assert_eq!(fake.count("SandboxCreateV2"), 2, "the message woke it once");
}

/// GraphiQL works offline: served from the binary, nothing fetched from elsewhere, no CSP
/// violation, the signed-in token prefilled, a query and a subscription run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_queries_and_subscriptions_offline() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("gia").await;
    let sb = app.create_sandbox(&token, "g").await;
    let run = app.start_run(&token, &sb, "hello").await;
    app.wait_idle(&token, &sb).await;
    let envs = vec![("PLAYGROUND_URL", format!("http://{}", app.addr)), ("PLAYGROUND_TOKEN", token), ("RUN_ID", run)];
    node::run("browser/graphiql.mjs", envs, "graphiql browser test passed").await;
}

/// A new user's first ten minutes in Chromium (tests/browser/newcomer.mjs): Cancel,
/// markdown without running Claude's HTML, progress, the conversation after a reload,
/// edit and upload, snapshot browse and restore, and a server without the Claude CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newcomer_flows_in_chromium() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("nell").await;
    let bare =
        TestApp::spawn_with(DbKind::Sqlite, |c| c.runs.claude_bin = "claude-not-installed-here".into(), None).await;
    let (_, bare_token) = bare.new_user("nell").await;
    let envs = vec![
        ("PLAYGROUND_URL", format!("http://{}", app.addr)),
        ("PLAYGROUND_TOKEN", token),
        ("NOCLI_URL", format!("http://{}", bare.addr)),
        ("NOCLI_TOKEN", bare_token),
    ];
    node::run("browser/newcomer.mjs", envs, "newcomer browser test passed").await;
}

/// The playground's terminal (tests/browser/terminal.mjs): a command typed in it shows
/// its output, and after a reload the same terminal is back with its scrollback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_terminal_types_shows_and_survives_a_reload() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("tess").await;
    let sb = app.create_sandbox(&token, "term").await;
    let envs =
        vec![("PLAYGROUND_URL", format!("http://{}", app.addr)), ("PLAYGROUND_TOKEN", token), ("SANDBOX_ID", sb)];
    node::run("browser/terminal.mjs", envs, "terminal browser test passed").await;
}

/// The playground's previews (tests/browser/preview.mjs): a server the sandbox runs is
/// exposed, shown in the pane and opened in a new tab, and renders in both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_preview_shows_the_page_the_sandbox_serves() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("pia").await;
    let sb = app.create_sandbox(&token, "web").await;
    let write = "mutation($s: ID!, $c: String!) { writeFile(sandboxId: $s, path: \"app.py\", content: $c) { size } }";
    app.ok(&token, write, serde_json::json!({"s": sb, "c": include_str!("../fixtures/preview-app.py")})).await;
    let start =
        "mutation($s: ID!) { startProcess(input: {sandboxId: $s, argv: [\"python3\", \"app.py\", \"5173\"]}) { id } }";
    app.ok(&token, start, serde_json::json!({"s": sb})).await;
    let envs =
        vec![("PLAYGROUND_URL", format!("http://{}", app.addr)), ("PLAYGROUND_TOKEN", token), ("SANDBOX_ID", sb)];
    node::run("browser/preview.mjs", envs, "preview browser test passed").await;
}

/// The playground's Processes list (tests/browser/processes.mjs): a background command's
/// output live and again after a reload, then Stop ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playground_processes_show_live_output_and_stop() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("pat").await;
    let sb = app.create_sandbox(&token, "procs").await;
    let envs =
        vec![("PLAYGROUND_URL", format!("http://{}", app.addr)), ("PLAYGROUND_TOKEN", token), ("SANDBOX_ID", sb)];
    node::run("browser/processes.mjs", envs, "processes browser test passed").await;
}
