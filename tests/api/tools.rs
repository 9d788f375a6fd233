//! GraphQL tools pointed at the server work: graphql-js's standard introspection query
//! with every option, and `@graphql-codegen/cli` (typescript plugin) generating types
//! from the server's URL, without a token (introspection needs none).

use crate::helpers::{DbKind, TestApp, node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_js_introspection_with_every_option_builds_the_schema() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let envs = vec![("GRAPHQL_URL", app.url())];
    let out = node::run("http_audit/introspection.mjs", envs, "introspection passed").await;
    println!("{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_codegen_generates_types_from_the_servers_url() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "schema: {}\ngenerates:\n  types.ts:\n    plugins:\n      - typescript\n",
        serde_json::to_string(&app.url()).unwrap()
    );
    std::fs::write(dir.path().join("codegen.yml"), config).unwrap();
    let tools = std::env::var("SANDBOXQL_TEST_TOOLS").unwrap_or_else(|_| "/var/tmp/sandboxql-tools".into());
    let bin = format!("{tools}/codegen/node_modules/.bin/graphql-codegen");
    let cwd = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .args(["--config", "codegen.yml"])
            .current_dir(cwd)
            .output()
            .expect("codegen runs")
    })
    .await
    .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    let types = std::fs::read_to_string(dir.path().join("types.ts")).unwrap();
    assert!(types.contains("export type Sandbox = {"), "{types}");
    assert!(types.contains("sandboxes: SandboxConnection;"), "{}", &types[..types.len().min(2000)]);
}
