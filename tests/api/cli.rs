//! The binary as a new user meets it: `serve` on a bare directory, and the admin commands.

use serde_json::{Value, json};

use crate::helpers::process::{run, serve};

fn serve_in(dir: &std::path::Path) -> crate::helpers::process::Served {
    serve(dir, &[], &[])
}

async fn viewer(addr: &str, token: &str) -> Value {
    reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": "{ viewer { id name role } }"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn fresh_directory_serves_on_sqlite_and_prints_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve_in(dir.path());
    let token = served.token.clone().expect("first start prints an admin token");
    let body = viewer(&served.addr, &token).await;
    assert_eq!(body["data"]["viewer"]["role"], "ADMIN", "{body}");
    assert!(dir.path().join("data/sandboxql.db").exists(), "SQLite file under ./data");
    drop(served);

    // A second start finds the admin and prints no token.
    let again = serve_in(dir.path());
    assert!(again.token.is_none());
    assert_eq!(viewer(&again.addr, &token).await["data"]["viewer"]["role"], "ADMIN");
}

#[tokio::test]
async fn accounts_and_tokens_commands_print_usable_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["accounts", "create", "--name", "ops"]);
    let token = out.lines().last().unwrap().trim().to_string();
    let account = out.lines().find_map(|l| l.strip_prefix("account id: ")).unwrap().trim().to_string();
    let out = run(dir.path(), &["tokens", "create", "--account", &account, "--name", "ci"]);
    let second = out.lines().last().unwrap().trim().to_string();
    assert_ne!(token, second);
    let admin = run(dir.path(), &["accounts", "create", "--name", "root", "--admin"]);
    let admin_token = admin.lines().last().unwrap().trim().to_string();
    let ext = run(dir.path(), &["accounts", "create", "--name", "ext", "--external-id", "user-5"]);
    let ext_account = ext.lines().find_map(|l| l.strip_prefix("account id: ")).unwrap().trim().to_string();
    let ro = run(dir.path(), &["tokens", "create", "--account", &account, "--name", "dash", "--read-only"]);
    let ro_id = ro.lines().find_map(|l| l.strip_prefix("token id: ")).unwrap().trim().to_string();

    // The listings: every account (with its external id), an account's tokens (never a secret).
    let listed = run(dir.path(), &["accounts", "list"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
    assert!(listed.lines().any(|l| l.starts_with(&ext_account) && l.contains("\tuser-5\t")), "{listed}");
    assert!(listed.lines().any(|l| l.contains("\tADMIN\t") && l.ends_with("root")), "{listed}");
    let tokens = run(dir.path(), &["tokens", "list", "--account", &account]);
    assert_eq!(tokens.lines().count(), 3, "{tokens}");
    assert!(
        tokens.lines().any(|l| l.starts_with(&ro_id) && l.contains("read-only") && l.ends_with("dash")),
        "{tokens}"
    );
    for secret in [&token, &second] {
        assert!(!tokens.contains(secret.as_str()) && !listed.contains(secret.as_str()));
    }

    // Budgets: set by the operator, shown back, read by the account itself.
    let set =
        run(dir.path(), &["accounts", "budget", "--id", &account, "--daily-usd", "5", "--max-concurrent-runs", "2"]);
    assert_eq!(set.trim(), format!("account {account}: daily $5.00, monthly none, runs at once 2"));

    let served = serve_in(dir.path());
    assert!(served.token.is_none(), "accounts exist, so no bootstrap admin");
    let b = crate::helpers::remote::gql(
        &served.addr,
        &token,
        "{ viewer { budget { dailyUsd monthlyUsd maxConcurrentRuns } } }",
        json!({}),
    )
    .await;
    assert_eq!(b["data"]["viewer"]["budget"], json!({"dailyUsd": 5.0, "monthlyUsd": null, "maxConcurrentRuns": 2}));
    for (t, role) in [(&token, "USER"), (&second, "USER"), (&admin_token, "ADMIN")] {
        let body = viewer(&served.addr, t).await;
        assert_eq!(body["data"]["viewer"]["role"], role, "{body}");
    }
    let body = viewer(&served.addr, &token).await;
    assert_eq!(body["data"]["viewer"]["id"], account);
    // Tokens are stored only as hashes.
    let raw = std::fs::read(dir.path().join("data/sandboxql.db")).unwrap();
    assert!(!raw.windows(token.len()).any(|w| w == token.as_bytes()));
}

/// Polls `viewer` with `token` until it is refused; returns how long that took.
async fn refused_after(addr: &str, token: &str) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        let body = viewer(addr, token).await;
        if body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED" {
            return start.elapsed();
        }
        assert!(start.elapsed().as_secs() < 5, "still accepted after 5 s: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Resolved tokens are remembered for at most a second, so a revocation or a disabled
/// account (done by another process, here the CLI) is in force within 2 s.
#[tokio::test]
async fn revoking_a_token_and_disabling_an_account_take_effect_within_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve_in(dir.path());
    let admin = served.token.clone().unwrap();
    let out = run(dir.path(), &["accounts", "create", "--name", "temp"]);
    let account = out.lines().find_map(|l| l.strip_prefix("account id: ")).unwrap().trim().to_string();
    let first_id = out.lines().find_map(|l| l.strip_prefix("token id: ")).unwrap().trim().to_string();
    let first = out.lines().last().unwrap().trim().to_string();
    let out = run(dir.path(), &["tokens", "create", "--account", &account]);
    let second = out.lines().last().unwrap().trim().to_string();
    assert_eq!(viewer(&served.addr, &first).await["data"]["viewer"]["id"], account);

    assert_eq!(viewer(&served.addr, &second).await["data"]["viewer"]["id"], account, "cached now");
    run(dir.path(), &["tokens", "revoke", "--id", &first_id]);
    let took = refused_after(&served.addr, &first).await;
    assert!(took.as_millis() <= 2000, "revocation took {took:?}");
    assert_eq!(viewer(&served.addr, &second).await["data"]["viewer"]["id"], account, "other tokens still work");

    run(dir.path(), &["accounts", "disable", "--id", &account]);
    let took = refused_after(&served.addr, &second).await;
    assert!(took.as_millis() <= 2000, "disabling took {took:?}");
    assert_eq!(viewer(&served.addr, &admin).await["data"]["viewer"]["role"], "ADMIN");
}
