//! GraphQL over HTTP exactly per the spec: npm `graphql-http`'s `auditServer` (the spec's
//! reference audit, installed by scripts/install-test-deps.sh) against the real server
//! finds no error and no warning (notices, the spec's MAYs, are allowed).

use crate::helpers::{DbKind, TestApp, node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_http_audit_passes_without_errors_or_warnings() {
    let app = TestApp::spawn(DbKind::Sqlite).await;
    let (_, token) = app.new_user("audrey").await;
    let text =
        node::run("http_audit/audit.mjs", vec![("AUDIT_URL", app.url()), ("AUDIT_TOKEN", token)], "audit: ").await;
    let summary = text.lines().find(|l| l.starts_with("audit: ")).unwrap_or_else(|| panic!("no summary:\n{text}"));
    assert!(summary.ends_with(" ok, 0 warnings, 0 errors"), "{text}");
    let ok: u32 = summary["audit: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(ok >= 50, "the audit ran its checks: {summary}");
}
