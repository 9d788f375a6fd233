//! Git through the credential broker, against a real `git http-backend` over HTTPS that
//! requires Basic auth: `createSandbox(input: {git})` clones at a ref, `Sandbox.git`
//! reports branch, head, status, log and diff, `gitCommit` + `gitPush` land on the
//! server, and so does `git push` run inside the sandbox as Claude's Bash runs it. The
//! token is added outside: nothing in the sandbox (environment, `/proc/*/environ`, git
//! config, any file) nor the database holds it in the clear. Another account's sandbox
//! gets no credential, a host not allowed is unreachable, and an HTTP_HEADER
//! credential reaches its API host while the sandbox cannot read it.

mod browser;
mod real_claude;
mod server;

use serde_json::{Value, json};

use self::server::{GIT_TOKEN, GIT_USER, git_server, recorder};
use crate::{
    bounds::sh,
    helpers::{DbKind, TestApp, tls::TestCa},
};

/// A `--secrets-key` for tests (32 bytes, base64).
const SECRETS_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

const SET: &str = "mutation($i: SetCredentialInput!) { setCredential(input: $i) { host kind username headerName } }";
const CREATE: &str =
    "mutation($n: String!, $g: GitSourceInput!) { createSandbox(input: {name: $n, git: $g}) { id status } }";
const GIT: &str = "query($s: ID!) { sandbox(id: $s) { git { branch head upstream ahead behind \
                   status { path state staged } log(first: 5) { subject authorName } } } }";

async fn app_for(ca: &TestCa, allowed: &[u16]) -> TestApp {
    app_with(ca, allowed, |_| {}).await
}

/// A server with a secrets key, trusting `ca` for the broker, allowing `127.0.0.1` at
/// `allowed` ports, tweaked further by `more`.
async fn app_with(ca: &TestCa, allowed: &[u16], more: impl FnOnce(&mut sandboxql::config::Config)) -> TestApp {
    let (pem, allowed): (_, Vec<String>) = (ca.pem_path(), allowed.iter().map(|p| format!("127.0.0.1:{p}")).collect());
    TestApp::spawn_with(
        DbKind::Sqlite,
        move |c| {
            c.broker.secrets_key = Some(sandboxql::config::Secret(SECRETS_KEY.into()));
            c.broker.broker_ca = vec![pem];
            c.gateway.sandbox_egress = allowed;
            more(c);
        },
        None,
    )
    .await
}

/// A sandbox of `token`'s account cloned from `server`, with the account's credential
/// for it set first.
async fn cloned(app: &TestApp, token: &str, server: &server::Served) -> String {
    let host = format!("127.0.0.1:{}", server.port);
    let set = json!({"host": host, "kind": "GIT_HTTPS", "username": GIT_USER, "secret": GIT_TOKEN});
    app.ok(token, SET, json!({"i": set})).await;
    let sb = app.ok(token, CREATE, json!({"n": "repo", "g": {"url": server.url()}})).await["createSandbox"].clone();
    assert_eq!(sb["status"], "RUNNING", "{sb}");
    sb["id"].as_str().unwrap().to_string()
}

