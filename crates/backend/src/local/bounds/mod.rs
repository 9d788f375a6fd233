//! What holds each local sandbox to its template's resources: a cgroup of its own
//! ([`cgroup`]: memory with swap off, processes, CPU weight and cap, accounting) and a
//! disk of its own ([`disk`]: a filesystem image of the template's size). What this host
//! cannot give is found once at start-up, logged, and published in `limits`; with
//! `--sandbox-bounds required` the server does not start without every bound.

pub mod cgroup;
mod cgroupfs;
pub mod disk;
mod pool;
pub mod uids;

use std::path::Path;

use self::{cgroup::Roots, disk::Disks};
use crate::config::BoundsMode;

/// The bounds this host gives its sandboxes.
#[derive(Debug, Clone, Default)]
pub struct Bounds {
    /// Per-sandbox cgroups (memory, processes, CPU), when the host has writable ones.
    pub cgroups: Option<Roots>,
    /// Per-sandbox disks, when loop devices, mkfs.ext4 and mount work.
    pub disks: Option<Disks>,
    /// What is missing and why, said at start-up and in `limits`.
    pub missing: Vec<String>,
}

/// What the host bounds, as published in `limits.sandboxBounds`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoundsReport {
    /// Memory (with swap off), processes and CPU per sandbox.
    pub cgroups: bool,
    /// A disk of its own per sandbox.
    pub disk: bool,
    /// What the host lacks, in words.
    pub missing: Vec<String>,
}

impl Bounds {
    /// None: every sandbox shares the host (`--sandbox-bounds off`, or another backend).
    pub fn off() -> Self {
        Self::default()
    }

    /// Finds what this host can bound, under `cpu_parent` (the idle-CPU group; None: no
    /// cgroup was found for it), keeping `min_free` bytes of the data dir free and
    /// `pool_depth` disks formatted ahead. `required` fails on anything missing.
    pub fn prepare(
        mode: BoundsMode,
        data_dir: &Path,
        cpu_parent: Option<&Path>,
        min_free: u64,
        pool_depth: u32,
    ) -> anyhow::Result<Self> {
        if mode == BoundsMode::Off {
            tracing::warn!("--sandbox-bounds off: sandboxes share this host's memory, processes and disk");
            return Ok(Self { missing: vec!["turned off (--sandbox-bounds off)".into()], ..Self::off() });
        }
        let mut missing = Vec::new();
        let cgroups = match cpu_parent {
            None => {
                missing.push("no writable cgroup (memory, processes and CPU are not bounded per sandbox)".to_string());
                None
            }
            Some(parent) => match Roots::detect(parent) {
                Ok(r) => Some(r),
                Err(e) => {
                    missing.push(format!("no writable cgroup ({e:#}): memory, processes and CPU are not bounded"));
                    None
                }
            },
        };
        let disks = match Disks::probe(data_dir, min_free, pool_depth) {
            Ok(d) => Some(d),
            Err(e) => {
                missing.push(format!("no per-sandbox disk ({e:#}): a sandbox can fill the data dir's filesystem"));
                None
            }
        };
        for m in &missing {
            tracing::warn!(missing = %m, "a sandbox bound is not available on this host");
        }
        if mode == BoundsMode::Required && !missing.is_empty() {
            anyhow::bail!("--sandbox-bounds required, but this host lacks: {}", missing.join("; "));
        }
        if missing.is_empty() {
            tracing::info!("each sandbox is bounded in memory, processes, CPU and disk");
        }
        Ok(Self { cgroups, disks, missing })
    }

    /// What is bounded, for `limits`.
    pub fn report(&self) -> BoundsReport {
        BoundsReport { cgroups: self.cgroups.is_some(), disk: self.disks.is_some(), missing: self.missing.clone() }
    }
}
