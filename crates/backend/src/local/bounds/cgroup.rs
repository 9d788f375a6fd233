//! One cgroup per sandbox, under the server's own cgroups: memory (swap off for it, so
//! the OOM killer acts inside the sandbox only), processes, CPU weight and an optional
//! hard cap, accounting. On cgroup v1 each controller is its own hierarchy, so a sandbox
//! is a directory in each; on v2 it is one directory.
//!
//! CPU stays nested under the idle-CPU group of [`super::super::cpu_group`], so the server
//! keeps the CPU it needs whatever sandboxes ask for.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::cgroupfs::{make_dir, members, own_path, read_key, read_u64};
use crate::{ResourceUsage, template::Resources};

/// The name of the directory holding the sandboxes' cgroups in each hierarchy.
const GROUP: &str = "sandboxql-sandboxes";
/// CFS period the hard CPU cap is expressed in (the kernel's default, 100 ms).
const CFS_PERIOD_US: u64 = 100_000;
/// `cpu.shares` of one core (v1's default weight).
const SHARES_PER_CPU: f64 = 1024.0;
/// `cpu.weight` of one core (v2's default weight).
const WEIGHT_PER_CPU: f64 = 100.0;

/// Where sandbox cgroups are made on this host.
#[derive(Debug, Clone)]
pub enum Roots {
    /// cgroup v1: the parent directory in each hierarchy (CPU under the idle group).
    V1 {
        /// `memory` hierarchy.
        memory: PathBuf,
        /// `pids` hierarchy.
        pids: PathBuf,
        /// `cpu` hierarchy: the idle-CPU group.
        cpu: PathBuf,
        /// `cpuacct` hierarchy, when mounted apart from `cpu`.
        cpuacct: Option<PathBuf>,
        /// The v2 tree mounted beside (hybrid hosts): its `cgroup.kill` ends a sandbox at once.
        unified: Option<PathBuf>,
    },
    /// cgroup v2: the parent directory (with memory, pids and cpu delegated to children).
    V2(PathBuf),
}

/// The cgroup directories of one sandbox.
#[derive(Debug, Clone)]
pub struct SandboxCgroup {
    roots: Roots,
    id: String,
}

impl Roots {
    /// Finds writable cgroups under this process's own ones, with `cpu_parent` as the
    /// idle-CPU group (v1) or the v2 parent; why not, when the host has none.
    pub fn detect(cpu_parent: &Path) -> anyhow::Result<Self> {
        let own = std::fs::read_to_string("/proc/self/cgroup").context("reading /proc/self/cgroup")?;
        let base = Path::new("/sys/fs/cgroup");
        if base.join("memory").join("memory.limit_in_bytes").exists() {
            let path_of = |controller: &str| -> anyhow::Result<PathBuf> {
                let rel =
                    own_path(&own, controller).with_context(|| format!("no {controller} cgroup of this process"))?;
                let dir = base.join(controller).join(rel.trim_start_matches('/')).join(GROUP);
                make_dir(&dir)?;
                Ok(dir)
            };
            let memory = path_of("memory")?;
            // The kernel charges children to parents only with hierarchy on (the default).
            let _ = std::fs::write(memory.join("memory.use_hierarchy"), "1");
            let pids = path_of("pids")?;
            let cpuacct =
                if base.join("cpuacct").join("cpuacct.usage").exists() { path_of("cpuacct").ok() } else { None };
            let unified = own_path(&own, "").and_then(|rel| {
                let dir = base.join("unified").join(rel.trim_start_matches('/')).join(GROUP);
                make_dir(&dir).ok().map(|_| dir)
            });
            return Ok(Roots::V1 { memory, pids, cpu: cpu_parent.to_path_buf(), cpuacct, unified });
        }
        let controllers = std::fs::read_to_string(cpu_parent.join("cgroup.subtree_control")).unwrap_or_default();
        for c in ["memory", "pids", "cpu"] {
            if !controllers.split_whitespace().any(|x| x == c) {
                std::fs::write(cpu_parent.join("cgroup.subtree_control"), format!("+{c}"))
                    .with_context(|| format!("delegating the {c} controller in {}", cpu_parent.display()))?;
            }
        }
        Ok(Roots::V2(cpu_parent.to_path_buf()))
    }

    /// The cgroup of sandbox `id` (made by [`SandboxCgroup::create`]).
    pub fn of(&self, id: &str) -> SandboxCgroup {
        SandboxCgroup { roots: self.clone(), id: id.to_string() }
    }
}

impl SandboxCgroup {
    /// Every directory of this sandbox's cgroup (a process enters by writing each one's
    /// `cgroup.procs`).
    pub fn dirs(&self) -> Vec<PathBuf> {
        match &self.roots {
            Roots::V1 { memory, pids, cpu, cpuacct, unified } => {
                let mut d = vec![memory.join(&self.id), pids.join(&self.id), cpu.join(&self.id)];
                d.extend(cpuacct.iter().chain(unified.iter()).map(|p| p.join(&self.id)));
                d
            }
            Roots::V2(root) => vec![root.join(&self.id)],
        }
    }

