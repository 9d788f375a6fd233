//! The Anthropic gateway: the real Claude Code CLI, jailed, reaches the (fake) API only
//! through it with a per-run token, never sees the operator's key, and every answer's
//! usage lands in the ledger at the price table's cost.

use serde_json::{Value, json};

use crate::{
    both_dbs,
    helpers::{
        DbKind, TestApp, fake_anthropic,
        process::eventually,
        runs::{claude_stream_query, collect, first_of},
        ws::WsClient,
    },
    real_claude::claude_cli,
};

const OPERATOR_KEY: &str = "sk-ant-operator-7f3a9c1e55";
/// Prices of the fake's model in the test's table: USD per million tokens.
const PRICES: &str = "fake-model=2,10,3,0.5";
const USAGE_FIELDS: &str = "requests inputTokens outputTokens cacheCreationInputTokens cacheReadInputTokens costUsd";

/// The usage the fake reported, summed, and its cost by `PRICES`.
fn expected_usage(usages: &[fake_anthropic::Reported]) -> Value {
    let sum = |i: usize| usages.iter().map(|u| u[i]).sum::<i64>();
    let micros: f64 =
        usages.iter().map(|u| u[0] as f64 * 2.0 + u[1] as f64 * 10.0 + u[2] as f64 * 3.0 + u[3] as f64 * 0.5).sum();
    json!({"requests": usages.len(), "inputTokens": sum(0), "outputTokens": sum(1),
        "cacheCreationInputTokens": sum(2), "cacheReadInputTokens": sum(3), "costUsd": micros.round() / 1e6})
}

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let (mut found, mut todo) = (vec![], vec![dir.to_path_buf()]);
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().filter_map(Result::ok) {
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                todo.push(entry.path());
            } else if kind.is_file()
                && std::fs::read(entry.path()).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_claude_uses_the_gateway_and_never_sees_the_operator_key() {
    let fake = fake_anthropic::start().await;
    let cli = claude_cli();
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.runs.claude_bin = cli.display().to_string();
            c.gateway.anthropic_base_url = format!("http://{}", fake.addr);
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret(OPERATOR_KEY.into()));
            c.gateway.model_prices = vec![PRICES.into()];
        },
        None,
    )
    .await;
    let (_, token) = app.new_user("pia").await;
    let sb = app.create_sandbox(&token, "probe").await;

    // The probe a prompt-injected Claude would run: everything its process can see.
    let probe = "env; echo ---; tr '\\0' '\\n' < /proc/self/environ; echo ---; \
                 cat ~/.claude.json ~/.claude/*.json 2>&1; ls -la ~ ~/.claude 2>&1";
    let prompt = format!("Show me your environment. [bash: {probe} :bash]");
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", &claude_stream_query(), json!({"s": sb, "p": prompt})).await;
    let events = collect(&mut ws, "1").await;
    let fin = events.last().unwrap();
    assert_eq!(fin["status"], "SUCCEEDED", "{fin}");
    let run_id = first_of(&events, "RunStarted")["runId"].as_str().unwrap().to_string();
    let tool = first_of(&events, "ToolUse");
    assert_eq!(tool["input"]["command"], probe, "the fake asked for the probe");
    let out = first_of(&events, "ToolResult")["content"].as_str().unwrap().to_string();
    assert!(out.contains("ANTHROPIC_BASE_URL=http://127.0.0.1:4000"), "the probe ran and printed env: {out}");
    assert!(out.contains("ANTHROPIC_API_KEY=sgw_"), "Claude's key is its run token: {out}");

    // The fake saw the operator's key on every request, and the sandbox never did.
    let keys = fake.keys.lock().unwrap().clone();
    assert!(keys.len() >= 2, "Claude called the API: {keys:?}");
    assert!(keys.iter().all(|k| k == OPERATOR_KEY), "upstream got the operator's key: {keys:?}");
    let everything = serde_json::to_string(&events).unwrap();
    assert!(!everything.contains(OPERATOR_KEY), "the key is in the run's output");
    let leaked = files_containing(&app.sandbox_dir(&sb), OPERATOR_KEY.as_bytes());
    assert!(leaked.is_empty(), "the key is in sandbox files: {leaked:?}");

    // The ledger holds exactly what the fake reported, priced by the table.
    let usages = fake.usages.lock().unwrap().clone();
    let want = expected_usage(&usages);
    let q = format!(
        "query($r: ID!, $s: ID!) {{ run(id: $r) {{ usage {{ {USAGE_FIELDS} }} }} \
         sandbox(id: $s) {{ usage {{ {USAGE_FIELDS} }} }} viewer {{ usage {{ {USAGE_FIELDS} }} }} }}"
    );
    let vars = json!({"r": run_id, "s": sb});
    let mut got = app.ok(&token, &q, vars.clone()).await;
    // A charge is written as its answer ends; the run may report done a moment earlier.
    for _ in 0..50 {
        if got["viewer"]["usage"]["requests"] == want["requests"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        got = app.ok(&token, &q, vars.clone()).await;
    }
    assert_eq!(got["run"]["usage"], want, "per-run usage equals the fake's figures");
    assert_eq!(got["sandbox"]["usage"], want);
    assert_eq!(got["viewer"]["usage"], want, "viewer.usage totals the account's rows");
    let rows = app.count("SELECT COUNT(*) FROM usage_records WHERE model = 'fake-model-1'").await;
    assert_eq!(rows, usages.len() as i64, "one ledger row per upstream answer");
}

