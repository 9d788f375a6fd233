//! Memory: a Bash command of the real Claude Code CLI that allocates past its template is
//! killed inside its sandbox, and the run ends FAILED with reason OUT_OF_MEMORY, while
//! another account's sandbox is served throughout. Usage figures match what was made.

use std::time::Duration;

use serde_json::json;

use super::{bounded_app, finished, resources, sh, templates_file};
use crate::{helpers::fake_anthropic, real_claude::claude_cli};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_past_its_memory_is_killed_inside_the_sandbox_and_the_run_fails_out_of_memory() {
    let fake = fake_anthropic::start().await;
    let (cli, base) = (claude_cli(), format!("http://{}", fake.addr));
    let dir = tempfile::tempdir().unwrap();
    let templates = templates_file(dir.path(), "1 GiB", "256 MiB", 512, "64 MiB");
    let app = bounded_app(&templates, |c| {
        c.runs.claude_bin = cli.display().to_string();
        c.gateway.anthropic_base_url = base.clone();
        c.gateway.anthropic_api_key = Some(sandboxql::config::Secret("sk-ant-test-key".into()));
    })
    .await;
    let (_, hungry) = app.new_user("hungry").await;
    let (_, other) = app.new_user("other").await;
    let sb = app.create_sandbox(&hungry, "hungry").await;
    let calm = app.create_sandbox(&other, "calm").await;

    let prompt = "Run this. [bash: python3 -c \"b = bytearray(3 * 1024 ** 3); print(len(b))\" :bash]";
    let run = app.start_run(&hungry, &sb, prompt).await;
    // The other account writes and reads its files the whole time.
    let mut answered = 0;
    let write = "mutation($s: ID!, $c: String!) { writeFile(sandboxId: $s, path: \"beat.txt\", content: $c) { size } }";
    let read = "query($s: ID!) { sandbox(id: $s) { fileContent(path: \"beat.txt\") { content } } }";
    let start = std::time::Instant::now();
    loop {
        let status = app.ok(&hungry, "query($id: ID!) { run(id: $id) { status } }", json!({"id": run})).await;
        if status["run"]["status"] != "RUNNING" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the run did not end");
        let beat = format!("beat {answered}");
        app.ok(&other, write, json!({"s": calm, "c": beat})).await;
        let got = app.ok(&other, read, json!({"s": calm})).await;
        assert_eq!(got["sandbox"]["fileContent"]["content"], beat.as_str());
        answered += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered > 0, "the other account was served while the run ran");
    let fin = finished(&app, &hungry, &run).await;
    assert_eq!(fin["status"], "FAILED", "{fin}");
    assert_eq!(fin["reason"], "OUT_OF_MEMORY", "{fin}");
    assert!(fin["error"].as_str().unwrap().contains("ran out of memory"), "{fin}");
    let usage = resources(&app, &hungry, &sb).await;
    let limit = usage["resources"]["limits"]["memoryBytes"].as_u64().unwrap();
    assert_eq!(limit, 1 << 30);
    let peak = usage["resources"]["usage"]["memoryPeakBytes"].as_u64().unwrap();
    assert!(peak <= limit, "memory never went past the limit: {peak}");
    assert!(peak > limit / 2, "the command really grew: {peak}");
    // The host and the sandbox live on: the next run in it works.
    let again = app.start_run(&hungry, &sb, "Say hello.").await;
    assert_eq!(finished(&app, &hungry, &again).await["status"], "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_figures_match_what_the_sandbox_made() {
    let dir = tempfile::tempdir().unwrap();
    let templates = templates_file(dir.path(), "1 GiB", "512 MiB", 256, "64 MiB");
    let app = bounded_app(&templates, |c| {
        c.limits.io.usage_sample_secs = 1;
        c.http.metrics_token = Some(sandboxql::config::Secret("metrics-secret".into()));
    })
    .await;
    let (_, token) = app.new_user("measured").await;
    let sb = app.create_sandbox(&token, "measured").await;
    let before = resources(&app, &token, &sb).await;
    assert_eq!(before["template"], "bounded");
    let limits = &before["resources"]["limits"];
    assert_eq!(
        (limits["memoryBytes"].as_u64(), limits["diskBytes"].as_u64(), limits["processes"].as_u64()),
        (Some(1 << 30), Some(512 << 20), Some(256))
    );
    assert_eq!(limits["tmpBytes"], 64u64 << 20);
    let out = sh(
        &app,
        &token,
        &sb,
        "head -c 100000000 /dev/urandom > blob && python3 -c 'b = bytearray(300 * 1024 * 1024); print(len(b))'",
    )
    .await;
    assert_eq!(out["code"], 0, "{out}");
    let after = resources(&app, &token, &sb).await;
    let usage = &after["resources"]["usage"];
    let disk = usage["diskBytes"].as_u64().unwrap();
    assert!((95_000_000..115_000_000).contains(&disk), "a 100 MB file is about 100 MB of disk: {disk}");
    let peak = usage["memoryPeakBytes"].as_u64().unwrap();
    assert!(peak >= 300 << 20, "a 300 MiB allocation peaks at 300 MiB or more: {peak}");
    assert!(usage["cpuSeconds"].as_f64().unwrap() > 0.0, "{usage}");
    let mut procs = usage["processes"].as_u64().unwrap();
    for _ in 0..50 {
        if procs == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        procs = resources(&app, &token, &sb).await["resources"]["usage"]["processes"].as_u64().unwrap();
    }
    assert_eq!(procs, 0, "nothing runs between runs once the last is reaped");
    // The per-template sums on /metrics: a label per template, never per sandbox.
    let mut text = String::new();
    for _ in 0..50 {
        let res = app.http.get(format!("http://{}/metrics", app.addr)).bearer_auth("metrics-secret").send().await;
        text = res.unwrap().text().await.unwrap();
        let disk = text
            .lines()
            .find(|l| l.starts_with("sandboxql_sandbox_usage{resource=\"disk_bytes\",template=\"bounded\"}"));
        if disk.and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).is_some_and(|v| v >= 95e6) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(text.contains("sandboxql_sandbox_usage{resource=\"sandboxes\",template=\"bounded\"} 1"), "{text}");
    assert!(!text.contains(&sb), "no label names a sandbox");
}
