//! Disk: `fallocate`, `dd` and a loop of small files past the sandbox's disk fail with
//! ENOSPC inside it, another sandbox still writes, `writeFile` past it is OUT_OF_SPACE,
//! and a disk that would eat into the server's reserve is not made.

use serde_json::json;

use super::{bounded_app, sh, templates_file};

fn free_bytes(dir: &std::path::Path) -> u64 {
    let s = rustix::fs::statvfs(dir).unwrap();
    s.f_bavail * s.f_frsize
}

/// The bytes the host's filesystem holds for everything under `dir` (disk images
/// included, the mounted sandbox filesystems not): unlike the filesystem's free space,
/// neighbour tests writing to the same filesystem do not move it.
fn allocated_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir).unwrap().dev();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.dev() != dev {
            continue;
        }
        total += meta.blocks() * 512;
        if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&path)
        {
            stack.extend(entries.flatten().map(|e| e.path()));
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_past_the_disk_fail_with_enospc_inside_and_a_clear_error_outside() {
    let dir = tempfile::tempdir().unwrap();
    let templates = templates_file(dir.path(), "512 MiB", "64 MiB", 256, "16 MiB");
    let app = bounded_app(&templates, |_| {}).await;
    let (_, token) = app.new_user("filler").await;
    let (_, neighbour) = app.new_user("neighbour").await;
    let sb = app.create_sandbox(&token, "full").await;
    let other = app.create_sandbox(&neighbour, "roomy").await;
    let host_before = allocated_bytes(&app.data_path());

    // A loop of small files: it ends at the disk's bound (blocks or inodes) with ENOSPC.
    let small = "python3 -c 'import errno\ni = 0\ntry:\n    while True:\n        open(\"small.%d\" % i, \"w\").write(\"x\" * 100)\n        i += 1\nexcept OSError as e:\n    print(\"made\", i, errno.errorcode[e.errno])'; rm -f small.*";
    let out = sh(&app, &token, &sb, small).await;
    let said = out["stdout"].as_str().unwrap();
    assert!(said.trim_end().ends_with("ENOSPC"), "{out}");
    let made: u64 = said.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!((1_000..100_000).contains(&made), "small files stop at the bound: {out}");
    let out = sh(&app, &token, &sb, "fallocate -l 200M big; echo fallocate=$?").await;
    assert!(out["stdout"].as_str().unwrap().contains("fallocate=1"), "{out}");
    assert!(out["stderr"].as_str().unwrap().contains("No space left on device"), "{out}");
    let out = sh(&app, &token, &sb, "dd if=/dev/zero of=dd.bin bs=1M count=200; echo dd=$?").await;
    assert!(out["stdout"].as_str().unwrap().contains("dd=1"), "{out}");
    assert!(out["stderr"].as_str().unwrap().contains("No space left on device"), "{out}");
    let write = "mutation($s: ID!, $c: String!) { writeFile(sandboxId: $s, path: \"more.txt\", content: $c) { size } }";
    let (code, body) = app.post(Some(&token), write, json!({"s": sb, "c": "y".repeat(1 << 20)})).await;
    assert_eq!(code, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "OUT_OF_SPACE", "{body}");
    // Nothing of it reached the host's filesystem; the neighbour writes as before.
    // At most the 64 MiB disk image (plus its filesystem's metadata) grew on the host.
    let host_after = allocated_bytes(&app.data_path());
    let grew = host_after.saturating_sub(host_before);
    assert!(grew <= 72 << 20, "the host gave the sandbox {grew} bytes past its 64 MiB disk");
    let wrote = app.ok(&neighbour, write, json!({"s": other, "c": "fine"})).await;
    assert_eq!(wrote["writeFile"]["size"], 4);
    let out = sh(&app, &neighbour, &other, "dd if=/dev/zero of=ok.bin bs=1M count=8 2>/dev/null; echo dd=$?").await;
    assert!(out["stdout"].as_str().unwrap().contains("dd=0"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_that_would_eat_into_the_reserve_is_not_made() {
    let dir = tempfile::tempdir().unwrap();
    let templates = templates_file(dir.path(), "512 MiB", "1 GiB", 256, "16 MiB");
    // The reserve leaves room for one 1 GiB disk, not two (with half a GiB to spare for
    // whatever else writes to this filesystem meanwhile); data dirs are made in temp_dir.
    let reserve = free_bytes(&std::env::temp_dir()) - (3 << 29);
    let app = bounded_app(&templates, |c| {
        c.sandbox.disk_pool = 0;
        c.sandbox.min_free_disk = reserve.to_string();
    })
    .await;
    let (_, token) = app.new_user("greedy").await;
    let first = app.create_sandbox(&token, "first").await;
    let (code, body) = app.post(Some(&token), "mutation { createSandbox(input: {}) { id } }", json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["reason"], "OUT_OF_SPACE", "{body}");
    // Filling the first sandbox's disk does not take the host below the reserve.
    let out = sh(&app, &token, &first, "fallocate -l 1100M big; fallocate -l 1000M fits; echo done").await;
    assert!(out["stderr"].as_str().unwrap().contains("No space left on device"), "{out}");
    assert!(free_bytes(&app.data_path()) >= reserve, "the data dir keeps its reserve");
}
