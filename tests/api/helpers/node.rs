//! Runs the suite's Node scripts (browser tests, protocol clients) against a server: the
//! tools installed by scripts/install-test-deps.sh and the screenshot folder are passed to
//! every script, which must exit 0 and print its completion line.

use std::process::Command;

/// Where scripts/install-test-deps.sh put the Node tools.
fn tools_dir() -> String {
    std::env::var("SANDBOXQL_TEST_TOOLS").unwrap_or_else(|_| "/var/tmp/sandboxql-tools".into())
}

/// Runs `tests/<script>` with `envs`; returns everything it printed.
pub async fn run(script: &str, envs: Vec<(&'static str, String)>, done: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let shots = std::path::Path::new(root).join("target/playground-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let tools = tools_dir();
    let path = format!("{root}/tests/{script}");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(path)
            .envs(envs)
            .env("SCREENSHOT_DIR", &shots)
            .env("PLAYWRIGHT_DIR", format!("{tools}/browser"))
            .env("AUDIT_DIR", format!("{tools}/audit"))
            .env("SSE_DIR", format!("{tools}/sse"))
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{script} failed:\n{text}");
    assert!(text.contains(done), "{script}: no `{done}` in:\n{text}");
    text
}
