//! `deleteAccount` on Postgres with two real instances sharing one data dir and one S3
//! store (moto): the instance doing the erasure is killed (SIGKILL) midway, the other
//! resumes it, and then a scan of every table, the bucket and the data dir finds nothing
//! of the account but the audit record of its erasure, while another account's data is
//! all there.

use std::{path::Path, time::Duration};

use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};

use crate::helpers::{
    db,
    process::{Served, serve},
    remote::{create, gql, start, wait_done},
    s3::{BUCKET, settings, start_moto},
    standin_claude,
};
use sandboxql::storage::{BlobStore, s3::S3BlobStore};

const LEASE_SECS: &str = "6";

/// What one account made, and every string that would betray it if left anywhere.
struct Made {
    id: String,
    token: String,
    sandboxes: Vec<String>,
    needles: Vec<String>,
}

async fn make_account(addr: &str, admin: &str, name: &str, hook_port: u16) -> Made {
    let q = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }";
    let v = gql(addr, admin, q, json!({"i": {"name": name}})).await;
    let id = v["data"]["createAccount"]["id"].as_str().unwrap_or_else(|| panic!("{v}")).to_string();
    let q = "mutation($a: ID!) { createToken(accountId: $a, name: \"t\") { token info { id } } }";
    let v = gql(addr, admin, q, json!({"a": id})).await;
    let token = v["data"]["createToken"]["token"].as_str().unwrap().to_string();
    let mut needles =
        vec![id.clone(), name.to_string(), v["data"]["createToken"]["info"]["id"].as_str().unwrap().into()];
    let budget = "mutation($a: ID!) { setAccountBudget(accountId: $a, dailyUsd: 5) { dailyUsd } }";
    assert!(gql(addr, admin, budget, json!({"a": id})).await["errors"].is_null());
    let policy = "mutation($a: ID!) { setStoragePolicy(accountId: $a, snapshotsKeep: 9) { snapshotsKeep } }";
    assert!(gql(addr, admin, policy, json!({"a": id})).await["errors"].is_null());
    let hook = "mutation($u: String!) { createWebhook(input: {url: $u}) { webhook { id } } }";
    let v = gql(addr, &token, hook, json!({"u": format!("http://127.0.0.1:{hook_port}/{name}")})).await;
    needles.push(v["data"]["createWebhook"]["webhook"]["id"].as_str().unwrap_or_else(|| panic!("{v}")).into());
    let mut sandboxes = Vec::new();
    for i in 0..3 {
        let sb = create(addr, &token).await;
        let write =
            "mutation($s: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $s, path: $p, content: $c) { size } }";
        for f in 0..3 {
            let content = format!("{name} file {f} of sandbox {i}: secret-{name}-{i}-{f}\n");
            let v = gql(addr, &token, write, json!({"s": sb, "p": format!("dir/f{f}.txt"), "c": content})).await;
            assert!(v["errors"].is_null(), "{v}");
        }
        let sync = "mutation($id: ID!) { syncSandbox(id: $id) { snapshot { id } } }";
        let v = gql(addr, &token, sync, json!({"id": sb})).await;
        needles.push(v["data"]["syncSandbox"]["snapshot"]["id"].as_str().unwrap_or_else(|| panic!("{v}")).into());
        let run = start(addr, &token, &sb, &format!("hello from {name}")).await;
        assert_eq!(wait_done(addr, &token, &run).await["status"], "SUCCEEDED");
        needles.extend([run, sb.clone(), format!("secret-{name}-{i}-0")]);
        sandboxes.push(sb);
    }
    // The hyphen-less form too: some names (directories) use it.
    let simple: Vec<String> =
        needles.iter().filter_map(|n| uuid::Uuid::parse_str(n).ok()).map(|u| u.simple().to_string()).collect();
    needles.extend(simple);
    Made { id, token, sandboxes, needles }
}

fn node(dir: &Path, db_url: &str, id: &str, s3: &str) -> Served {
    let claude = standin_claude();
    let envs = [
        ("DATABASE_URL", db_url),
        ("CLAUDE_BIN", claude.as_str()),
        ("SANDBOXQL_LEASE_SECS", LEASE_SECS),
        ("SANDBOXQL_INSTANCE_ID", id),
        ("SANDBOXQL_ERASE_BATCH", "2"),
        ("SANDBOXQL_ERASE_PAUSE_MS", "150"),
        ("SANDBOXQL_WEBHOOK_ALLOW_PRIVATE", "true"),
    ];
    let args = ["--storage", "s3", "--s3-bucket", BUCKET, "--s3-endpoint", s3, "--s3-path-style"];
    serve(dir, &args, &envs)
}

/// Every row of every table, as text, with the table's name.
async fn every_row(db: &sea_orm::DatabaseConnection) -> Vec<(String, String)> {
    let tables = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'seaql_migrations'",
        ))
        .await
        .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let name: String = t.try_get("", "tablename").unwrap();
        let sql = format!("SELECT t::text AS row FROM \"{name}\" t");
        for r in db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap() {
            out.push((name.clone(), r.try_get::<String>("", "row").unwrap()));
        }
    }
    out
}

/// Every path under `dir`, and whether a file's first MiB names any needle.
pub(super) fn files_naming(dir: &Path, needles: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            let shown = p.to_string_lossy().into_owned();
            if needles.iter().any(|n| shown.contains(n.as_str())) {
                found.push(shown.clone());
            }
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                let mut buf = Vec::new();
                if let Ok(f) = std::fs::File::open(&p) {
                    use std::io::Read;
                    let _ = f.take(1 << 20).read_to_end(&mut buf);
                }
                let text = String::from_utf8_lossy(&buf);
                if needles.iter().any(|n| text.contains(n.as_str())) {
                    found.push(format!("{shown} (content)"));
                }
            }
        }
    }
    found
}

