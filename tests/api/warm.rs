//! Warm starts: after a run ends (or on `prepareSandbox`) a Claude waits with the
//! sandbox's session resumed; the next run takes it over — the same events and session
//! as a cold start — while it holds no usable gateway token before its prompt, the
//! operator's key never, and stays within the warm bounds and idle time.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{DbKind, TestApp, process::eventually};

const OPERATOR_KEY: &str = "sk-ant-operator-warm-5b1d";
const RUN: &str = "query($id: ID!) { run(id: $id) { status claudeSessionId events(first: 100) { __typename } } }";
const PREPARE: &str = "mutation($id: ID!) { prepareSandbox(id: $id) { id } }";

async fn spawn(tweak: impl FnOnce(&mut sandboxql::config::Config) + Send + 'static) -> TestApp {
    TestApp::spawn_with(
        DbKind::Sqlite,
        move |c| {
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret(OPERATOR_KEY.into()));
            tweak(c);
        },
        None,
    )
    .await
}

/// Stand-in records of warm processes (stream-json input, no prompt argument).
fn warm_calls(app: &TestApp, sb: &str) -> Vec<Value> {
    let warm = |c: &Value| {
        let argv = c["argv"].as_array().unwrap();
        argv.iter().any(|a| a == "--input-format") && !argv.iter().any(|a| a == "--")
    };
    app.standin_calls(sb).into_iter().filter(warm).collect()
}

/// Whether a process holding `token` in its environment runs (jailed processes have pids
/// of their own namespace, so they are found by what only they hold).
fn alive(token: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else { return false };
    dir.filter_map(Result::ok).filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit())).any(
        |e| {
            std::fs::read(e.path().join("environ"))
                .is_ok_and(|env| env.windows(token.len()).any(|w| w == token.as_bytes()))
        },
    )
}

/// The gateway's answer to a Messages request made with `key`.
pub(crate) async fn gateway_status(app: &TestApp, key: &str) -> u16 {
    crate::gateway::call_gateway(app, key).await.0
}

fn token_of(call: &Value) -> String {
    call["env"]["ANTHROPIC_API_KEY"].as_str().unwrap().to_string()
}

