//! Sandbox processes start inside the server's idle cgroup, so a tenant's processes get
//! only the CPU the server leaves unused, even after they start a session of their own.

use std::{path::PathBuf, time::Duration};

use serde_json::json;

use crate::helpers::{
    DbKind, TestApp,
    process::{eventually, processes_with},
};

/// A fresh cgroup directory for this test under the writable hierarchy, if there is one.
fn test_cgroup() -> Option<PathBuf> {
    let v1 = PathBuf::from("/sys/fs/cgroup/cpu");
    let name = format!("sandboxql-test-{}", uuid::Uuid::new_v4().simple());
    if v1.join("cpu.shares").exists() && std::fs::create_dir(v1.join(&name)).is_ok() {
        return Some(v1.join(name));
    }
    let v2 = PathBuf::from("/sys/fs/cgroup");
    let root = std::fs::read_to_string("/proc/self/cgroup").is_ok_and(|s| s.trim() == "0::/");
    (root && std::fs::create_dir(v2.join(&name)).is_ok()).then(|| v2.join(name))
}

fn members(group: &std::path::Path) -> Vec<u32> {
    let text = std::fs::read_to_string(group.join("cgroup.procs")).unwrap_or_default();
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_processes_start_in_the_idle_cgroup() {
    let Some(group) = test_cgroup() else {
        eprintln!("no writable cgroup hierarchy on this machine: nothing to check");
        return;
    };
    let dir = group.display().to_string();
    // No warm Claude: the group must be empty once the run is cancelled.
    let app = TestApp::spawn_with(
        DbKind::Sqlite,
        |c| {
            c.sandbox.sandbox_cgroup = dir;
            c.limits.warm.warm_starts = false;
        },
        None,
    )
    .await;
    let idle = std::fs::read_to_string(group.join("cpu.idle")).unwrap_or_default();
    let shares = std::fs::read_to_string(group.join("cpu.shares")).unwrap_or_default();
    assert!(idle.trim() == "1" || shares.trim() == "2", "cpu.idle {idle:?}, cpu.shares {shares:?}");

    let (_, token) = app.new_user("cora").await;
    let sb = app.create_sandbox(&token, "busy").await;
    let run = app.start_run(&token, &sb, "[hang] cgroup").await;
    // The stand-in runs behind bwrap --new-session (a session of its own): still inside.
    let inside = eventually(10, || {
        let standins = processes_with("[hang] cgroup");
        let members = members(&group);
        !standins.is_empty() && standins.iter().all(|p| members.contains(p))
    })
    .await;
    assert!(inside, "stand-in {:?} not all in {:?}", processes_with("[hang] cgroup"), members(&group));
    // Nothing of the server itself is in there.
    assert!(!members(&group).contains(&std::process::id()));

    app.ok(&token, "mutation($id: ID!) { cancelRun(id: $id) { id } }", json!({"id": run})).await;
    assert!(eventually(10, || members(&group).is_empty()).await, "left behind: {:?}", members(&group));
    drop(app);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = std::fs::remove_dir(&group);
}
