//! GraphQL over HTTP exactly per the spec: npm `graphql-http`'s `auditServer` (the spec's
//! reference audit, installed by scripts/install-test-deps.sh) against the real server
//! finds no error and no warning (notices, the spec's MAYs, are allowed).

use std::process::Command;

use crate::helpers::{DbKind, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_http_audit_passes_without_errors_or_warnings() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("audrey").await;
    let tools = std::env::var("SANDBOXQL_TEST_TOOLS").unwrap_or_else(|_| "/var/tmp/sandboxql-tools".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http_audit/audit.mjs");
    let url = app.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .env("AUDIT_URL", url)
            .env("AUDIT_TOKEN", token)
            .env("AUDIT_DIR", format!("{tools}/audit"))
            .output()
            .expect("node runs")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "audit script failed:\n{text}");
    let summary = text.lines().find(|l| l.starts_with("audit: ")).unwrap_or_else(|| panic!("no summary:\n{text}"));
    assert!(summary.ends_with(" ok, 0 warnings, 0 errors"), "{text}");
    let ok: u32 = summary["audit: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(ok >= 50, "the audit ran its checks: {summary}");
}
