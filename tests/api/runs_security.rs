//! What reaches a sandboxed process, who may touch a run, and what survives a crash.

use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{
        DbKind, TestApp, db,
        process::{eventually, processes_with, serve},
        remote::{create, gql, start, wait_done},
        runs::{collect, run_events_query},
        standin_claude,
        ws::WsClient,
    },
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_never_sees_server_secrets_and_prompt_is_one_argument() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}/secret.db?mode=rwc", dir.path().display());
    let standin = standin_claude();
    let envs = [
        ("DATABASE_URL", db_url.as_str()),
        ("AWS_ACCESS_KEY_ID", "AKIASECRETSECRET"),
        ("AWS_SECRET_ACCESS_KEY", "aws-secret-value"),
        ("SANDBOXQL_S3_BUCKET", "bucket-name"),
        ("MODAL_TOKEN_SECRET", "modal-secret-value"),
        ("ANTHROPIC_API_KEY", "sk-ant-for-sandboxes"),
        ("CLAUDE_BIN", standin.as_str()),
    ];
    // S3 snapshot storage is configured, with its credentials in the server's environment.
    let s3 = ["--storage", "s3", "--s3-bucket", "bucket-name", "--s3-endpoint", "http://127.0.0.1:9"];
    let served = serve(dir.path(), &s3, &envs);
    let token = served.token.clone().unwrap();
    let sb = create(&served.addr, &token).await;
    let _ = std::fs::remove_file("/tmp/pwned");
    let prompts = ["\"; rm -rf / #", "$(touch /tmp/pwned)", "`touch /tmp/pwned`", "--help", "a\nb 'c' \"d\" \\e"];
    for p in prompts {
        let run = start(&served.addr, &token, &sb, p).await;
        assert_eq!(wait_done(&served.addr, &token, &run).await["status"], "SUCCEEDED");
    }
    assert!(!std::path::Path::new("/tmp/pwned").exists(), "a prompt was run by a shell");
    let home = dir
        .path()
        .join("data/sandboxes")
        .join(uuid::Uuid::parse_str(&sb).unwrap().simple().to_string())
        .join("disk/home");
    let calls: Vec<Value> = std::fs::read_to_string(home.join("standin-calls.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The first run starts cold, the others are handed to the warm Claude the previous
    // run's end left waiting (its prompt travels on stdin as a stream-json message): a
    // fresh one, or the one the previous run talked to, kept. Every process, warm or
    // cold, holds nothing of the server's.
    let cold: Vec<&Value> = calls.iter().filter(|c| c["argv"].as_array().unwrap().iter().any(|a| a == "--")).collect();
    assert!(!cold.is_empty() && calls.len() >= 2, "{calls:?}");
    for call in &calls {
        let argv: Vec<String> = serde_json::from_value(call["argv"].clone()).unwrap();
        match argv.iter().position(|a| a == "--") {
            Some(i) => {
                assert_eq!(i, argv.len() - 2, "prompt arrives as one argv element, last");
                assert!(prompts.contains(&argv[i + 1].as_str()), "{argv:?}");
            }
            None => assert!(prompts.iter().all(|p| !argv.contains(&p.to_string())), "no prompt in a warm argv"),
        }
        let env = call["env"].as_object().unwrap();
        let text = serde_json::to_string(env).unwrap();
        for secret in
            ["secret.db", "AKIASECRET", "aws-secret-value", "bucket-name", "modal-secret-value", "sk-ant-for-sandboxes"]
        {
            assert!(!text.contains(secret), "{secret} leaked into the sandbox: {text}");
        }
        assert!(!env.contains_key("DATABASE_URL"));
        let key = env["ANTHROPIC_API_KEY"].as_str().unwrap();
        assert!(key.starts_with("sgw_"), "the run's own gateway token, not the operator's key: {key}");
        assert_eq!(env["ANTHROPIC_BASE_URL"], "http://127.0.0.1:4000", "the gateway, through the jail's relay");
        assert_eq!(call["cwd"], "/mnt/workspace", "jailed at the workspace");
        assert_ne!(call["uid"], 0, "jailed as an unprivileged user");
    }
}

async fn others_cannot_touch_runs(kind: DbKind) {
    let app = TestApp::spawn(kind).await;
    let (_, a) = app.new_user("tom").await;
    let (_, b) = app.new_user("uma").await;
    let sb = app.create_sandbox(&a, "mine").await;
    let run = app.start_run(&a, &sb, "[delay 100] private").await;
    let random = uuid::Uuid::now_v7().to_string();
    for id in [&run, &random] {
        let got = app.ok(&b, "query($id: ID!) { run(id: $id) { id prompt } }", json!({"id": id})).await;
        assert_eq!(got, json!({"run": null}));
    }
    let cancel = "mutation($id: ID!) { cancelRun(id: $id) { status } }";
    assert_eq!(
        app.err(Some(&b), cancel, json!({"id": run})).await,
        app.err(Some(&b), cancel, json!({"id": random})).await
    );
    assert_eq!(app.err(Some(&b), cancel, json!({"id": run})).await.0, "NOT_FOUND");
    let start = "mutation($s: ID!) { startRun(input: {sandboxId: $s, prompt: \"x\"}) { id } }";
    assert_eq!(app.err(Some(&b), start, json!({"s": sb})).await.0, "NOT_FOUND");

    let mut ws = WsClient::connect(app.addr, Some(&b)).await.unwrap();
    for (i, id) in [&run, &random].into_iter().enumerate() {
        let op = format!("s{i}");
        ws.subscribe(&op, &run_events_query(), json!({"r": id, "a": 0})).await;
        let msg = ws.next().await;
        assert_eq!(msg["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{msg}");
        assert_eq!(msg["payload"]["errors"][0]["message"], "run not found");
        assert_eq!(ws.next().await["type"], "complete");
    }
    let stream = "subscription($s: ID!) { claudeStream(sandboxId: $s, prompt: \"x\") { __typename } }";
    ws.subscribe("c", stream, json!({"s": sb})).await;
    assert_eq!(ws.next().await["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND");
    // The owner's run went on untouched.
    let mut own = WsClient::connect(app.addr, Some(&a)).await.unwrap();
    own.subscribe("1", &run_events_query(), json!({"r": run, "a": 0})).await;
    assert_eq!(collect(&mut own, "1").await.last().unwrap()["status"], "SUCCEEDED");
}
both_dbs!(other_accounts_cannot_read_cancel_or_follow_runs, others_cannot_touch_runs);

async fn killed_server(kind: DbKind) {
    let dir = tempfile::tempdir().unwrap();
    let db_url = match kind {
        DbKind::Sqlite => format!("sqlite://{}/k.db?mode=rwc", dir.path().display()),
        DbKind::Postgres => db::fresh_postgres().await,
    };
    let standin = standin_claude();
    let envs = [("DATABASE_URL", db_url.as_str()), ("CLAUDE_BIN", standin.as_str())];
    let served = serve(dir.path(), &[], &envs);
    let token = served.token.clone().unwrap();
    let sb = create(&served.addr, &token).await;
    let marker = format!("m{}", uuid::Uuid::new_v4().simple());
    let run = start(&served.addr, &token, &sb, &format!("[hang] {marker}")).await;
    let q = "query($id: ID!) { run(id: $id) { status error events { __typename } } }";
    for _ in 0..100 {
        let v = gql(&served.addr, &token, q, json!({"id": run})).await;
        if v["data"]["run"]["events"].as_array().unwrap().iter().any(|e| e["__typename"] == "SessionStarted") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    served.kill9();
    assert!(eventually(5, || processes_with(&marker).is_empty()).await, "the jail dies with the server");

    let served = serve(dir.path(), &[], &envs);
    let v = gql(&served.addr, &token, q, json!({"id": run})).await;
    let r = &v["data"]["run"];
    assert_eq!(r["status"], "INTERRUPTED", "{v}");
    let kinds: Vec<&str> = r["events"].as_array().unwrap().iter().map(|e| e["__typename"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec!["RunStarted", "SessionStarted", "RunFinished"],
        "stored events intact, closed by RunFinished"
    );
    let next = start(&served.addr, &token, &sb, "again").await;
    assert_eq!(wait_done(&served.addr, &token, &next).await["status"], "SUCCEEDED");
}
both_dbs!(sigkilled_server_leaves_run_interrupted, killed_server);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_on_one_instance_streams_a_run_on_another() {
    let a = TestApp::spawn(DbKind::Postgres).await;
    let mut cfg_b = a.config.clone();
    cfg_b.instance_id = Some("instance-b".into());
    let b = a.another_instance_with(cfg_b).await;
    let (_, token) = a.new_user("vic").await;
    let sb = a.create_sandbox(&token, "far").await;
    let run = a.start_run(&token, &sb, "[delay 120] across").await;
    let mut ws = WsClient::connect(b.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", &run_events_query(), json!({"r": run, "a": 0})).await;
    let events = collect(&mut ws, "1").await;
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert_eq!(events.last().unwrap()["status"], "SUCCEEDED");
    assert!(events.len() > 10);
    // Cancel travels the other way: from B to the run executing on A.
    let marker = format!("m{}", uuid::Uuid::new_v4().simple());
    let hang = a.start_run(&token, &sb, &format!("[hang] {marker}")).await;
    assert!(eventually(10, || !processes_with(&marker).is_empty()).await);
    let done = b.ok(&token, "mutation($id: ID!) { cancelRun(id: $id) { status } }", json!({"id": hang})).await;
    assert_eq!(done["cancelRun"]["status"], "CANCELLED");
    assert!(eventually(5, || processes_with(&marker).is_empty()).await);
}