async fn erasure(addr: &str, admin: &str, id: &str) -> Value {
    let q = "query($id: ID!) { accountErasure(id: $id) { accountId stage erased finishedAt } }";
    gql(addr, admin, q, json!({"id": id})).await["data"]["accountErasure"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_erased_over_two_instances_one_killed_midway_leaves_nothing_but_its_audit_record() {
    let moto = start_moto().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = db::fresh_postgres().await;
    let a = node(dir.path(), &db_url, "instance-a", &moto.endpoint);
    let admin = a.token.clone().unwrap();
    let b = node(dir.path(), &db_url, "instance-b", &moto.endpoint);
    let hook_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let doomed = make_account(&a.addr, &admin, "doomed-account", hook_port).await;
    let kept = make_account(&b.addr, &admin, "kept-account", hook_port).await;
    let store = S3BlobStore::new(&settings(&moto.endpoint)).await;
    let prefix = |id: &str| format!("accounts/{id}/");
    let doomed_objects = store.list(&prefix(&doomed.id)).await.unwrap().len();
    assert!(doomed_objects >= 6, "{doomed_objects} objects stored");
    let kept_objects = store.list(&prefix(&kept.id)).await.unwrap();

    let del = "mutation($id: ID!) { deleteAccount(id: $id) { accountId stage } }";
    let v = gql(&a.addr, &admin, del, json!({"id": doomed.id})).await;
    assert_eq!(v["data"]["deleteAccount"]["stage"], "SANDBOXES", "{v}");
    // From the request's commit on, the account's token is refused everywhere.
    let me = gql(&b.addr, &doomed.token, "{ sandboxes { totalCount } }", json!({})).await;
    assert_eq!(me["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{me}");
    let me = gql(&a.addr, &admin, "{ viewer { id } }", json!({})).await;
    let own = gql(&a.addr, &admin, del, json!({"id": me["data"]["viewer"]["id"]})).await;
    assert_eq!(own["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "one's own account: {own}");

    // Kill whichever instance holds the erasure once it has removed something.
    let pg = Database::connect(&db_url).await.unwrap();
    let holder = loop {
        let rows = pg
            .query_all_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT lease_owner, erased, stage FROM account_erasures WHERE id = $1::uuid",
                [doomed.id.clone().into()],
            ))
            .await
            .unwrap();
        let row = rows.first().expect("the erasure finished before it could be interrupted");
        let erased: i64 = row.try_get("", "erased").unwrap();
        let owner: Option<String> = row.try_get("", "lease_owner").unwrap();
        if erased >= 4 {
            let stage: String = row.try_get("", "stage").unwrap();
            println!("killing {owner:?} at {erased} removed, stage {stage}");
            break owner.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (survivor, killed) = if holder.starts_with("instance-a#") { (b, a) } else { (a, b) };
    killed.kill9();
    let mut done = Value::Null;
    for _ in 0..120 {
        done = erasure(&survivor.addr, &admin, &doomed.id).await;
        if done["stage"] == "DONE" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(done["stage"], "DONE", "{done}");
    assert!(done["finishedAt"].is_string());

    // Nothing of it in any table but the one audit record.
    let mut left = Vec::new();
    for (table, row) in every_row(&pg).await {
        if doomed.needles.iter().any(|n| row.contains(n.as_str())) {
            left.push((table, row));
        }
    }
    assert_eq!(left.len(), 1, "rows naming the account: {left:#?}");
    assert_eq!(left[0].0, "change_logs");
    assert!(left[0].1.contains(",erase,") && !left[0].1.contains("doomed-account"), "{}", left[0].1);
    // Nothing in the bucket or the data dir.
    assert!(store.list(&prefix(&doomed.id)).await.unwrap().is_empty());
    let everything = store.list("").await.unwrap();
    let named: Vec<&String> =
        everything.iter().filter(|k| doomed.needles.iter().any(|n| k.contains(n.as_str()))).collect();
    assert!(named.is_empty(), "{named:?}");
    let on_disk = files_naming(dir.path(), &doomed.needles);
    assert!(on_disk.is_empty(), "{on_disk:#?}");

    // The other account is untouched.
    assert_eq!(store.list(&prefix(&kept.id)).await.unwrap(), kept_objects);
    let q = "query($s: ID!) { sandbox(id: $s) { status fileContent(path: \"dir/f1.txt\") { content } runs { totalCount } } }";
    for (i, sb) in kept.sandboxes.iter().enumerate() {
        let v = gql(&survivor.addr, &kept.token, q, json!({"s": sb})).await;
        let s = &v["data"]["sandbox"];
        assert_eq!(
            s["fileContent"]["content"],
            format!("kept-account file 1 of sandbox {i}: secret-kept-account-{i}-1\n"),
            "{v}"
        );
        assert_eq!(s["runs"]["totalCount"], 1, "{v}");
    }
    let rows = every_row(&pg).await;
    assert!(rows.iter().any(|(t, r)| t == "accounts" && r.contains(&kept.id)));
    assert!(rows.iter().any(|(t, r)| t == "webhooks" && r.contains(&kept.id)));
    assert!(rows.iter().any(|(t, r)| t == "account_budgets" && r.contains(&kept.id)));
}