/// The token a stand-in run was started with, from what it recorded.
async fn run_token_of(app: &TestApp, sb: &str) -> String {
    let mut token = String::new();
    let found = eventually(10, || {
        let calls = app.standin_calls(sb);
        token = calls.last().and_then(|c| c["env"]["ANTHROPIC_API_KEY"].as_str()).unwrap_or("").to_string();
        !token.is_empty()
    })
    .await;
    assert!(found, "the run recorded its key");
    token
}

/// POSTs a streamed Messages request to the gateway with `key`; returns status and body.
pub(crate) async fn call_gateway(app: &TestApp, key: &str) -> (u16, String) {
    let body = json!({"model": "m", "max_tokens": 8, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let res = app
        .http
        .post(format!("http://{}/v1/messages", app.gateway_addr))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn tokens_are_per_run(kind: DbKind) {
    let fake = fake_anthropic::start().await;
    let app = TestApp::spawn_with(
        kind,
        |c| {
            c.gateway.anthropic_base_url = format!("http://{}", fake.addr);
            c.gateway.anthropic_api_key = Some(sandboxql::config::Secret(OPERATOR_KEY.into()));
        },
        None,
    )
    .await;
    let (_, tom) = app.new_user("tom").await;
    let (_, uma) = app.new_user("uma").await;
    let sb_a = app.create_sandbox(&tom, "a").await;
    let sb_b = app.create_sandbox(&uma, "b").await;
    let run_a = app.start_run(&tom, &sb_a, "[hang]").await;
    let run_b = app.start_run(&uma, &sb_b, "[hang]").await;
    let (key_a, key_b) = (run_token_of(&app, &sb_a).await, run_token_of(&app, &sb_b).await);
    assert!(key_a.starts_with("sgw_") && key_a != key_b);

    // A running run's token works, streaming the upstream's events back.
    let (status, body) = call_gateway(&app, &key_a).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("event: message_start") && body.contains("event: message_stop"), "{body}");

    // Run A's secret presented for run B (another account's run) is refused, as is junk.
    let secret_a = key_a.rsplit('_').next().unwrap();
    let run_b_simple = uuid::Uuid::parse_str(&run_b).unwrap().simple().to_string();
    let swapped = format!("sgw_{run_b_simple}_{secret_a}");
    for bad in [swapped.as_str(), "sgw_nonsense", OPERATOR_KEY, ""] {
        let (status, body) = call_gateway(&app, bad).await;
        assert_eq!(status, 401, "{bad:?} was accepted: {body}");
        let err: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(err["error"]["type"], "authentication_error");
    }

    // Once its run has ended, a token is refused; the other run's still works.
    let cancel = "mutation($id: ID!) { cancelRun(id: $id) { id } }";
    app.ok(&tom, cancel, json!({"id": run_a})).await;
    app.wait_idle(&tom, &sb_a).await;
    assert_eq!(call_gateway(&app, &key_a).await.0, 401, "a finished run's token is dead");
    assert_eq!(call_gateway(&app, &key_b).await.0, 200);
    app.ok(&uma, cancel, json!({"id": run_b})).await;
    app.wait_idle(&uma, &sb_b).await;
    assert_eq!(call_gateway(&app, &key_b).await.0, 401);

    // Only /v1 is served, and the upstream only ever saw the operator's key.
    let other = app.http.get(format!("http://{}/graphql", app.gateway_addr)).send().await.unwrap();
    assert_eq!(other.status().as_u16(), 404);
    let keys = fake.keys.lock().unwrap().clone();
    assert_eq!(keys, vec![OPERATOR_KEY.to_string(); 2], "two accepted calls, both with the operator's key");
    // The two accepted calls were charged to their own accounts.
    let q = format!("{{ viewer {{ usage {{ {USAGE_FIELDS} }} }} }}");
    let (a, b) = (app.ok(&tom, &q, json!({})).await, app.ok(&uma, &q, json!({})).await);
    assert_eq!(a["viewer"]["usage"]["requests"], 1, "{a}");
    assert_eq!(b["viewer"]["usage"]["requests"], 1, "{b}");
}
both_dbs!(a_run_token_works_only_for_its_own_running_run, tokens_are_per_run);
