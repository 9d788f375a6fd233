//! Processes and uids: a fork bomb in one sandbox stays at its pids limit while another
//! sandbox starts a run that succeeds; two sandboxes run as two uids of their own, none a
//! user of the host; a local user who is not root reads neither the database nor a
//! workspace.

use std::time::Duration;

use serde_json::json;

use super::{bounded_app, finished, resources, sh, templates_file};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_bomb_stays_at_its_pids_limit_while_another_sandbox_runs() {
    let dir = tempfile::tempdir().unwrap();
    let templates = templates_file(dir.path(), "512 MiB", "64 MiB", 64, "16 MiB");
    let app = bounded_app(&templates, |_| {}).await;
    let (_, bomber) = app.new_user("bomber").await;
    let (_, calm) = app.new_user("calm").await;
    let sb = app.create_sandbox(&bomber, "bomb").await;
    let other = app.create_sandbox(&calm, "calm").await;

    // Bounded in time by the test: cancelled below, and `timeout` ends it anyway.
    // Bounded in time by the test: cancelled below, and `timeout` ends it anyway.
    // Every process forks for ever and retries when refused: it never dies out by itself.
    let forever =
        "import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)";
    let bomb = app.start_run(&bomber, &sb, &format!("[sh timeout 60 python3 -c '{forever}' :sh]")).await;
    let pids = super::cgroups_of(&sb).into_iter().find(|d| d.display().to_string().contains("/pids/")).unwrap();
    let refused = || {
        let events = std::fs::read_to_string(pids.join("pids.events")).unwrap();
        events.lines().find_map(|l| l.strip_prefix("max ")?.trim().parse::<u64>().ok()).unwrap_or(0)
    };
    let mut peak = 0;
    for _ in 0..300 {
        let r = resources(&app, &bomber, &sb).await;
        peak = peak.max(r["resources"]["usage"]["processes"].as_u64().unwrap_or(0));
        if refused() > 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused() > 100, "the kernel refused the bomb's forks at the limit (pids.events max)");
    assert!((16..=64).contains(&peak), "the bomb grew to its pids limit of 64 and never past it: {peak}");
    let run = app.start_run(&calm, &other, "List the workspace.").await;
    assert_eq!(finished(&app, &calm, &run).await["status"], "SUCCEEDED", "the other sandbox runs");
    let r = resources(&app, &bomber, &sb).await;
    assert!(r["resources"]["usage"]["processes"].as_u64().unwrap() <= 64, "{r}");

    app.ok(&bomber, "mutation($r: ID!) { cancelRun(runId: $r) { id } }", json!({"r": bomb})).await;
    assert_eq!(finished(&app, &bomber, &bomb).await["status"], "CANCELLED");
    let mut left = u64::MAX;
    for _ in 0..100 {
        left = resources(&app, &bomber, &sb).await["resources"]["usage"]["processes"].as_u64().unwrap();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "cancelling killed the whole bomb");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sandbox_has_its_own_uid_and_no_other_local_user_reads_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let templates = templates_file(dir.path(), "512 MiB", "64 MiB", 128, "16 MiB");
    let app = bounded_app(&templates, |_| {}).await;
    let (_, token) = app.new_user("owner").await;
    let (a, b) = (app.create_sandbox(&token, "a").await, app.create_sandbox(&token, "b").await);
    let ua = sh(&app, &token, &a, "id -u; echo secret > mine.txt").await;
    let ub = sh(&app, &token, &b, "id -u").await;
    let (ua, ub): (u32, u32) = (
        ua["stdout"].as_str().unwrap().lines().next().unwrap().parse().unwrap(),
        ub["stdout"].as_str().unwrap().trim().parse().unwrap(),
    );
    assert_ne!(ua, ub, "two sandboxes, two uids");
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    for uid in [ua, ub] {
        assert!(uid >= 700_000_000, "{uid} is in the sandbox range");
        assert!(!passwd.lines().any(|l| l.split(':').nth(2) == Some(&uid.to_string())), "{uid} is no host user");
    }
    use std::os::unix::fs::MetadataExt;
    let ws = app.sandbox_dir(&a).join("disk/workspace");
    assert_eq!(std::fs::metadata(ws.join("mine.txt")).unwrap().uid(), ua, "its files are its own");
    // Files the server writes for it are its own too.
    let write = "mutation($s: ID!) { writeFile(sandboxId: $s, path: \"dir/from-api.txt\", content: \"x\") { size } }";
    app.ok(&token, write, json!({"s": a})).await;
    assert_eq!(std::fs::metadata(ws.join("dir/from-api.txt")).unwrap().uid(), ua);
    assert_eq!(std::fs::metadata(ws.join("dir")).unwrap().uid(), ua);
    let out = sh(&app, &token, &a, "echo more >> dir/from-api.txt && echo ok").await;
    assert_eq!(out["stdout"], "ok\n", "{out}");

    // `nobody`, a local user, reads neither the database nor a workspace.
    let db = app.data_path().join("sandboxql.db");
    let (root, blobs) = (app.data_path(), app.data_path().join("blobs"));
    for (tool, target) in [("cat", &db), ("cat", &ws.join("mine.txt")), ("ls", &ws), ("ls", &root), ("ls", &blobs)] {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups", "--", tool])
            .arg(target)
            .output()
            .unwrap();
        assert!(!out.status.success(), "nobody read {}", target.display());
        assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"), "{}", target.display());
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(app.data_path()).unwrap().permissions().mode() & 0o777, 0o711);
    assert_eq!(std::fs::metadata(app.data_path().join("blobs")).unwrap().permissions().mode() & 0o777, 0o700);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hard_cpu_cap_holds_a_busy_loop_to_its_share() {
    let dir = tempfile::tempdir().unwrap();
    let path = templates_file(dir.path(), "512 MiB", "64 MiB", 128, "16 MiB");
    let text = std::fs::read_to_string(&path).unwrap().replace("cpu = 1\n", "cpu = 1\ncpu_max = 0.25\n");
    std::fs::write(&path, text).unwrap();
    let app = bounded_app(&path, |_| {}).await;
    let (_, token) = app.new_user("spinner").await;
    let sb = app.create_sandbox(&token, "spin").await;
    let limits = &resources(&app, &token, &sb).await["resources"]["limits"];
    assert_eq!(limits["cpuMax"], 0.25);
    let out = sh(&app, &token, &sb, "timeout 4 sh -c 'while :; do :; done'; echo spun").await;
    assert_eq!(out["stdout"], "spun\n", "{out}");
    let used = resources(&app, &token, &sb).await["resources"]["usage"]["cpuSeconds"].as_f64().unwrap();
    // Four seconds of a busy loop at a quarter of a core is about one CPU second (the
    // stand-in's own start counts too); uncapped it would be four.
    assert!(used < 2.0, "the cap held the loop: {used} CPU seconds");
    assert!(used > 0.5, "the loop ran: {used} CPU seconds");
}
