//! Event retention with the real Claude Code CLI: a run older than the limit keeps every
//! typed event and loses its token deltas; its replay has no delta and says it was
//! compacted (`eventsCompactedAt`, CONFLICT `EVENTS_COMPACTED` for a replay asking for
//! deltas); what its events take shrinks, by a measured factor.

use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::{
    helpers::{
        fake_anthropic,
        runs::{claude_stream_query, collect, run_events_query},
        ws::WsClient,
    },
    interactive::app_with_claude,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_runs_deltas_are_compacted_and_its_replay_says_so() {
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |c| {
        c.limits.storage.run_events_max_age_hours = 1;
        c.limits.checkpoints.reclaim_every_secs = 1;
    })
    .await;
    let (_, token) = app.new_user("old").await;
    let sb = app.create_sandbox(&token, "events").await;
    let mut ws = WsClient::connect(app.addr, Some(&token)).await.unwrap();
    ws.subscribe("1", &claude_stream_query(), json!({"s": sb, "p": "Make a file with Bash and show it."})).await;
    let live = collect(&mut ws, "1").await;
    let run = live[0]["runId"].as_str().unwrap().to_string();
    let kinds = |evs: &[Value]| evs.iter().map(|e| e["__typename"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let deltas = ["TextDelta", "ToolInputDelta", "ThinkingDelta"];
    assert!(kinds(&live).iter().any(|k| k == "TextDelta"), "the run streamed deltas");
    let (rows, bytes) = (
        app.count("SELECT COUNT(*) FROM agent_run_events").await,
        app.count("SELECT SUM(LENGTH(payload)) FROM agent_run_events").await,
    );

    // A recent run is left alone; one that ended two hours ago is compacted.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let q = "query($r: ID!) { run(id: $r) { eventsCompactedAt } }";
    assert!(app.ok(&token, q, json!({"r": run})).await["run"]["eventsCompactedAt"].is_null());
    let am = sandboxql::entity::agent_run::ActiveModel {
        id: Set(run.parse().unwrap()),
        updated_at: Set(chrono::Utc::now() - chrono::Duration::hours(2)),
        ..Default::default()
    };
    am.update(&app.services.db).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.ok(&token, q, json!({"r": run})).await["run"]["eventsCompactedAt"].is_null() {
        assert!(std::time::Instant::now() < deadline, "not compacted");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    ws.subscribe("2", &run_events_query(), json!({"r": run, "a": 0})).await;
    let replay = collect(&mut ws, "2").await;
    let typed: Vec<String> = kinds(&live).into_iter().filter(|k| !deltas.contains(&k.as_str())).collect();
    assert_eq!(kinds(&replay), typed, "every typed event, in order, and no delta");
    let q = "subscription($r: ID!) { runEvents(runId: $r, kinds: [\"TextDelta\"]) { __typename } }";
    ws.subscribe("3", q, json!({"r": run})).await;
    let msg = ws.next().await;
    let err = &msg["payload"]["errors"][0];
    assert_eq!(err["extensions"]["code"], "CONFLICT", "{msg}");
    assert_eq!(err["extensions"]["reason"], "EVENTS_COMPACTED", "{msg}");

    let (rows_after, bytes_after) = (
        app.count("SELECT COUNT(*) FROM agent_run_events").await,
        app.count("SELECT SUM(LENGTH(payload)) FROM agent_run_events").await,
    );
    assert!(rows_after < rows && bytes_after < bytes);
    println!(
        "events of one run: {rows} rows, {bytes} bytes of payload; compacted: {rows_after} rows, {bytes_after} bytes ({:.1}x smaller)",
        bytes as f64 / bytes_after as f64
    );
}

/// A message of about the length of a real answer's paragraph, echoed back by the fake
/// model word by word (a delta per word, as a model streams a delta every token or few).
const SAID: &str = "Please look at the failing test in the parser module, explain why the \
    tokenizer drops the trailing newline when a comment ends the file, and suggest the \
    smallest change that fixes it without touching the public interface, then tell me \
    which other callers depend on that behaviour and whether any of them would break";

/// A 1,000-turn history with the real CLI (one interactive run, one session): what its
/// events take before and after compaction, for docs/storage.md. `SANDBOXQL_TEST_TURNS`
/// sets fewer turns to time a probe; the figure is the 1,000-turn one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_turn_history_shrinks_when_its_deltas_are_compacted() {
    let turns: usize = std::env::var("SANDBOXQL_TEST_TURNS").ok().and_then(|t| t.parse().ok()).unwrap_or(1000);
    let fake = fake_anthropic::start().await;
    let app = app_with_claude(&fake, |c| {
        c.limits.storage.run_events_max_age_hours = 1;
        c.limits.checkpoints.reclaim_every_secs = 1;
        c.limits.checkpoints.checkpoint_turns = false;
        c.limits.max_turns = 100_000;
    })
    .await;
    let (_, token) = app.new_user("talkative").await;
    let sb = app.create_sandbox(&token, "history").await;
    let run = crate::interactive::start(&app, &token, &sb, SAID, "BYPASS", true).await;
    let mut ws = crate::interactive::follow(&app, &token, &run).await;
    crate::interactive::until(&mut ws, "TurnFinished").await;
    let send = "mutation($r: ID!, $t: String!) { sendMessage(runId: $r, text: $t) { id } }";
    let at = std::time::Instant::now();
    for i in 1..turns {
        app.ok(&token, send, json!({"r": run, "t": format!("{SAID} ({i})")})).await;
        crate::interactive::until(&mut ws, "TurnFinished").await;
    }
    println!("{turns} turns in {:?}", at.elapsed());
    app.ok(&token, "mutation($r: ID!) { endRun(runId: $r) { id } }", json!({"r": run})).await;
    crate::interactive::until(&mut ws, "RunFinished").await;
    let measure = || async {
        (
            app.count("SELECT COUNT(*) FROM agent_run_events").await,
            app.count("SELECT SUM(LENGTH(payload)) FROM agent_run_events").await,
        )
    };
    let (rows, bytes) = measure().await;
    let am = sandboxql::entity::agent_run::ActiveModel {
        id: Set(run.parse().unwrap()),
        updated_at: Set(chrono::Utc::now() - chrono::Duration::hours(2)),
        ..Default::default()
    };
    am.update(&app.services.db).await.unwrap();
    let q = "query($r: ID!) { run(id: $r) { eventsCompactedAt } }";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while app.ok(&token, q, json!({"r": run})).await["run"]["eventsCompactedAt"].is_null() {
        assert!(std::time::Instant::now() < deadline, "not compacted");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (rows_after, bytes_after) = measure().await;
    let typed = app.count("SELECT COUNT(*) FROM agent_run_events WHERE payload LIKE '%AssistantText%'").await;
    assert!(typed >= turns as i64, "every turn's answer is kept whole: {typed}");
    println!(
        "{turns}-turn history: {rows} rows, {bytes} bytes of payload; compacted: {rows_after} rows, {bytes_after} bytes \
         ({:.1}x fewer rows, {:.1}x smaller)",
        rows as f64 / rows_after as f64,
        bytes as f64 / bytes_after as f64
    );
    assert!(bytes_after * 2 < bytes, "compaction at least halves a long history");
}
