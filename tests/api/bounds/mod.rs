//! Every sandbox inside its own bounds (issue 27): memory, processes, CPU, `/tmp` and
//! disk, with a uid of its own, on this kind of host (root, cgroup v1, loop devices).
//! The server runs with `--sandbox-bounds required`, so a host that cannot bound fails
//! these tests at start-up instead of passing them unbounded.

mod disk;
mod lifecycle;
mod memory;
mod processes;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::helpers::{DbKind, TestApp};

/// A templates file with one default template of these resources.
pub fn templates_file(dir: &Path, memory: &str, disk: &str, processes: u64, tmp: &str) -> PathBuf {
    let path = dir.join("templates.toml");
    let text = format!(
        "[[templates]]\nname = \"bounded\"\ndescription = \"small bounds for tests\"\ndefault = true\n\
         [templates.resources]\ncpu = 1\nmemory = \"{memory}\"\ndisk = \"{disk}\"\nprocesses = {processes}\ntmp = \"{tmp}\"\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A server on SQLite whose sandboxes are bounded by `templates` (required: it does not
/// start on a host that cannot), with uids of a range of its own.
pub async fn bounded_app(templates: &Path, tweak: impl FnOnce(&mut sandboxql::config::Config)) -> TestApp {
    let templates = templates.to_path_buf();
    TestApp::spawn_with(
        DbKind::Sqlite,
        move |c| {
            c.sandbox.sandbox_bounds = sandboxql::config::BoundsMode::Required;
            c.sandbox.templates = Some(templates);
            c.sandbox.disk_pool = 1;
            c.sandbox.min_free_disk = "0".into();
            // Tests run side by side with data dirs of their own: a range each.
            c.sandbox.jail_uid_base = 710_000_000 + (uuid::Uuid::new_v4().as_u128() % 10_000) as u32 * 1000;
            c.sandbox.jail_uid_count = 1000;
            // The bounds tests count what runs in a sandbox between runs; warm Claudes
            // (which live inside the same bounds) have their own test in warm.rs.
            c.limits.warm.warm_starts = false;
            tweak(c);
        },
        None,
    )
    .await
}

/// Runs `command` with /bin/sh inside the sandbox (through the stand-in Claude, jailed
/// and bounded like Claude's Bash tool) and returns its exit code and output.
pub async fn sh(app: &TestApp, token: &str, sb: &str, command: &str) -> Value {
    let run = app.start_run(token, sb, &format!("[sh {command} :sh]")).await;
    let fin = finished(app, token, &run).await;
    assert_eq!(fin["status"], "SUCCEEDED", "the stand-in ran the command: {fin}");
    serde_json::from_str(fin["result"].as_str().expect("result")).expect("sh result")
}

/// The RunFinished event of `run`, once it ended.
pub async fn finished(app: &TestApp, token: &str, run: &str) -> Value {
    let q = "query($id: ID!) { run(id: $id) { status events(first: 500) { __typename \
             ... on RunFinished { status result reason error } } } }";
    for _ in 0..2400 {
        let data = app.ok(token, q, json!({"id": run})).await;
        if data["run"]["status"] != "RUNNING" {
            let events = data["run"]["events"].as_array().unwrap();
            return events.iter().rev().find(|e| e["__typename"] == "RunFinished").cloned().expect("RunFinished");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run {run} did not end");
}

/// The sandbox's `resources` (limits and usage).
pub async fn resources(app: &TestApp, token: &str, sb: &str) -> Value {
    let q = "query($id: ID!) { sandbox(id: $id) { template resources { \
             limits { cpu cpuMax memoryBytes diskBytes processes tmpBytes } \
             usage { memoryBytes memoryPeakBytes cpuSeconds diskBytes processes } } } }";
    app.ok(token, q, json!({"id": sb})).await["sandbox"].clone()
}

/// Mount points under `dir` (from this process's mount table).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let prefix = dir.display().to_string();
    table.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&prefix)).map(String::from).collect()
}

/// Every cgroup directory named for the sandbox, in any hierarchy.
pub fn cgroups_of(sb: &str) -> Vec<PathBuf> {
    let id = sb.to_string();
    let mut found = Vec::new();
    let mut stack = vec![PathBuf::from("/sys/fs/cgroup")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                if e.file_name().to_string_lossy() == id {
                    found.push(e.path());
                } else if d.components().count() < 12 {
                    stack.push(e.path());
                }
            }
        }
    }
    found
}
