//! Local sandboxes on several hosts: real `sandboxql serve` processes on one Postgres,
//! each with its own data dir and host id (as on separate machines), forwarding the work
//! that needs a workspace to an instance on the sandbox's host over the internal channel.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::helpers::{
    db,
    process::{Served, serve},
    remote::{gql, start, wait_done},
    s3::{BUCKET, start_moto},
    standin_claude,
    ws::WsClient,
};

const SECRET: &str = "an-internal-secret-of-at-least-32-bytes!";

/// One host: a data dir, a host id and a fixed internal port (kept across restarts).
struct Host {
    dir: tempfile::TempDir,
    id: String,
    internal: u16,
}

impl Host {
    fn new(id: &str) -> Self {
        let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self { dir: tempfile::tempdir().unwrap(), id: id.into(), internal }
    }

    /// Starts an instance on this host; snapshots go to the shared S3 store at `s3`.
    fn start(&self, db_url: &str, s3: &str) -> Served {
        let (claude, listen) = (standin_claude(), format!("127.0.0.1:{}", self.internal));
        let instance = format!("instance-on-{}", self.id);
        let envs = [
            ("DATABASE_URL", db_url),
            ("CLAUDE_BIN", claude.as_str()),
            ("SANDBOXQL_LEASE_SECS", "6"),
            ("SANDBOXQL_INSTANCE_ID", instance.as_str()),
            ("SANDBOXQL_HOST_ID", self.id.as_str()),
            ("SANDBOXQL_INTERNAL_LISTEN", listen.as_str()),
            ("SANDBOXQL_INTERNAL_SECRET", SECRET),
        ];
        let args = ["--storage", "s3", "--s3-bucket", BUCKET, "--s3-endpoint", s3, "--s3-path-style"];
        serve(self.dir.path(), &args, &envs)
    }

    fn workspace(&self, sb: &str) -> PathBuf {
        let id = uuid::Uuid::parse_str(sb).unwrap().simple().to_string();
        self.dir.path().join("data/sandboxes").join(id).join("disk/workspace")
    }
}

async fn ok(addr: &str, token: &str, q: &str, vars: Value) -> Value {
    let v = gql(addr, token, q, vars).await;
    assert!(v["errors"].is_null(), "{q}: {v}");
    v["data"].clone()
}

const CREATE: &str = "mutation($i: CreateSandboxInput!) { createSandbox(input: $i) { id } }";
const WRITE: &str =
    "mutation($s: ID!, $p: String!, $c: String!) { writeFile(sandboxId: $s, path: $p, content: $c) { path size } }";
const VIEW: &str = "query($s: ID!) { sandbox(id: $s) { status files(recursive: true) { totalCount entries { path size isDirectory } } \
    fileContent(path: \"notes/a.txt\") { content } } }";

