//! Sandbox processes in a CPU cgroup of their own that gets only the CPU the server
//! leaves idle.
//!
//! Nice values alone do not protect the server from its sandboxes: the jail starts each
//! sandbox in a new session (`bwrap --new-session`), and with the kernel's
//! `sched_autogroup` on (the default of most distributions, for processes outside a
//! cgroup) every session becomes a scheduling group of its own that competes with the
//! whole server as an equal, whatever the nice value of its processes. Measured on this
//! project's two-core VM: twenty sandboxes starting Claude again and again took account
//! B's p99 from 2 ms to 10–24 ms. A cgroup is what sessions (and a process that calls
//! `setsid` itself) cannot leave, so every sandbox process is started inside one whose
//! `cpu.idle` is set (`cpu.shares`/`cpu.weight` at the minimum where `cpu.idle` is missing).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The shell that moves itself into the cgroup, then becomes the sandbox's command.
const SH: &str = "/bin/sh";
/// `$0` is the cgroup directory, `"$@"` the command: writing 0 moves the writer itself,
/// so the command and everything it starts are inside before any of it runs.
const ENTER: &str = "echo 0 > \"$0/cgroup.procs\" || exit 126; exec \"$@\"";
/// Enters each cgroup directory before `--`, then becomes the command after it.
const ENTER_ALL: &str =
    "for g; do shift; [ \"$g\" = -- ] && break; echo 0 > \"$g/cgroup.procs\" || exit 126; done; exec \"$@\"";
/// The name of the group made under an auto-detected hierarchy.
const GROUP: &str = "sandboxql-sandboxes";

/// A prepared cgroup that sandbox processes are started in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuGroup {
    dir: PathBuf,
}

impl CpuGroup {
    /// Resolves the `--sandbox-cgroup` setting: `off`, `auto` (the cgroup v1 `cpu`
    /// hierarchy, or cgroup v2 when this process is in its root, whichever is writable;
    /// none found is a warning) or a directory (which must work, or start-up fails).
    pub fn prepare(setting: &str) -> anyhow::Result<Option<Self>> {
        match setting {
            "off" => Ok(None),
            "auto" => {
                let found = auto_dir().and_then(|dir| match Self::at(&dir) {
                    Ok(group) => Some(group),
                    Err(e) => {
                        tracing::warn!(dir = %dir.display(), error = %format!("{e:#}"), "no cgroup for sandbox processes");
                        None
                    }
                });
                if found.is_none() && autogroup_enabled() {
                    tracing::warn!(
                        "the kernel schedules each session as a group (sched_autogroup) and no cgroup is available \
                         for sandbox processes: they compete with the server as equals under load; give the server a \
                         writable cgroup (--sandbox-cgroup) or set kernel.sched_autogroup_enabled=0"
                    );
                }
                Ok(found)
            }
            dir => Self::at(Path::new(dir)).map(Some),
        }
    }

    /// Makes (or reuses) the cgroup at `dir` and lowers its CPU claim.
    fn at(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating cgroup {}", dir.display()))?;
        anyhow::ensure!(dir.join("cgroup.procs").exists(), "{} is not a cgroup", dir.display());
        let lowered = [("cpu.idle", "1"), ("cpu.shares", "2"), ("cpu.weight", "1")]
            .iter()
            .find(|(file, value)| std::fs::write(dir.join(file), value).is_ok());
        let Some((file, value)) = lowered else {
            anyhow::bail!("none of cpu.idle, cpu.shares, cpu.weight can be set in {}", dir.display());
        };
        tracing::info!(dir = %dir.display(), setting = %format!("{file}={value}"), "sandbox processes get idle CPU only");
        Ok(Self { dir: dir.to_path_buf() })
    }

    /// The cgroup's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `argv` started by a shell that first enters the cgroup; the command does not run
    /// if it cannot.
    pub fn wrap(&self, argv: Vec<String>) -> Vec<String> {
        let mut out = vec![SH.to_string(), "-c".to_string(), ENTER.to_string(), self.dir.display().to_string()];
        out.extend(argv);
        out
    }
}

/// `argv` started by a shell that first enters every cgroup of `dirs` (a sandbox's own,
/// one per v1 hierarchy); the command does not run if it cannot.
pub fn enter(dirs: &[PathBuf], argv: Vec<String>) -> Vec<String> {
    let mut out = vec![SH.to_string(), "-c".to_string(), ENTER_ALL.to_string(), SH.to_string()];
    out.extend(dirs.iter().map(|d| d.display().to_string()));
    out.push("--".to_string());
    out.extend(argv);
    out
}

/// Where `auto` makes the group: the cgroup v1 `cpu` hierarchy, else cgroup v2 when this
/// process sits in its root and the `cpu` controller can be handed to children.
fn auto_dir() -> Option<PathBuf> {
    let v1 = Path::new("/sys/fs/cgroup/cpu");
    if v1.join("cpu.shares").exists() {
        return Some(v1.join(GROUP));
    }
    let v2 = Path::new("/sys/fs/cgroup");
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let controllers = std::fs::read_to_string(v2.join("cgroup.controllers")).ok()?;
    if own.trim() != "0::/" || !controllers.split_whitespace().any(|c| c == "cpu") {
        return None;
    }
    std::fs::write(v2.join("cgroup.subtree_control"), "+cpu").ok()?;
    Some(v2.join(GROUP))
}

/// Whether the kernel groups each session's processes for scheduling.
fn autogroup_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled").is_ok_and(|s| s.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_runs_only_after_entering_the_group() {
        let group = CpuGroup { dir: PathBuf::from("/sys/fs/cgroup/cpu/x") };
        let argv = group.wrap(vec!["nice".into(), "-n".into(), "10".into(), "bwrap".into()]);
        assert_eq!(argv[..2], ["/bin/sh", "-c"]);
        assert!(argv[2].starts_with("echo 0 > \"$0/cgroup.procs\" || exit 126;"), "{}", argv[2]);
        assert!(argv[2].ends_with("exec \"$@\""));
        assert_eq!(argv[3], "/sys/fs/cgroup/cpu/x");
        assert_eq!(argv[4..], ["nice", "-n", "10", "bwrap"]);
    }

    #[test]
    fn every_group_is_entered_before_the_command_runs() {
        let dirs: Vec<PathBuf> = (0..3).map(|_| tempfile::tempdir().unwrap().keep()).collect();
        let argv =
            enter(&dirs, vec!["/bin/sh".into(), "-c".into(), "echo \"$0 $1\"".into(), "a b".into(), "--".into()]);
        let out = std::process::Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b --\n", "the command's own arguments pass whole");
        for d in &dirs {
            assert_eq!(std::fs::read_to_string(d.join("cgroup.procs")).unwrap(), "0\n");
        }
        let missing = enter(&[PathBuf::from("/nonexistent/g")], vec!["/bin/true".into()]);
        let st = std::process::Command::new(&missing[0])
            .args(&missing[1..])
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(126), "no command without its cgroup");
    }

    #[test]
    fn off_means_none_and_a_bad_directory_is_an_error() {
        assert_eq!(CpuGroup::prepare("off").unwrap(), None);
        let dir = tempfile::tempdir().unwrap();
        let err = CpuGroup::prepare(&dir.path().join("g").display().to_string()).unwrap_err();
        assert!(format!("{err:#}").contains("is not a cgroup"), "{err:#}");
    }
}
