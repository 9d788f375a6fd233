//! Reading and writing cgroupfs: this process's place in each hierarchy, the members of
//! a group, and the `value` / `key value` files the kernel keeps its figures in.

use std::path::Path;

use anyhow::Context;

pub(super) fn make_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating cgroup {}", dir.display())),
    }
}

/// This process's path in the v1 hierarchy of `controller` ("" for v2's `0::` line).
pub(super) fn own_path(proc_cgroup: &str, controller: &str) -> Option<String> {
    proc_cgroup.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = if controller.is_empty() { list.is_empty() } else { list.split(',').any(|c| c == controller) };
        hit.then(|| path.to_string())
    })
}

pub(super) fn members(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

pub(super) fn read_u64(file: &Path) -> Option<u64> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// The figure after `key` in a `key value` per line file.
pub(super) fn read_key(file: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_paths_are_read_per_controller() {
        let text = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/x\n0::/\n";
        assert_eq!(own_path(text, "memory").as_deref(), Some("/process_api/abc"));
        assert_eq!(own_path(text, "cpuacct").as_deref(), Some("/x"));
        assert_eq!(own_path(text, "").as_deref(), Some("/"));
        assert_eq!(own_path(text, "blkio"), None);
    }

    #[test]
    fn keyed_figures_are_found_by_their_whole_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("memory.oom_control");
        std::fs::write(&f, "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n").unwrap();
        assert_eq!(read_key(&f, "oom_kill"), Some(3));
        assert_eq!(read_key(&f, "under_oom"), Some(0));
    }
}
