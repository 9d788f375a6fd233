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
    let out_file = dir.path().join("types.ts");
    let config = format!(
        "schema: {}\ngenerates:\n  {}:\n    plugins:\n      - typescript\n",
        serde_json::to_string(&app.url()).unwrap(),
        serde_json::to_string(&out_file.display().to_string()).unwrap()
    );
    let config_file = dir.path().join("codegen.yml");
    std::fs::write(&config_file, config).unwrap();
    let tools = std::env::var("SANDBOXQL_TEST_TOOLS").unwrap_or_else(|_| "/var/tmp/sandboxql-tools".into());
    // Run where the plugin is installed: codegen resolves plugins from its working dir.
    let cwd = format!("{tools}/codegen");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(format!("{cwd}/node_modules/.bin/graphql-codegen"))
            .arg("--config")
            .arg(&config_file)
            .current_dir(&cwd)
            .output()
            .expect("codegen runs")
    })
    .await
    .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    let types = std::fs::read_to_string(&out_file).unwrap();
    assert!(types.contains("export type Sandbox = Node & {"), "{}", &types[..types.len().min(2000)]);
    assert!(types.contains("sandboxes: SandboxConnection;"), "{}", &types[..types.len().min(2000)]);
}