    /// Makes the directories (again, after a reboot) and sets `r` as their limits.
    pub fn create(&self, r: &Resources) -> anyhow::Result<()> {
        for d in self.dirs() {
            make_dir(&d)?;
        }
        let set = |dir: PathBuf, file: &str, value: String| {
            std::fs::write(dir.join(file), &value)
                .with_context(|| format!("setting {file}={value} in {}", dir.display()))
        };
        let weight = r.cpu.max(0.01);
        match &self.roots {
            Roots::V1 { memory, pids, cpu, .. } => {
                let m = memory.join(&self.id);
                set(m.clone(), "memory.limit_in_bytes", r.memory_bytes.to_string())?;
                // Memory + swap at the same figure: none of it may go to swap.
                if m.join("memory.memsw.limit_in_bytes").exists() {
                    set(m.clone(), "memory.memsw.limit_in_bytes", r.memory_bytes.to_string())?;
                }
                let _ = set(m, "memory.swappiness", "0".into());
                set(pids.join(&self.id), "pids.max", r.processes.to_string())?;
                let c = cpu.join(&self.id);
                set(c.clone(), "cpu.shares", ((weight * SHARES_PER_CPU) as u64).max(2).to_string())?;
                let quota = r.cpu_max.map(|m| ((m * CFS_PERIOD_US as f64) as u64).max(1000).to_string());
                set(c.clone(), "cpu.cfs_period_us", CFS_PERIOD_US.to_string())?;
                set(c, "cpu.cfs_quota_us", quota.unwrap_or_else(|| "-1".into()))?;
            }
            Roots::V2(root) => {
                let g = root.join(&self.id);
                set(g.clone(), "memory.max", r.memory_bytes.to_string())?;
                let _ = set(g.clone(), "memory.swap.max", "0".into());
                set(g.clone(), "memory.oom.group", "1".into())?;
                set(g.clone(), "pids.max", r.processes.to_string())?;
                set(g.clone(), "cpu.weight", ((weight * WEIGHT_PER_CPU) as u64).clamp(1, 10_000).to_string())?;
                let quota = r.cpu_max.map(|m| ((m * CFS_PERIOD_US as f64) as u64).max(1000).to_string());
                set(g, "cpu.max", format!("{} {CFS_PERIOD_US}", quota.unwrap_or_else(|| "max".into())))?;
            }
        }
        Ok(())
    }

    /// Whether the cgroup exists (it does not after a reboot).
    pub fn exists(&self) -> bool {
        self.dirs().first().is_some_and(|d| d.exists())
    }

    /// How many times the kernel's OOM killer killed a process of this sandbox.
    pub fn oom_kills(&self) -> u64 {
        let (file, key) = match &self.roots {
            Roots::V1 { memory, .. } => (memory.join(&self.id).join("memory.oom_control"), "oom_kill"),
            Roots::V2(root) => (root.join(&self.id).join("memory.events"), "oom_kill"),
        };
        read_key(&file, key).unwrap_or(0)
    }

    /// The file whose figures [`Self::oom_kills`] reads.
    pub fn memory_dir(&self) -> PathBuf {
        self.dirs().swap_remove(0)
    }

    /// Kills every process of the sandbox, however many it forks meanwhile.
    pub fn kill_all(&self) {
        let dirs = self.dirs();
        if let Some(u) = dirs.iter().find(|d| d.join("cgroup.kill").exists()) {
            let _ = std::fs::write(u.join("cgroup.kill"), "1");
        }
        // cgroup v1 alone has no kill: signal every member until none is left. A fork
        // bomb cannot outrun it for long, its pids limit holds it.
        for _ in 0..1000 {
            let pids = members(&dirs[0]);
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                // SAFETY: kill(2) only signals; no memory is touched.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Kills what is left and removes the directories.
    pub fn remove(&self) -> anyhow::Result<()> {
        self.kill_all();
        for d in self.dirs() {
            // A killed process leaves its cgroup when it is reaped: give it a moment.
            let mut tries = 0;
            loop {
                match std::fs::remove_dir(&d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if tries < 200 => {
                        let _ = e;
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(e) => return Err(e).with_context(|| format!("removing cgroup {}", d.display())),
                }
            }
        }
        Ok(())
    }

    /// What the sandbox uses now: memory, its peak, CPU seconds, processes (its disk is
    /// the disk's to say).
    pub fn usage(&self) -> ResourceUsage {
        match &self.roots {
            Roots::V1 { memory, pids, cpu, cpuacct, .. } => {
                let m = memory.join(&self.id);
                let acct = cpuacct.as_ref().unwrap_or(cpu).join(&self.id);
                ResourceUsage {
                    memory_bytes: read_u64(&m.join("memory.usage_in_bytes")),
                    memory_peak_bytes: read_u64(&m.join("memory.max_usage_in_bytes")),
                    cpu_seconds: read_u64(&acct.join("cpuacct.usage")).map(|ns| ns as f64 / 1e9),
                    processes: read_u64(&pids.join(&self.id).join("pids.current")),
                    disk_bytes: None,
                }
            }
            Roots::V2(root) => {
                let g = root.join(&self.id);
                ResourceUsage {
                    memory_bytes: read_u64(&g.join("memory.current")),
                    memory_peak_bytes: read_u64(&g.join("memory.peak")),
                    cpu_seconds: read_key(&g.join("cpu.stat"), "usage_usec").map(|us| us as f64 / 1e6),
                    processes: read_u64(&g.join("pids.current")),
                    disk_bytes: None,
                }
            }
        }
    }
}
