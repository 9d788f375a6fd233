//! Promises that hold across crashes, restarts and several instances: real `sandboxql
//! serve` processes with different instance ids on one Postgres (and SQLite where a
//! scenario applies to a single instance).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{
    db,
    process::{Served, serve},
    remote::{create, gql, start, wait_done},
    runs::{collect, run_events_query},
    standin_claude,
    ws::WsClient,
};

const LEASE_SECS: u64 = 6;

/// Instances sharing one Postgres database and one data dir.
struct Cluster {
    dir: tempfile::TempDir,
    db_url: String,
}

impl Cluster {
    async fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap(), db_url: db::fresh_postgres().await }
    }

    fn node(&self, id: &str, args: &[&str]) -> Served {
        let (lease, claude) = (LEASE_SECS.to_string(), standin_claude());
        let envs = [
            ("DATABASE_URL", self.db_url.as_str()),
            ("CLAUDE_BIN", claude.as_str()),
            ("SANDBOXQL_LEASE_SECS", lease.as_str()),
            ("SANDBOXQL_INSTANCE_ID", id),
        ];
        serve(self.dir.path(), args, &envs)
    }

    fn workspace(&self, sandbox: &str) -> std::path::PathBuf {
        let id = uuid::Uuid::parse_str(sandbox).unwrap().simple().to_string();
        self.dir.path().join("data/sandboxes").join(id).join("disk/workspace")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_instance_was_killed_is_interrupted_by_another() {
    let c = Cluster::new().await;
    let a = c.node("instance-a", &[]);
    let token = a.token.clone().unwrap();
    let b = c.node("instance-b", &[]);
    let sb = create(&a.addr, &token).await;
    let run = start(&a.addr, &token, &sb, "[hang] lease test").await;
    let mut follower = WsClient::connect(b.socket(), Some(&token)).await.unwrap();
    follower.subscribe("1", &run_events_query(), json!({"r": run, "a": 0})).await;
    // Wait until Claude is up on A, then kill A without any shutdown code.
    loop {
        let msg = follower.next().await;
        if msg["payload"]["data"]["runEvents"]["__typename"] == "SessionStarted" {
            break;
        }
    }
    let killed = Instant::now();
    a.kill9();
    let rest = collect(&mut follower, "1").await;
    let last = rest.last().unwrap();
    let took = killed.elapsed();
    assert_eq!((last["__typename"].as_str(), last["status"].as_str()), (Some("RunFinished"), Some("INTERRUPTED")));
    println!("interrupted {took:?} after the kill (lease {LEASE_SECS} s)");
    assert!(took <= Duration::from_secs(LEASE_SECS + 5), "took {took:?}");
    let row = gql(&b.addr, &token, "query($id: ID!) { run(id: $id) { status error } }", json!({"id": run})).await;
    assert_eq!(row["data"]["run"]["status"], "INTERRUPTED");
    let again = start(&b.addr, &token, &sb, "again").await;
    assert_eq!(wait_done(&b.addr, &token, &again).await["status"], "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_over_two_instances_respect_the_quota() {
    let c = Cluster::new().await;
    let a = c.node("instance-a", &["--max-sandboxes-per-account", "5"]);
    let token = a.token.clone().unwrap();
    let b = c.node("instance-b", &["--max-sandboxes-per-account", "5"]);
    let creates = (0..20).map(|i| {
        let addr = if i % 2 == 0 { a.addr.clone() } else { b.addr.clone() };
        let token = token.clone();
        tokio::spawn(async move {
            gql(&addr, &token, "mutation { createSandbox(input: {}) { id status } }", json!({})).await
        })
    });
    let mut ok = 0;
    for reply in futures::future::join_all(creates).await {
        let reply = reply.unwrap();
        if reply["data"]["createSandbox"]["status"] == "RUNNING" {
            ok += 1;
        } else {
            assert_eq!(reply["errors"][0]["extensions"]["code"], "FORBIDDEN", "{reply}");
            assert!(reply["errors"][0]["message"].as_str().unwrap().contains("limit"), "{reply}");
        }
    }
    assert_eq!(ok, 5, "exactly the quota");
    let list = gql(&b.addr, &token, "{ sandboxes { totalCount } }", json!({})).await;
    assert_eq!(list["data"]["sandboxes"]["totalCount"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_on_two_instances_give_one_snapshot_and_one_conflict() {
    let c = Cluster::new().await;
    let a = c.node("instance-a", &[]);
    let token = a.token.clone().unwrap();
    let b = c.node("instance-b", &[]);
    let sb = create(&a.addr, &token).await;
    let ws = c.workspace(&sb);
    for i in 0..100u8 {
        std::fs::write(ws.join(format!("f{i}.bin")), vec![i; 1_000_000]).unwrap();
    }
    let sync = "mutation($id: ID!) { syncSandbox(id: $id) { snapshot { id } } }";
    let (ra, rb) =
        tokio::join!(gql(&a.addr, &token, sync, json!({"id": sb})), gql(&b.addr, &token, sync, json!({"id": sb})));
    let codes: Vec<_> = [&ra, &rb].iter().map(|r| r["errors"][0]["extensions"]["code"].clone()).collect();
    let snapshots = [&ra, &rb].iter().filter(|r| r["data"]["syncSandbox"]["snapshot"]["id"].is_string()).count();
    assert_eq!(snapshots, 1, "{ra} {rb}");
    assert!(codes.contains(&json!("CONFLICT")), "{ra} {rb}");
    let q = "query($id: ID!) { sandbox(id: $id) { snapshots { id } } }";
    let list = gql(&b.addr, &token, q, json!({"id": sb})).await;
    assert_eq!(list["data"]["sandbox"]["snapshots"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_interrupts_runs_and_closes_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [("CLAUDE_BIN", standin_claude()), ("SANDBOXQL_SHUTDOWN_GRACE_MS", "5000".to_string())];
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut node = serve(dir.path(), &[], &envs);
    let token = node.token.clone().unwrap();
    let sb = create(&node.addr, &token).await;
    let run = start(&node.addr, &token, &sb, "[hang] shutdown test").await;
    let mut ws = WsClient::connect(node.socket(), Some(&token)).await.unwrap();
    ws.subscribe("1", &run_events_query(), json!({"r": run, "a": 0})).await;
    ws.next().await;
    let http = reqwest::Client::new();
    let ready = format!("http://{}/readyz", node.addr);
    assert_eq!(http.get(&ready).send().await.unwrap().status(), 200);

    let pid = node.pid();
    let signalled = Instant::now();
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(http.get(&ready).send().await.unwrap().status(), 503, "not ready from the start of the shutdown");
    let mut close = None;
    while let Some(msg) = ws.next_raw().await {
        if let Err(code) = msg {
            close = Some(code);
            break;
        }
    }
    assert_eq!(close, Some(1012), "the websocket was told to reconnect");
    let status = tokio::task::spawn_blocking(move || {
        let status = node.terminate_and_wait(10);
        (status, node)
    })
    .await
    .unwrap();
    let exited = status.0.expect("exited within the grace");
    assert!(exited.success(), "exit code 0: {exited:?}");
    assert!(signalled.elapsed() < Duration::from_secs(6), "within the grace period");
    drop(status.1);

    let node = serve(dir.path(), &[], &envs);
    let row = gql(&node.addr, &token, "query($id: ID!) { run(id: $id) { status error } }", json!({"id": run})).await;
    assert_eq!(row["data"]["run"]["status"], "INTERRUPTED", "{row}");
    assert!(row["data"]["run"]["error"].as_str().unwrap().contains("shut down"), "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_starting_together_create_one_admin() {
    use sea_orm::{ConnectionTrait, Database};
    let c = Cluster::new().await;
    let (x, y) = std::thread::scope(|s| {
        let x = s.spawn(|| c.node("instance-x", &[]));
        let y = s.spawn(|| c.node("instance-y", &[]));
        (x.join().unwrap(), y.join().unwrap())
    });
    let printed = [&x, &y].iter().filter(|n| n.token.is_some()).count();
    assert_eq!(printed, 1, "exactly one instance printed an admin token");
    let conn = Database::connect(&c.db_url).await.unwrap();
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) FROM accounts WHERE role = 'ADMIN'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 1);
}
