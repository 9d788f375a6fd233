//! Settings of the sandboxes themselves: what they are made from (templates, the Claude
//! Code version of the built-in one), how the local backend confines them (jail, uids,
//! cgroups) and how it bounds them (memory, processes, CPU, disk, the server's reserve).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// How sandboxes are made and confined.
#[derive(Debug, Clone, Args)]
pub struct SandboxConfig {
    /// The operator's templates (TOML, `[[templates]]`); without it the built-in
    /// `claude-code` template is the only one.
    #[arg(long, env = "SANDBOXQL_TEMPLATES")]
    pub templates: Option<PathBuf>,
    /// The Claude Code version the built-in template installs on Modal.
    #[arg(long, env = "SANDBOXQL_CLAUDE_CODE_VERSION", default_value = "2.1.332")]
    pub claude_code_version: String,
    /// Jail local sandbox processes with bubblewrap.
    #[arg(long, env = "SANDBOXQL_JAIL", value_enum, default_value = "auto")]
    pub jail: JailMode,
    /// First uid of the range jailed sandboxes run as, one uid each: far above login
    /// users and the ranges of `/etc/subuid`, so no host user and no other sandbox has it.
    #[arg(long, env = "SANDBOXQL_JAIL_UID_BASE", default_value_t = 700_000_000)]
    pub jail_uid_base: u32,
    /// How many uids the range holds: sandboxes at once on this host's data dir.
    #[arg(long, env = "SANDBOXQL_JAIL_UID_COUNT", default_value_t = 1_000_000)]
    pub jail_uid_count: u32,
    /// The cgroup sandbox processes are nested under, with the least CPU claim
    /// (`cpu.idle`): `auto` (under the server's own cgroups: v1 hierarchies or v2, when
    /// writable), `off`, or a cgroup directory of the v1 `cpu` hierarchy the server may
    /// write. Without one, a kernel with `sched_autogroup` gives every sandbox session as
    /// much CPU as the whole server.
    #[arg(long, env = "SANDBOXQL_SANDBOX_CGROUP", default_value = "auto")]
    pub sandbox_cgroup: String,
    /// Whether each local sandbox is held to its template's memory, processes, CPU and
    /// disk: `auto` (what the host allows, the rest said at start-up and in `limits`),
    /// `required` (refuse to start without all of them) or `off`.
    #[arg(long, env = "SANDBOXQL_SANDBOX_BOUNDS", value_enum, default_value = "auto")]
    pub sandbox_bounds: BoundsMode,
    /// Free space the data dir's filesystem keeps for the database and the blob store: a
    /// sandbox disk that would go below it is not made (`"2 GiB"`, or bytes).
    #[arg(long, env = "SANDBOXQL_MIN_FREE_DISK", default_value = "2 GiB")]
    pub min_free_disk: String,
    /// Sandbox disks kept formatted ahead, per disk size of the templates, so creating a
    /// sandbox does not wait for `mkfs` (each is allocated in full on the data dir).
    #[arg(long, env = "SANDBOXQL_DISK_POOL", default_value_t = 1)]
    pub disk_pool: u32,
}

/// Whether the local backend bounds its sandboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BoundsMode {
    /// Every bound the host allows; those it does not are said at start-up.
    Auto,
    /// Every bound, or the server does not start.
    Required,
    /// None (sandboxes share the host's memory, processes and disk).
    Off,
}

/// Whether commands of the local backend run in a bubblewrap jail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JailMode {
    /// Jail when `bwrap` is installed and works; refuse to start otherwise.
    Auto,
    /// Always jail; refuse to start if `bwrap` does not work.
    Always,
    /// Never jail (development only: processes see the host and its network as the
    /// server's user; the server warns at start).
    Never,
}