async fn git_of(app: &TestApp, token: &str, sb: &str) -> Value {
    app.ok(token, GIT, json!({"s": sb})).await["sandbox"]["git"].clone()
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let (path, ty) = (e.path(), e.file_type().unwrap());
            if ty.is_dir() {
                stack.push(path);
            } else if ty.is_file()
                && let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_clones_commits_and_pushes_through_the_broker_and_never_holds_the_token() {
    let ca = TestCa::new();
    let server = git_server(&ca);
    let app = app_for(&ca, &[server.port]).await;
    let (_, ann) = app.new_user("ann").await;
    let host = format!("127.0.0.1:{}", server.port);
    let set = json!({"host": host, "kind": "GIT_HTTPS", "username": GIT_USER, "secret": GIT_TOKEN});
    let cred = app.ok(&ann, SET, json!({"i": set})).await["setCredential"].clone();
    assert_eq!(cred, json!({"host": host, "kind": "GIT_HTTPS", "username": GIT_USER, "headerName": null}));
    let listed = app.ok(&ann, "{ credentials { host kind } }", json!({})).await;
    assert_eq!(listed["credentials"], json!([{"host": host, "kind": "GIT_HTTPS"}]), "listed, without the secret");

    // Cloned at the ref, through the broker.
    let g = json!({"url": server.url(), "ref": "main", "depth": 10});
    let sb = app.ok(&ann, CREATE, json!({"n": "repo", "g": g})).await["createSandbox"].clone();
    assert_eq!(sb["status"], "RUNNING", "{sb}");
    let sb = sb["id"].as_str().unwrap().to_string();
    let git = git_of(&app, &ann, &sb).await;
    assert_eq!(git["branch"], "main", "{git}");
    assert_eq!(git["head"], json!(server.rev("main")));
    assert_eq!(git["upstream"], "origin/main");
    assert_eq!((git["ahead"].as_i64(), git["behind"].as_i64()), (Some(0), Some(0)));
    assert_eq!(git["status"], json!([]));
    let subjects: Vec<_> = git["log"].as_array().unwrap().iter().map(|c| c["subject"].clone()).collect();
    assert_eq!(subjects, vec![json!("add the app"), json!("first commit")]);
    assert!(server.requests().lines().any(|l| l.contains("git-upload-pack") && l.contains("Basic ")));

    // Changes show in status and diff; committed and pushed, they land on the server.
    app.write_file(&ann, &sb, "src/app.txt", "line one\nline 2, changed\n").await;
    app.write_file(&ann, &sb, "notes.md", "new\n").await;
    let git = git_of(&app, &ann, &sb).await;
    assert_eq!(
        git["status"],
        json!([{"path": "src/app.txt", "state": "MODIFIED", "staged": false},
               {"path": "notes.md", "state": "UNTRACKED", "staged": false}]),
        "{git}"
    );
    // The file explorer marks them, and the folder holding one.
    let q = "query($s: ID!) { sandbox(id: $s) { files(first: 100) { entries { path gitState } } } }";
    let listed = app.ok(&ann, q, json!({"s": sb})).await["sandbox"]["files"]["entries"].clone();
    let mark = |p: &str| listed.as_array().unwrap().iter().find(|e| e["path"] == p).map(|e| e["gitState"].clone());
    assert_eq!(mark("src"), Some(json!("MODIFIED")), "{listed}");
    assert_eq!(mark("notes.md"), Some(json!("UNTRACKED")));
    assert_eq!(mark("README.md"), Some(json!(null)));
    let q = "query($s: ID!, $p: String) { sandbox(id: $s) { git { diff(path: $p) { text truncated } } } }";
    let diff = app.ok(&ann, q, json!({"s": sb, "p": "src/app.txt"})).await["sandbox"]["git"]["diff"].clone();
    let text = diff["text"].as_str().unwrap();
    assert!(text.contains("-line two") && text.contains("+line 2, changed") && diff["truncated"] == false, "{text}");
    let q = "mutation($s: ID!) { gitCommit(sandboxId: $s, message: \"from the API\") }";
    let hash = app.ok(&ann, q, json!({"s": sb})).await["gitCommit"].as_str().unwrap().to_string();
    assert_eq!(git_of(&app, &ann, &sb).await["ahead"], 1);
    let q = "mutation($s: ID!) { gitPush(sandboxId: $s) { id } }";
    app.ok(&ann, q, json!({"s": sb})).await;
    assert_eq!(server.rev("main"), hash, "the API's commit is on the server");
    let pushed = "SELECT COUNT(*) FROM webhook_events WHERE event_type = 'git.pushed'";
    assert_eq!(app.count(pushed).await, 1, "gitPush is an event for webhooks");
    let log = git_of(&app, &ann, &sb).await["log"][0].clone();
    assert_eq!(log, json!({"subject": "from the API", "authorName": "ann"}));

    // As Claude's Bash would: a plain `git push` inside the sandbox, through the broker.
    let cmd = "echo more >> README.md && git -c user.name=Claude -c user.email=c@x commit -qam claude \
               && git push -q origin HEAD:main && git rev-parse HEAD";
    let out = sh(&app, &ann, &sb, cmd).await;
    assert_eq!(out["code"], 0, "{out}");
    assert_eq!(server.rev("main"), out["stdout"].as_str().unwrap().trim(), "Claude's own push landed");
    // A branch made and checked out through the API.
    let q = "mutation($s: ID!) { gitCheckout(sandboxId: $s, ref: \"topic\", create: true) { id } }";
    app.ok(&ann, q, json!({"s": sb})).await;
    assert_eq!(git_of(&app, &ann, &sb).await["branch"], "topic");

    // The token is nowhere inside: not in the environment of any process, git's
    // configuration, or any file of the sandbox; nor in the clear in the database.
    let probe = "env; cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'; cat ~/.gitconfig .git/config 2>/dev/null; \
                 git config --list --show-origin; grep -rIl -- \"$(printf 'glpat-SECRET')\" \"$HOME\" . /tmp /etc 2>/dev/null | head -5";
    let out = sh(&app, &ann, &sb, probe).await;
    let all = format!("{}{}", out["stdout"], out["stderr"]);
    assert!(all.contains("GIT_CONFIG_KEY_0=url.http://127.0.0.1:"), "the broker's rewrite is there: {all}");
    assert!(!all.contains(GIT_TOKEN), "the token leaked into the sandbox: {all}");
    assert!(files_holding(app.data_dir.path(), GIT_TOKEN.as_bytes()).is_empty(), "not in any file of the server");
    assert_eq!(app.count("SELECT COUNT(*) FROM account_credentials WHERE sealed LIKE '%SECRET%'").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM account_credentials").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_credential_is_never_used_and_hosts_not_allowed_are_unreachable() {
    let ca = TestCa::new();
    let server = git_server(&ca);
    let app = app_for(&ca, &[server.port]).await;
    let (_, ann) = app.new_user("ann").await;
    let (_, bob) = app.new_user("bob").await;
    let host = format!("127.0.0.1:{}", server.port);
    let set = json!({"host": host, "kind": "GIT_HTTPS", "username": GIT_USER, "secret": GIT_TOKEN});
    app.ok(&ann, SET, json!({"i": set})).await;
    assert_eq!(app.ok(&bob, "{ credentials { host } }", json!({})).await["credentials"], json!([]));

    // Bob's clone of the same URL gets no credential: the server sees none, git fails.
    let (_, body) = app.post(Some(&bob), CREATE, json!({"n": "b", "g": {"url": server.url()}})).await;
    assert_eq!(body["errors"][0]["extensions"]["reason"], "GIT_FAILED", "{body}");
    assert!(!body.to_string().contains("/broker/"), "the broker's address stays out of errors: {body}");
    let seen = server.requests();
    assert!(seen.lines().all(|l| l.ends_with(" -")), "no Authorization arrived for Bob: {seen}");
    // Bob cannot set Ann's, nor list them.
    let (_, body) = app
        .post(Some(&bob), "{ credentials(accountId: \"00000000-0000-0000-0000-000000000001\") { host } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");

    // A host the server does not allow (and no credential names) is unreachable, and the
    // sandbox reaches no server directly.
    let sb = app.create_sandbox(&ann, "plain").await;
    let other = format!("https://127.0.0.2:{}/team/app.git", server.port);
    let out =
        sh(&app, &ann, &sb, &format!("git ls-remote {other} 2>&1; echo; git ls-remote {} | head -1", server.url()))
            .await;
    let said = out["stdout"].as_str().unwrap();
    assert!(said.contains("403"), "not allowed: {said}");
    assert!(said.contains("refs/heads/main") || said.contains("HEAD"), "Ann's own host works: {said}");
    let direct = format!("python3 -c \"import socket; socket.create_connection(('127.0.0.1', {}), 2)\"", server.port);
    assert_ne!(sh(&app, &ann, &sb, &direct).await["code"], 0, "no direct connection out of the jail");
    // A token of a sandbox that is gone opens nothing.
    let q = "mutation($id: ID!) { deleteSandbox(id: $id) { id } }";
    let env = sh(&app, &ann, &sb, "printf %s \"$SANDBOXQL_BROKER_URL\"").await["stdout"].as_str().unwrap().to_string();
    app.ok(&ann, q, json!({"id": sb})).await;
    let path = env.split_once("/broker/").unwrap().1;
    let url = format!("http://{}/broker/{path}/127.0.0.1:{}/team/app.git/info/refs", app.gateway_addr, server.port);
    assert_eq!(app.http.get(url).send().await.unwrap().status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_header_credential_reaches_its_host_only_and_the_sandbox_cannot_read_it() {
    let ca = TestCa::new();
    let (api, plain) = (recorder(&ca), recorder(&ca));
    let app = app_for(&ca, &[api.port, plain.port]).await;
    let (_, ann) = app.new_user("ann").await;
    let key = "sk-live-HEADER-SECRET-41f0";
    let set = json!({"host": format!("127.0.0.1:{}", api.port), "kind": "HTTP_HEADER", "headerName": "X-Api-Key", "secret": key});
    let cred = app.ok(&ann, SET, json!({"i": set})).await["setCredential"].clone();
    assert_eq!(cred["headerName"], "x-api-key");
    let sb = app.create_sandbox(&ann, "api").await;
    let fetch = |port: u16| {
        format!(
            "python3 -c \"import os, urllib.request as u; \
             print(u.urlopen(os.environ['SANDBOXQL_BROKER_URL'] + '/127.0.0.1:{port}/v1/items?x=1').read().decode())\""
        )
    };
    let out =
        sh(&app, &ann, &sb, &format!("{}; {}; env | grep -c HEADER-SECRET", fetch(api.port), fetch(plain.port))).await;
    let said = out["stdout"].as_str().unwrap();
    assert_eq!(said.matches("recorded").count(), 2, "{out}");
    assert!(!said.contains(key) && !out["stderr"].as_str().unwrap().contains(key), "{out}");
    let got: Value = serde_json::from_str(api.requests().lines().next().unwrap()).unwrap();
    assert_eq!(got["path"], "/v1/items?x=1");
    assert_eq!(got["headers"]["x-api-key"], key, "added on the way out: {got}");
    let other: Value = serde_json::from_str(plain.requests().lines().next().unwrap()).unwrap();
    assert!(other["headers"].get("x-api-key").is_none(), "a host without the credential gets none: {other}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_set_anyones_credentials_every_change_is_audited_and_a_new_key_reseals_them() {
    let ca = TestCa::new();
    let server = git_server(&ca);
    let app = app_for(&ca, &[server.port]).await;
    let (bob_id, bob) = app.new_user("bob").await;
    let host = format!("127.0.0.1:{}", server.port);
    // An admin sets Bob's credential; Bob sees it and his clone gets it.
    let set =
        json!({"host": host, "kind": "GIT_HTTPS", "username": GIT_USER, "secret": GIT_TOKEN, "accountId": bob_id});
    app.ok(&app.admin_token, SET, json!({"i": set})).await;
    assert_eq!(app.ok(&bob, "{ credentials { host } }", json!({})).await["credentials"][0]["host"], json!(host));
    let (_, body) = app.post(Some(&bob), CREATE, json!({"n": "b", "g": {"url": server.url()}})).await;
    assert!(body["errors"].is_null(), "{body}");
    // Bad input and no key: clear codes.
    let bad = json!({"host": "not a host", "kind": "GIT_HTTPS", "secret": "x"});
    let (_, body) = app.post(Some(&bob), SET, json!({"i": bad})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    let audited = "SELECT COUNT(*) FROM change_logs WHERE entity = 'account_credentials'";
    assert_eq!(app.count(audited).await, 1);
    let secret_logged = "SELECT COUNT(*) FROM change_logs WHERE CAST(after AS TEXT) LIKE '%SECRET%'";
    assert_eq!(app.count(secret_logged).await, 0, "the audit row holds no secret");

    // Rotation: a new key with the old one kept; at start-up the row is resealed.
    let mut config = app.config.clone();
    config.broker.secrets_key = Some(sandboxql::config::Secret("HxseHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=".into()));
    config.broker.secrets_old_keys = vec![sandboxql::config::Secret(SECRETS_KEY.into())];
    let old_id = {
        use sea_orm::EntityTrait;
        let rows = sandboxql::entity::account_credential::Entity::find().all(&app.services.db).await.unwrap();
        rows[0].key_id.clone()
    };
    let app = app.restart_with(config).await;
    let rows = {
        use sea_orm::EntityTrait;
        sandboxql::entity::account_credential::Entity::find().all(&app.services.db).await.unwrap()
    };
    assert_ne!(rows[0].key_id, old_id, "resealed under the new key");
    let (_, body) = app.post(Some(&bob), CREATE, json!({"n": "c", "g": {"url": server.url()}})).await;
    assert!(body["errors"].is_null(), "the resealed credential still opens: {body}");
    let q = "mutation($h: String!) { deleteCredential(host: $h) }";
    assert_eq!(app.ok(&bob, q, json!({"h": host})).await["deleteCredential"], true);
    assert_eq!(app.count(audited).await, 2);
}
