//! The bounds over a sandbox's life: its `/tmp` is sized, the bounds hold after a server
//! restart (disks mounted again, cgroups as before), and deleting it leaves no cgroup,
//! mount, image or uid behind. What the host bounds is published in `limits`.

use serde_json::json;

use super::{bounded_app, cgroups_of, mounts_under, resources, sh, templates_file};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmp_is_bounded_the_bounds_survive_a_restart_and_delete_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let templates = templates_file(dir.path(), "512 MiB", "64 MiB", 128, "16 MiB");
    let app = bounded_app(&templates, |_| {}).await;
    let (_, token) = app.new_user("lifer").await;
    let sb = app.create_sandbox(&token, "lifer").await;
    let limits = app.ok(&token, "{ limits { sandboxBounds { cgroups disk missing } } }", json!({})).await;
    assert_eq!(limits["limits"]["sandboxBounds"], json!({"cgroups": true, "disk": true, "missing": []}));
    let templates = app
        .ok(
            &token,
            "{ templates { name description resources { memoryBytes diskBytes processes tmpBytes } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        templates["templates"],
        json!([{"name": "bounded", "description": "small bounds for tests",
                "resources": {"memoryBytes": 512u64 << 20, "diskBytes": 64u64 << 20, "processes": 128, "tmpBytes": 16u64 << 20}}])
    );

    let tmp = "dd if=/dev/zero of=/tmp/fill bs=1M count=64; df -k /tmp | tail -1";
    let check = |out: serde_json::Value| {
        let text = format!("{}{}", out["stdout"], out["stderr"]);
        assert!(text.contains("No space left on device"), "/tmp is bounded: {text}");
        assert!(text.contains("16384"), "/tmp is 16 MiB: {text}");
    };
    check(sh(&app, &token, &sb, tmp).await);
    let disk = "fallocate -l 100M big; echo code=$?";
    assert!(sh(&app, &token, &sb, disk).await["stdout"].as_str().unwrap().contains("code=1"));
    assert_eq!(cgroups_of(&sb).len(), 5, "memory, pids, cpu, cpuacct and unified: {:?}", cgroups_of(&sb));

    // A restart of the server (and, as after a reboot, the disk unmounted meanwhile).
    let data = app.data_path();
    let sandbox_dir = app.sandbox_dir(&sb);
    let app = app.restart().await;
    for m in mounts_under(&sandbox_dir) {
        assert!(std::process::Command::new("umount").arg(&m).status().unwrap().success());
    }
    let app = app.restart().await;
    assert_eq!(mounts_under(&sandbox_dir).len(), 1, "mounted again at start-up");
    check(sh(&app, &token, &sb, tmp).await);
    assert!(sh(&app, &token, &sb, disk).await["stdout"].as_str().unwrap().contains("code=1"), "the disk still bounds");
    let r = resources(&app, &token, &sb).await;
    assert!(r["resources"]["usage"]["memoryPeakBytes"].as_u64().unwrap() > 0, "{r}");
    let uid_claims = || std::fs::read_dir(data.join("uids")).unwrap().count();
    assert_eq!(uid_claims(), 1);

    app.ok(&token, "mutation($id: ID!) { deleteSandbox(id: $id, sync: false) { id } }", json!({"id": sb})).await;
    assert!(cgroups_of(&sb).is_empty(), "no cgroup left: {:?}", cgroups_of(&sb));
    assert!(mounts_under(&sandbox_dir).is_empty(), "no mount left");
    assert!(!sandbox_dir.exists(), "no directory or image left");
    assert_eq!(uid_claims(), 0, "its uid is free again");
    let pooled: Vec<_> = std::fs::read_dir(data.join("disk-pool").join((64u64 << 20).to_string()))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".img"))
        .collect();
    assert!(pooled.len() <= 1, "the pool holds its depth: {pooled:?}");
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let pool_mounts: Vec<&str> = table.lines().filter(|l| l.contains("disk-pool")).collect();
    assert!(pool_mounts.iter().all(|l| l.contains("nosuid") && l.contains("nodev")), "{pool_mounts:?}");
}

#[test]
fn required_bounds_refuse_to_start_on_a_host_without_them_and_auto_says_what_is_missing() {
    let data = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::helpers::process::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--sandbox-cgroup", "off", "--sandbox-bounds", "required"])
        .current_dir(data.path())
        .env_remove("DATABASE_URL")
        .env_remove("SANDBOXQL_DATA_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a host without cgroups cannot bound memory: serve must not start");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--sandbox-bounds required, but this host lacks") && err.contains("no writable cgroup"),
        "{err}"
    );
    let log = crate::helpers::process::start_up_log(&[
        "--sandbox-cgroup",
        "off",
        "--sandbox-bounds",
        "auto",
        "--disk-pool",
        "0",
    ]);
    assert!(
        log.contains("a sandbox bound is not available on this host") && log.contains("no writable cgroup"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_of_the_old_layout_is_moved_and_given_a_uid_of_its_own() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::DbKind::Sqlite).await;
    let (_, token) = app.new_user("old-timer").await;
    let sb = app.create_sandbox(&token, "old").await;
    // As sandboxes were before: workspace and HOME at the top, the server's, no uid.
    let dir = app.sandbox_dir(&sb);
    std::fs::write(dir.join("disk/workspace/kept.txt"), "kept").unwrap();
    std::fs::create_dir_all(dir.join("disk/workspace/a/b/c")).unwrap();
    for sub in ["workspace", "home"] {
        std::fs::rename(dir.join("disk").join(sub), dir.join(sub)).unwrap();
    }
    std::fs::remove_dir(dir.join("disk")).unwrap();
    std::fs::remove_file(dir.join("uid")).unwrap();
    for e in std::fs::read_dir(app.data_path().join("uids")).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    std::process::Command::new("chown").args(["-R", "0:0"]).arg(&dir).status().unwrap();
    let app = app.restart().await;
    let out = sh(&app, &token, &sb, "id -u; cat kept.txt; touch a/b/c/new && echo wrote").await;
    let said = out["stdout"].as_str().unwrap();
    let uid: u32 = said.lines().next().unwrap().parse().unwrap();
    assert!(uid >= 700_000_000, "{out}");
    assert!(said.contains("kept") && said.contains("wrote"), "its files are its own now: {out}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(dir.join("disk/workspace/a/b")).unwrap().uid(), uid);
}