async fn host_of(db_url: &str, sb: &str) -> String {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let pg = Database::connect(db_url).await.unwrap();
    let row = pg
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT host_id FROM sandboxes WHERE id = $1::uuid",
            [sb.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "host_id").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_gives_the_same_answers_for_a_sandbox_on_any_host() {
    let (db_url, moto) = (db::fresh_postgres().await, start_moto().await);
    let hosts = [Host::new("host-a"), Host::new("host-b"), Host::new("host-c")];
    let nodes: Vec<Served> = hosts.iter().map(|h| h.start(&db_url, &moto.endpoint)).collect();
    let token = nodes.iter().find_map(|n| n.token.clone()).unwrap();
    // Placed by load: one on each host.
    let mut sandboxes = Vec::new();
    for _ in 0..3 {
        let v = ok(&nodes[0].addr, &token, CREATE, json!({"i": {}})).await;
        sandboxes.push(v["createSandbox"]["id"].as_str().unwrap().to_string());
    }
    let mut placed: Vec<String> = Vec::new();
    for sb in &sandboxes {
        placed.push(host_of(&db_url, sb).await);
    }
    let mut sorted = placed.clone();
    sorted.sort();
    assert_eq!(sorted, ["host-a", "host-b", "host-c"], "placed by load: {placed:?}");

    for (i, sb) in sandboxes.iter().enumerate() {
        let host = hosts.iter().find(|h| h.id == placed[i]).unwrap();
        // Written through every instance; on disk only on its host.
        for (n, node) in nodes.iter().enumerate() {
            let content = format!("written through node {n}\n");
            ok(&node.addr, &token, WRITE, json!({"s": sb, "p": format!("notes/n{n}.txt"), "c": content})).await;
        }
        ok(&nodes[1].addr, &token, WRITE, json!({"s": sb, "p": "notes/a.txt", "c": "same everywhere\n"})).await;
        assert_eq!(
            std::fs::read_to_string(host.workspace(sb).join("notes/n2.txt")).unwrap(),
            "written through node 2\n"
        );
        for other in hosts.iter().filter(|h| h.id != host.id) {
            assert!(!other.workspace(sb).exists(), "{sb} has no workspace on {}", other.id);
        }
        let views: Vec<Value> =
            futures::future::join_all(nodes.iter().map(|n| ok(&n.addr, &token, VIEW, json!({"s": sb})))).await;
        assert_eq!(views[0]["sandbox"]["fileContent"]["content"], "same everywhere\n", "{}", views[0]);
        assert_eq!(views[0]["sandbox"]["files"]["totalCount"], 5, "{}", views[0]);
        assert!(views.iter().all(|v| v == &views[0]), "the same answer through every instance: {views:?}");

        // A sync through one instance, a restore through another: the same files.
        let sync = "mutation($s: ID!) { syncSandbox(id: $s) { snapshot { id fileCount } } }";
        let snap =
            ok(&nodes[(i + 1) % 3].addr, &token, sync, json!({"s": sb})).await["syncSandbox"]["snapshot"].clone();
        assert_eq!(snap["fileCount"], 4, "{snap}");
        let restored = ok(&nodes[(i + 2) % 3].addr, &token, CREATE, json!({"i": {"fromSnapshot": snap["id"]}})).await;
        let copy = restored["createSandbox"]["id"].as_str().unwrap().to_string();
        let seen = ok(&nodes[i].addr, &token, VIEW, json!({"s": copy})).await;
        assert_eq!(seen["sandbox"]["files"], views[0]["sandbox"]["files"], "the restore has the same files");

        // A run started through one instance, its events followed through another.
        let mut follower = WsClient::connect(nodes[(i + 2) % 3].socket(), Some(&token)).await.unwrap();
        let run = start(&nodes[i].addr, &token, sb, "[sh echo from-the-host > made.txt; hostname :sh]").await;
        let q = "subscription($r: ID!) { runEvents(runId: $r) { __typename ... on RunFinished { status } } }";
        follower.subscribe("1", q, json!({"r": run})).await;
        let mut last = Value::Null;
        while last["__typename"] != "RunFinished" {
            last = follower.next().await["payload"]["data"]["runEvents"].clone();
        }
        assert_eq!(last["status"], "SUCCEEDED");
        assert_eq!(wait_done(&nodes[(i + 1) % 3].addr, &token, &run).await["status"], "SUCCEEDED");
        assert_eq!(std::fs::read_to_string(host.workspace(sb).join("made.txt")).unwrap(), "from-the-host\n");

        // Workspace changes watched through an instance on another host.
        let watcher = (i + 1) % 3;
        let mut ws = WsClient::connect(nodes[watcher].socket(), Some(&token)).await.unwrap();
        let sub = "subscription($s: ID!) { workspaceChanges(sandboxId: $s) { kind path } }";
        ws.subscribe("w", sub, json!({"s": sb})).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        ok(&nodes[(i + 2) % 3].addr, &token, WRITE, json!({"s": sb, "p": "watched.txt", "c": "x"})).await;
        loop {
            let msg = ws.next().await;
            if msg["payload"]["data"]["workspaceChanges"]["path"] == "watched.txt" {
                break;
            }
            assert_eq!(msg["type"], "next", "{msg}");
        }
    }
}

const READ: &str = "query($s: ID!) { sandbox(id: $s) { host fileContent(path: \"kept.txt\") { content } } }";

async fn session_of(node: &Served, token: &str, sb: &str) -> String {
    let run = start(&node.addr, token, sb, "hello").await;
    assert_eq!(wait_done(&node.addr, token, &run).await["status"], "SUCCEEDED");
    let q = "query($r: ID!) { run(id: $r) { claudeSessionId } }";
    ok(&node.addr, token, q, json!({"r": run})).await["run"]["claudeSessionId"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosts_sandboxes_are_unavailable_while_it_is_down_and_move_elsewhere() {
    let (db_url, moto) = (db::fresh_postgres().await, start_moto().await);
    let (ha, hb) = (Host::new("host-a"), Host::new("host-b"));
    let a = ha.start(&db_url, &moto.endpoint);
    let mut b = Some(hb.start(&db_url, &moto.endpoint));
    let token = a.token.clone().or_else(|| b.as_ref().and_then(|b| b.token.clone())).unwrap();
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(
            ok(&a.addr, &token, CREATE, json!({"i": {}})).await["createSandbox"]["id"].as_str().unwrap().to_string(),
        );
    }
    let (on_a, on_b) = (&ids[0], &ids[1]);
    for (sb, host) in [(on_a, "host-a"), (on_b, "host-b")] {
        ok(&a.addr, &token, WRITE, json!({"s": sb, "p": "kept.txt", "c": format!("on {host}\n")})).await;
        assert_eq!(ok(&a.addr, &token, READ, json!({"s": sb})).await["sandbox"]["host"], host);
    }
    let session = session_of(&a, &token, on_b).await;
    ok(&a.addr, &token, "mutation($s: ID!) { syncSandbox(id: $s) { snapshot { id } } }", json!({"s": on_b})).await;

    // Its host down: HOST_UNAVAILABLE (never NOT_FOUND); the other host's sandbox works.
    b.take().unwrap().kill9();
    let down = gql(&a.addr, &token, READ, json!({"s": on_b})).await;
    assert_eq!(down["errors"][0]["extensions"]["code"], "CONFLICT", "{down}");
    assert_eq!(down["errors"][0]["extensions"]["reason"], "HOST_UNAVAILABLE", "{down}");
    let up = ok(&a.addr, &token, READ, json!({"s": on_a})).await;
    assert_eq!(up["sandbox"]["fileContent"]["content"], "on host-a\n");

    // Back: everything as it was.
    let b2 = hb.start(&db_url, &moto.endpoint);
    let mut back = Value::Null;
    for _ in 0..50 {
        back = gql(&a.addr, &token, READ, json!({"s": on_b})).await;
        if back["errors"].is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(back["data"]["sandbox"]["fileContent"]["content"], "on host-b\n", "{back}");

    // Gone for good: moved to host-a from its last snapshot, its session going on.
    b2.kill9();
    let mv = "mutation($s: ID!, $h: String!) { moveSandbox(id: $s, host: $h) { host status } }";
    let moved = ok(&a.addr, &token, mv, json!({"s": on_b, "h": "host-a"})).await;
    assert_eq!(moved["moveSandbox"], json!({"host": "host-a", "status": "RUNNING"}));
    let there = ok(&a.addr, &token, READ, json!({"s": on_b})).await;
    assert_eq!(there["sandbox"]["fileContent"]["content"], "on host-b\n");
    assert!(ha.workspace(on_b).join("kept.txt").exists(), "the workspace is on host-a now");
    assert_eq!(session_of(&a, &token, on_b).await, session, "the Claude session goes on");
    let away = gql(&a.addr, &token, mv, json!({"s": on_a, "h": "host-b"})).await;
    assert_eq!(away["errors"][0]["extensions"]["reason"], "HOST_UNAVAILABLE", "no move to a host that is down: {away}");

    // host-b back: it drops its stale copy of the sandbox that moved away.
    assert!(hb.workspace(on_b).exists(), "host-b still holds the old copy while down");
    let _b3 = hb.start(&db_url, &moto.endpoint);
    let gone = crate::helpers::process::eventually(20, || !hb.workspace(on_b).exists()).await;
    assert!(gone, "the stale workspace is removed when host-b comes back");
    let still = ok(&a.addr, &token, READ, json!({"s": on_b})).await;
    assert_eq!(still["sandbox"]["host"], "host-a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_internal_channel_takes_only_the_server_secret_and_no_sandbox_reaches_it() {
    let (db_url, moto) = (db::fresh_postgres().await, start_moto().await);
    let h = Host::new("host-a");
    let node = h.start(&db_url, &moto.endpoint);
    let token = node.token.clone().unwrap();
    let sb =
        ok(&node.addr, &token, CREATE, json!({"i": {}})).await["createSandbox"]["id"].as_str().unwrap().to_string();
    let url = format!("http://127.0.0.1:{}/internal/v1/call", h.internal);
    let call = json!({"op": "stat", "ext": sb, "path": ""});
    let http = reqwest::Client::new();
    let tries = [
        ("no secret", http.post(&url).json(&call)),
        ("a wrong secret", http.post(&url).header("x-sandboxql-internal", "x".repeat(40)).json(&call)),
        ("a tenant's token", http.post(&url).bearer_auth(&token).json(&call)),
        ("a tenant's token as the secret", http.post(&url).header("x-sandboxql-internal", &token).json(&call)),
    ];
    for (what, req) in tries {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "UNAUTHENTICATED", "{what}: {body}");
    }
    let right = http.post(&url).header("x-sandboxql-internal", SECRET).json(&call).send().await.unwrap();
    assert_eq!(right.status(), 200, "the secret itself is taken");
    let entry: Value = right.json().await.unwrap();
    assert_eq!(entry["kind"], "Directory", "{entry}");

    // From inside the sandbox's jail the internal port cannot even be connected to.
    let probe = format!(
        "[sh python3 -c \"import socket; socket.create_connection(('127.0.0.1', {}), 3); print('connected')\" :sh]",
        h.internal
    );
    let run = start(&node.addr, &token, &sb, &probe).await;
    let mut ws = WsClient::connect(node.socket(), Some(&token)).await.unwrap();
    let q = "subscription($r: ID!) { runEvents(runId: $r) { __typename ... on RunFinished { result } } }";
    ws.subscribe("1", q, json!({"r": run})).await;
    let mut fin = Value::Null;
    while fin["__typename"] != "RunFinished" {
        fin = ws.next().await["payload"]["data"]["runEvents"].clone();
    }
    let said: Value = serde_json::from_str(fin["result"].as_str().unwrap()).unwrap();
    println!("from inside the jail: {said}");
    assert_ne!(said["code"], 0, "the jail reached the internal channel: {said}");
    let err = said["stderr"].as_str().unwrap();
    assert!(
        err.contains("ConnectionRefusedError") || err.contains("unreachable"),
        "the connection itself failed (python ran): {said}"
    );
    assert!(!err.contains("not found"), "{said}");
    assert!(!said["stdout"].as_str().unwrap().contains("connected"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_and_previews_of_a_sandbox_on_another_host_work_through_any_instance() {
    let (db_url, moto) = (db::fresh_postgres().await, start_moto().await);
    let (ha, hb) = (Host::new("host-a"), Host::new("host-b"));
    let (a, b) = (ha.start(&db_url, &moto.endpoint), hb.start(&db_url, &moto.endpoint));
    let token = a.token.clone().or_else(|| b.token.clone()).unwrap();
    // Made through B, so it lives on host-b; everything below goes through A.
    let made = ok(&b.addr, &token, "mutation { createSandbox(input: {}) { id host } }", json!({})).await;
    let sb = made["createSandbox"]["id"].as_str().unwrap().to_string();
    assert_eq!(made["createSandbox"]["host"], "host-b");

    // A process: started through A, runs on host-b, its output read through A.
    let startp = "mutation($s: ID!, $argv: [String!]!) { startProcess(input: {sandboxId: $s, argv: $argv}) { id } }";
    let argv = json!(["sh", "-c", "echo out-of-the-process && touch from-process.txt"]);
    let p = ok(&a.addr, &token, startp, json!({"s": sb, "argv": argv})).await["startProcess"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = WsClient::connect(a.socket(), Some(&token)).await.unwrap();
    let out = "subscription($p: ID!) { processOutput(processId: $p) { kind text exitCode } }";
    ws.subscribe("p", out, json!({"p": p})).await;
    let mut text = String::new();
    loop {
        let msg = ws.next().await;
        let piece = &msg["payload"]["data"]["processOutput"];
        assert_eq!(msg["type"], "next", "{msg}");
        text.push_str(piece["text"].as_str().unwrap_or(""));
        if piece["kind"] == "ENDED" {
            assert_eq!(piece["exitCode"], 0, "{msg}");
            break;
        }
    }
    assert_eq!(text, "out-of-the-process\n");
    assert!(hb.workspace(&sb).join("from-process.txt").exists(), "it ran on host-b");

    // A preview: the app runs in the sandbox on host-b, A's preview listener serves it.
    ok(&a.addr, &token, WRITE, json!({"s": sb, "p": "index.html", "c": "served from host-b\n"})).await;
    let server = json!(["python3", "-m", "http.server", "5173", "--bind", "127.0.0.1"]);
    ok(&a.addr, &token, startp, json!({"s": sb, "argv": server})).await;
    let expose = "mutation($s: ID!) { exposePort(sandboxId: $s, port: 5173, visibility: PUBLIC) { url } }";
    let url = ok(&a.addr, &token, expose, json!({"s": sb})).await["exposePort"]["url"].as_str().unwrap().to_string();
    let authority = url.split("://").nth(1).unwrap().split('/').next().unwrap().to_string();
    let (host, port) = authority.rsplit_once(':').unwrap();
    let client =
        reqwest::Client::builder().resolve(host, format!("127.0.0.1:{port}").parse().unwrap()).build().unwrap();
    let mut body = String::new();
    for _ in 0..40 {
        let resp = client.get(&url).send().await.unwrap();
        if resp.status() == 200 {
            body = resp.text().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(body, "served from host-b\n");
}

/// The stand-in's records of the processes started in a sandbox on `host`.
fn calls_on(host: &Host, sb: &str) -> Vec<Value> {
    let id = uuid::Uuid::parse_str(sb).unwrap().simple().to_string();
    let file = host.dir.path().join("data/sandboxes").join(id).join("disk/home/standin-calls.jsonl");
    std::fs::read_to_string(file).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

pub(crate) async fn runner_of(db_url: &str, run: &str) -> String {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let pg = Database::connect(db_url).await.unwrap();
    let sql = "SELECT runner_id FROM agent_runs WHERE id = $1::uuid";
    let row = pg.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [run.into()])).await;
    row.unwrap().unwrap().try_get("", "runner_id").unwrap()
}

/// The instance holding the sandbox's warm Claude, once one does (up to 10 s).
pub(crate) async fn held_warm(db_url: &str, sb: &str) -> Option<String> {
    for _ in 0..100 {
        if let Some(holder) = warm_holder(db_url, sb).await {
            return Some(holder);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    None
}

async fn warm_holder(db_url: &str, sb: &str) -> Option<String> {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let pg = Database::connect(db_url).await.unwrap();
    let sql = "SELECT instance_id FROM warm_claudes WHERE sandbox_id = $1::uuid";
    let row = pg.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [sb.into()])).await.unwrap();
    row.map(|r| r.try_get("", "instance_id").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_asked_of_another_instance_goes_to_the_warm_claude_where_it_waits() {
    let (db_url, moto) = (db::fresh_postgres().await, start_moto().await);
    let (ha, hb) = (Host::new("host-a"), Host::new("host-b"));
    let mut a = Some(ha.start(&db_url, &moto.endpoint));
    let b = hb.start(&db_url, &moto.endpoint);
    let token = a.as_ref().and_then(|a| a.token.clone()).or_else(|| b.token.clone()).unwrap();
    let a_addr = a.as_ref().unwrap().addr.clone();
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(
            ok(&a_addr, &token, CREATE, json!({"i": {}})).await["createSandbox"]["id"].as_str().unwrap().to_string(),
        );
    }
    let mut on_b = None;
    for sb in &ids {
        if host_of(&db_url, sb).await == "host-b" {
            on_b = Some(sb.clone());
        }
    }
    let sb = on_b.expect("one sandbox on host B");

    // A run through instance A (its process on host B) leaves a warm Claude held by A.
    let first = start(&a_addr, &token, &sb, "hello").await;
    assert_eq!(wait_done(&a_addr, &token, &first).await["status"], "SUCCEEDED");
    let holder = held_warm(&db_url, &sb).await;
    assert_eq!(holder.as_deref(), Some("instance-on-host-a"), "A holds the warm claude");
    let before = calls_on(&hb, &sb).len();

    // The next run asked of B is handed to A and runs on that warm Claude: no new process.
    let second = start(&b.addr, &token, &sb, "again").await;
    assert_eq!(wait_done(&b.addr, &token, &second).await["status"], "SUCCEEDED");
    assert_eq!(runner_of(&db_url, &second).await, "instance-on-host-a", "A supervised it");
    let q = "query($r: ID!) { run(id: $r) { events(first: 50) { __typename ... on AssistantText { text } } } }";
    let events = ok(&b.addr, &token, q, json!({"r": second})).await["run"]["events"].to_string();
    assert!(events.contains("You said: again"), "{events}");
    let after = calls_on(&hb, &sb);
    assert!(after[before..].iter().all(|c| !c["argv"].to_string().contains("\"again\"")), "no cold start: {after:?}");

    // With its holder gone, a run asked of B starts there (cold), not lost.
    held_warm(&db_url, &sb).await;
    a.take().unwrap().kill9();
    let third = start(&b.addr, &token, &sb, "once more").await;
    assert_eq!(wait_done(&b.addr, &token, &third).await["status"], "SUCCEEDED");
    assert_eq!(runner_of(&db_url, &third).await, "instance-on-host-b");
}
