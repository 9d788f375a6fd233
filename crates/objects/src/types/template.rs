//! `SandboxTemplate` and `SandboxResources`: what a user can create and what each such
//! sandbox may use, without the backend-only details (image, environment).

use std::sync::Arc;

use async_graphql::{Object, SimpleObject};

use super::enums::Provider;
use crate::backend::template::{Resources, SandboxTemplate as Template};

/// A kind of sandbox the operator offers.
pub struct SandboxTemplate(pub Arc<Template>);

#[Object]
impl SandboxTemplate {
    /// Name to pass to `createSandbox(input: {template})`.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it offers.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// Provider it runs on.
    async fn provider(&self) -> Provider {
        self.0.provider.into()
    }
    /// What each sandbox made from it may use.
    async fn resources(&self) -> SandboxResources {
        self.0.resources.into()
    }
    /// Hard lifetime of a sandbox, in seconds.
    async fn timeout_seconds(&self) -> u32 {
        self.0.timeout_secs
    }
    /// Idle lifetime of a sandbox, in seconds.
    async fn idle_timeout_seconds(&self) -> u32 {
        self.0.idle_timeout_secs
    }
}

/// The bounds of one sandbox: past them a process sees what Linux gives (ENOMEM and the
/// OOM killer, ENOSPC, EAGAIN).
#[derive(SimpleObject, Clone, Copy)]
pub struct SandboxResources {
    /// CPU cores it is weighted for under contention.
    pub cpu: f64,
    /// Hard cap in cores, if any.
    pub cpu_max: Option<f64>,
    /// Memory (RAM and its `/tmp`), swap off.
    pub memory_bytes: u64,
    /// Disk: workspace and HOME together.
    pub disk_bytes: u64,
    /// Processes and threads at once.
    pub processes: u64,
    /// Size of its `/tmp` (counted in its memory too).
    pub tmp_bytes: u64,
}

impl From<Resources> for SandboxResources {
    fn from(r: Resources) -> Self {
        Self {
            cpu: r.cpu,
            cpu_max: r.cpu_max,
            memory_bytes: r.memory_bytes,
            disk_bytes: r.disk_bytes,
            processes: r.processes,
            tmp_bytes: r.tmp_bytes,
        }
    }
}

/// What a sandbox uses now; null where its backend cannot tell.
#[derive(SimpleObject, Clone, Copy, Default)]
pub struct SandboxUsage {
    /// Memory in use (page cache included, as the limit counts it).
    pub memory_bytes: Option<u64>,
    /// Highest memory use since it started.
    pub memory_peak_bytes: Option<u64>,
    /// CPU time used, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Bytes in use on its disk.
    pub disk_bytes: Option<u64>,
    /// Processes and threads now.
    pub processes: Option<u64>,
}

impl From<crate::backend::ResourceUsage> for SandboxUsage {
    fn from(u: crate::backend::ResourceUsage) -> Self {
        Self {
            memory_bytes: u.memory_bytes,
            memory_peak_bytes: u.memory_peak_bytes,
            cpu_seconds: u.cpu_seconds,
            disk_bytes: u.disk_bytes,
            processes: u.processes,
        }
    }
}

/// A sandbox's bounds and what it uses of them.
#[derive(SimpleObject)]
pub struct SandboxResourceState {
    /// What its template allows.
    pub limits: SandboxResources,
    /// What it uses now (null while it is not running).
    pub usage: Option<SandboxUsage>,
}