async fn run_done(app: &TestApp, token: &str, sb: &str, prompt: &str) -> (String, Value) {
    let run = app.start_run(token, sb, prompt).await;
    app.wait_idle(token, sb).await;
    let got = app.ok(token, RUN, json!({"id": run})).await["run"].clone();
    (run, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_run_takes_over_the_warm_claude_with_the_same_events_and_session() {
    let app = spawn(|_| {}).await;
    let (_, token) = app.new_user("warmth").await;
    let sb = app.create_sandbox(&token, "warm").await;
    let (_, cold) = run_done(&app, &token, &sb, "first").await;
    assert_eq!(cold["status"], "SUCCEEDED", "{cold}");
    // The run's end leaves a warm Claude waiting, resuming the session.
    assert!(eventually(10, || !warm_calls(&app, &sb).is_empty()).await, "a warm claude started");
    let warm = warm_calls(&app, &sb).pop().unwrap();
    let argv: Vec<String> = serde_json::from_value(warm["argv"].clone()).unwrap();
    let session = cold["claudeSessionId"].as_str().unwrap();
    assert!(argv.windows(2).any(|w| w == ["--resume", session]), "{argv:?}");

    // Before its prompt its token is refused by the gateway; the operator's key is not in it.
    let key = warm["env"]["ANTHROPIC_API_KEY"].as_str().unwrap().to_string();
    assert!(key.starts_with("sgw_"), "{key}");
    assert!(!warm.to_string().contains(OPERATOR_KEY), "the operator's key is never in a warm process");
    assert_eq!(gateway_status(&app, &key).await, 401, "a warm process's token is no good before its run");

    // The next run is the warm process: its token names this run; same events, same session.
    let calls_before = app.standin_calls(&sb).len();
    let (run, second) = run_done(&app, &token, &sb, "[sh echo warm :sh]").await;
    assert_eq!(second["status"], "SUCCEEDED", "{second}");
    let simple = uuid::Uuid::parse_str(&run).unwrap().simple().to_string();
    assert!(key.starts_with(&format!("sgw_{simple}_")), "the run got the warm process's token");
    assert_eq!(second["claudeSessionId"], session, "the session continued");
    let kinds = |v: &Value| -> Vec<String> {
        v["events"].as_array().unwrap().iter().map(|e| e["__typename"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(kinds(&second).first().map(String::as_str), Some("RunStarted"));
    assert_eq!(kinds(&second).last().map(String::as_str), Some("RunFinished"));
    assert!(kinds(&second).contains(&"SessionStarted".to_string()), "{:?}", kinds(&second));
    // No cold process was started for it (the next record is the next warm one, if any).
    let after: Vec<Value> = app.standin_calls(&sb)[calls_before..].to_vec();
    assert!(after.iter().all(|c| c["argv"].as_array().unwrap().iter().all(|a| a != "--")), "{after:?}");
    let runs = app.count("SELECT COUNT(*) FROM agent_runs").await;
    assert_eq!(runs, 2);

    // A run that does not fit (another model) starts cold, and the warm one is stopped.
    assert!(eventually(10, || warm_calls(&app, &sb).len() >= 2).await, "warm again after the second run");
    let waiting = token_of(&warm_calls(&app, &sb).pop().unwrap());
    assert!(alive(&waiting));
    let start =
        "mutation($s: ID!) { startRun(input: {sandboxId: $s, prompt: \"other\", model: \"claude-other\"}) { id } }";
    app.ok(&token, start, json!({"s": sb})).await;
    app.wait_idle(&token, &sb).await;
    assert!(eventually(10, || !alive(&waiting)).await, "the unfit warm claude was stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_claudes_keep_to_their_bounds_and_idle_time() {
    let app = spawn(|c| {
        c.limits.warm.warm_per_account = 1;
        c.limits.warm.warm_idle_secs = 2;
    })
    .await;
    let (_, token) = app.new_user("bounded").await;
    let a = app.create_sandbox(&token, "a").await;
    let b = app.create_sandbox(&token, "b").await;
    app.ok(&token, PREPARE, json!({"id": a})).await;
    assert!(eventually(10, || warm_calls(&app, &a).len() == 1).await, "prepareSandbox started one");
    app.ok(&token, PREPARE, json!({"id": a})).await;
    app.ok(&token, PREPARE, json!({"id": b})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(warm_calls(&app, &a).len(), 1, "one per sandbox");
    assert!(warm_calls(&app, &b).is_empty(), "the account has all it may");
    assert_eq!(app.count("SELECT COUNT(*) FROM warm_claudes").await, 1);
    // It gives up after the idle time: process gone, place free.
    let held = token_of(&warm_calls(&app, &a)[0]);
    assert!(alive(&held), "it waits");
    assert!(eventually(10, || !alive(&held)).await, "ended after warmIdleSecs");
    let mut freed = false;
    for _ in 0..50 {
        if app.count("SELECT COUNT(*) FROM warm_claudes").await == 0 {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "its place was given up");
    app.ok(&token, PREPARE, json!({"id": b})).await;
    assert!(eventually(10, || warm_calls(&app, &b).len() == 1).await, "the freed place went to b");

    // Off: none.
    let off = spawn(|c| c.limits.warm.warm_starts = false).await;
    let (_, token) = off.new_user("cold").await;
    let sb = off.create_sandbox(&token, "cold").await;
    let (_, r) = run_done(&off, &token, &sb, "hello").await;
    assert_eq!(r["status"], "SUCCEEDED");
    off.ok(&token, PREPARE, json!({"id": sb})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(warm_calls(&off, &sb).is_empty(), "warm starts off: every run starts cold");
}

/// A server killed with SIGKILL leaves no warm Claude running (they die with it, as
/// every jailed process does), and after a restart the sandbox gets one again once the
/// dead instance's place has lapsed (one lease term).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_with_sigkill_leaves_no_warm_claude_behind() {
    use crate::helpers::{
        process::serve,
        remote::{create, gql},
    };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/warm.db?mode=rwc", dir.path().display());
    let standin = crate::helpers::standin_claude();
    let envs = [("DATABASE_URL", db.as_str()), ("CLAUDE_BIN", standin.as_str()), ("SANDBOXQL_LEASE_SECS", "3")];
    let served = serve(dir.path(), &[], &envs);
    let token = served.token.clone().unwrap();
    let sb = create(&served.addr, &token).await;
    let home = dir
        .path()
        .join("data/sandboxes")
        .join(uuid::Uuid::parse_str(&sb).unwrap().simple().to_string())
        .join("disk/home");
    let warm_tokens = || -> Vec<String> {
        let text = std::fs::read_to_string(home.join("standin-calls.jsonl")).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).map(|c| token_of(&c)).collect()
    };
    gql(&served.addr, &token, PREPARE, json!({"id": sb})).await;
    assert!(eventually(10, || warm_tokens().len() == 1).await, "a warm claude started");
    let first = warm_tokens()[0].clone();
    assert!(alive(&first));

    served.kill9();
    assert!(eventually(10, || !alive(&first)).await, "the warm claude died with its server");
    let served = serve(dir.path(), &[], &envs);
    let mut again = false;
    for _ in 0..40 {
        gql(&served.addr, &token, PREPARE, json!({"id": sb})).await;
        if warm_tokens().len() == 2 {
            again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(again, "a warm claude again once the dead instance's place lapsed");
    assert!(!alive(&first) && alive(&warm_tokens()[1]));
}

/// A warm Claude lives inside its sandbox's bounds: its processes are in the sandbox's
/// own pids (and memory) cgroup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_claude_counts_against_its_sandboxs_bounds() {
    use crate::bounds::{bounded_app, cgroups_of, templates_file};
    let dir = tempfile::tempdir().unwrap();
    let templates = templates_file(dir.path(), "256 MiB", "64 MiB", 64, "16 MiB");
    let app = bounded_app(&templates, |c| c.limits.warm.warm_starts = true).await;
    let (_, token) = app.new_user("bounded-warm").await;
    let sb = app.create_sandbox(&token, "in-bounds").await;
    app.ok(&token, PREPARE, json!({"id": sb})).await;
    assert!(eventually(10, || warm_calls(&app, &sb).len() == 1).await, "a warm claude started");
    let pids = cgroups_of(&sb).into_iter().find(|p| p.display().to_string().contains("/pids/")).expect("a pids cgroup");
    let count =
        || std::fs::read_to_string(pids.join("pids.current")).unwrap_or_default().trim().parse::<u64>().unwrap_or(0);
    assert!(count() > 0, "the warm claude's processes are counted in the sandbox's pids cgroup");
    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id, sync: false) { id } }", json!({"id": sb})).await;
    assert!(cgroups_of(&sb).is_empty(), "nothing left once deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_a_sandbox_prepares_a_warm_claude_unless_the_token_is_read_only() {
    let app = spawn(|_| {}).await;
    let (account, token) = app.new_user("watcher").await;
    let sb = app.create_sandbox(&token, "open").await;
    let sub = "subscription($s: ID!) { workspaceChanges(sandboxId: $s) { kind path } }";
    // A read-only client looks on: nothing is started for it.
    let q = "mutation($a: ID!) { createToken(accountId: $a, readOnly: true) { token } }";
    let ro =
        app.ok(&app.admin_token, q, json!({"a": account})).await["createToken"]["token"].as_str().unwrap().to_string();
    let mut look = crate::helpers::ws::WsClient::connect(app.addr, Some(&ro)).await.expect("ack");
    look.subscribe("1", sub, json!({"s": sb})).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(warm_calls(&app, &sb).is_empty(), "a read-only watcher warms nothing");
    // A client that may write opens the sandbox: a Claude waits for its first message.
    let mut open = crate::helpers::ws::WsClient::connect(app.addr, Some(&token)).await.expect("ack");
    open.subscribe("1", sub, json!({"s": sb})).await;
    assert!(eventually(10, || warm_calls(&app, &sb).len() == 1).await, "opening the sandbox warmed one");
    let (_, r) = run_done(&app, &token, &sb, "hello").await;
    assert_eq!(r["status"], "SUCCEEDED");
    let cold =
        app.standin_calls(&sb).iter().filter(|c| c["argv"].as_array().unwrap().iter().any(|a| a == "--")).count();
    assert_eq!(cold, 0, "the run took over the warm Claude");
}
