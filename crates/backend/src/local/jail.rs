//! The bubblewrap jail of the `local` backend: a process sees only the system's read-only
//! files, its own workspace at `/mnt/workspace` and its own HOME at `/home/sandbox`, a
//! `/tmp` of its template's size, runs as its sandbox's own unprivileged uid, and dies
//! with the server.
//!
//! A server running as root drops to that uid *before* bubblewrap (`setpriv`): bubblewrap
//! started by root with `--uid` would map the sandbox's processes to host root in a user
//! namespace, and their files would be root's. Started as the uid, it makes an
//! unprivileged user namespace and the uid is the same inside and out. A root server
//! starts it in the sandbox's own network namespace, shared by the sandbox's commands
//! (`sandbox_net`: the gateway's port served by the server on its loopback); otherwise its
//! network namespace is its own and empty but for `sandboxql relay`, which forwards a
//! loopback port to the gateway's socket (and one to the egress proxy when hosts are
//! allowed). Either way nothing else is reachable.

use std::path::{Path, PathBuf};

use super::{
    cpu_group::CpuGroup,
    jail_files::{find_on_path, program_root, system_dirs, write_identity},
};

pub use super::jail_files::resolve_program;
use super::jail_net::relay_prefix;
pub use super::jail_net::{EGRESS_PORT, GATEWAY_PORT, JailNetwork};

pub use crate::config::JailMode;

/// Where the workspace appears inside the jail, matching the Modal backend's mount.
pub const JAILED_WORKSPACE: &str = "/mnt/workspace";
/// Where HOME appears inside the jail.
pub const JAILED_HOME: &str = "/home/sandbox";

/// Who a jailed command runs as and what its `/tmp` may hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct Occupant {
    /// The sandbox's own uid (None: the server's).
    pub uid: Option<u32>,
    /// Bytes of its `/tmp` (None: unsized).
    pub tmp_bytes: Option<u64>,
}

/// A resolved jail: the `bwrap` to use (None when unjailed), the uid inside, and what
/// its network reaches (None: nothing at all).
#[derive(Debug, Clone)]
pub struct Jail {
    bwrap: Option<PathBuf>,
    /// `setpriv`, to drop from root to the sandbox's uid (None: the server is not root).
    setpriv: Option<PathBuf>,
    /// `nsenter`, to join a sandbox's shared network namespace (None: not root, or
    /// missing; then each command has a namespace of its own).
    nsenter: Option<PathBuf>,
    network: Option<JailNetwork>,
    cpu_group: Option<CpuGroup>,
}

const ETC_FILES: &[&str] = &[
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/bash.bashrc",
];

impl Jail {
    /// No jail: commands run as the server's user.
    pub fn unjailed() -> Self {
        Self { bwrap: None, setpriv: None, nsenter: None, network: None, cpu_group: None }
    }

    /// This jail with its network reaching the gateway (and the egress proxy).
    pub fn with_network(mut self, network: JailNetwork) -> Self {
        self.network = Some(network);
        self
    }

    /// This jail starting every process in `group` (None: where the server is).
    pub fn with_cpu_group(mut self, group: Option<CpuGroup>) -> Self {
        self.cpu_group = group;
        self
    }

    /// The cgroup sandbox processes start in, if any.
    pub fn cpu_group(&self) -> Option<&CpuGroup> {
        self.cpu_group.as_ref()
    }

    /// Resolves the mode against this machine: probes `bwrap` once at start-up.
    pub fn probe(mode: JailMode) -> anyhow::Result<Self> {
        if mode == JailMode::Never {
            tracing::warn!(
                "--jail never: sandbox processes run unconfined, as the server's user, with the host's network"
            );
            return Ok(Self::unjailed());
        }
        let bwrap = find_on_path("bwrap");
        let works = bwrap.as_ref().is_some_and(|b| {
            let mut args: Vec<String> = ["--unshare-all", "--ro-bind", "/usr", "/usr"].map(String::from).to_vec();
            args.extend(system_dirs());
            args.extend(["--", "/usr/bin/true"].map(String::from));
            std::process::Command::new(b)
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
        if !works {
            anyhow::bail!(
                "bubblewrap (bwrap) is missing or does not work here, so sandboxes cannot be confined: \
                 install it (Debian: apt install bubblewrap) or, for development only, pass --jail never"
            );
        }
        let setpriv = match rustix::process::geteuid().is_root() {
            false => {
                tracing::warn!("the server is not root: every jailed sandbox runs as the server's own uid");
                None
            }
            true => Some(find_on_path("setpriv").ok_or_else(|| {
                anyhow::anyhow!(
                    "setpriv (util-linux) is missing: a root server needs it to run each sandbox as its own uid"
                )
            })?),
        };
        let nsenter = setpriv.as_ref().and_then(|_| find_on_path("nsenter"));
        if setpriv.is_some() && nsenter.is_none() {
            tracing::warn!(
                "nsenter (util-linux) is missing: each sandbox command gets a network of its own, \
                 so a sandbox's processes cannot reach each other's ports"
            );
        }
        Ok(Self { bwrap, setpriv, nsenter, network: None, cpu_group: None })
    }

    /// Whether a sandbox's commands share one network namespace (jailed by a root server
    /// with `nsenter`): then a process's port is reachable from its other commands.
    pub fn shares_network(&self) -> bool {
        self.bwrap.is_some() && self.setpriv.is_some() && self.nsenter.is_some()
    }

    /// What a sandbox's shared namespace serves on its loopback (None: nothing).
    pub fn network(&self) -> Option<&JailNetwork> {
        self.network.as_ref()
    }

    /// `argv` started in the network namespace at `path` (see [`Self::shares_network`]).
    pub fn in_net(&self, path: &str, argv: Vec<String>) -> Vec<String> {
        let Some(nsenter) = &self.nsenter else { return argv };
        let mut out = vec![nsenter.display().to_string(), format!("--net={path}"), "--".to_string()];
        out.extend(argv);
        out
    }

    /// Whether each sandbox gets a uid of its own (jailed by a root server).
    pub fn gives_uids(&self) -> bool {
        self.bwrap.is_some() && self.setpriv.is_some()
    }

    /// `argv` started as `uid` (its own group, no supplementary groups) when the server
    /// is root; unchanged otherwise.
    pub fn as_user(&self, uid: Option<u32>, argv: Vec<String>) -> Vec<String> {
        let (Some(setpriv), Some(uid)) = (&self.setpriv, uid) else { return argv };
        let id = uid.to_string();
        let mut out = vec![setpriv.display().to_string(), "--reuid".into(), id.clone(), "--regid".into(), id];
        out.extend(["--clear-groups".to_string(), "--".to_string()]);
        out.extend(argv);
        out
    }

    /// How many processes stand above a jailed command (bubblewrap, its pid-namespace
    /// init, the network relay of a jail with a namespace of its own): signals for the
    /// command go below them.
    pub fn wrapper_depth(&self) -> usize {
        match self.bwrap {
            Some(_) => 2 + usize::from(self.network.is_some() && !self.shares_network()),
            None => 0,
        }
    }

    /// Whether commands are jailed.
    pub fn enabled(&self) -> bool {
        self.bwrap.is_some()
    }

    /// Whether jailed commands die with the server (bubblewrap's `--die-with-parent`);
    /// without the jail a command can outlive a server killed outright.
    pub fn dies_with_server(&self) -> bool {
        self.bwrap.is_some()
    }

    /// Whether the command will run as root (then Claude needs IS_SANDBOX=1 to skip prompts).
    pub fn runs_as_root(&self) -> bool {
        match self.bwrap {
            // Inside, the uid is the sandbox's own (or the server's, mapped from non-root).
            Some(_) => false,
            None => rustix::process::geteuid().is_root(),
        }
    }

    /// The HOME and workspace paths the command sees.
    pub fn inner_paths(&self, workspace: &Path, home: &Path) -> (PathBuf, PathBuf) {
        match self.bwrap {
            Some(_) => (PathBuf::from(JAILED_WORKSPACE), PathBuf::from(JAILED_HOME)),
            None => (workspace.to_path_buf(), home.to_path_buf()),
        }
    }

    /// The full argv to run `argv` in this jail as `who` (unchanged when unjailed), in
    /// the network namespace it is started in when `shared_net` names one (the caller
    /// starts it there, see [`Self::in_net`]), else in a new one of its own.
    pub fn wrap(
        &self,
        argv: &[String],
        sandbox_dir: &Path,
        workspace: &Path,
        home: &Path,
        who: Occupant,
        shared_net: Option<&str>,
    ) -> std::io::Result<Vec<String>> {
        let Some(bwrap) = &self.bwrap else { return Ok(argv.to_vec()) };
        let uid_n = who.uid.unwrap_or_else(|| rustix::process::geteuid().as_raw());
        let uid = uid_n.to_string();
        let mut out: Vec<String> = vec![bwrap.display().to_string()];
        let mut arg = |a: &[&str]| out.extend(a.iter().map(|s| s.to_string()));
        // --unshare-all includes the network: the jail's own namespace, loopback only;
        // or the sandbox's shared one, which it was started in.
        arg(&["--die-with-parent", "--new-session", "--unshare-all"]);
        if shared_net.is_some() {
            arg(&["--share-net"]);
        }
        arg(&["--uid", &uid, "--gid", &uid, "--ro-bind", "/usr", "/usr"]);
        out.extend(system_dirs());
        let mut arg = |a: &[&str]| out.extend(a.iter().map(|s| s.to_string()));
        for f in ETC_FILES {
            arg(&["--ro-bind-try", f, f]);
        }
        let (passwd, group) = write_identity(sandbox_dir, uid_n, JAILED_HOME)?;
        arg(&["--ro-bind", &passwd, "/etc/passwd", "--ro-bind", &group, "/etc/group"]);
        arg(&["--proc", "/proc", "--dev", "/dev"]);
        // A sized tmpfs: its pages are charged to the sandbox's memory cgroup too.
        if let Some(bytes) = who.tmp_bytes {
            arg(&["--size", &bytes.to_string()]);
        }
        arg(&["--tmpfs", "/tmp"]);
        arg(&["--bind", &workspace.display().to_string(), JAILED_WORKSPACE]);
        arg(&["--bind", &home.display().to_string(), JAILED_HOME, "--chdir", JAILED_WORKSPACE]);
        let mut program = argv.first().cloned().unwrap_or_default();
        if let Some(path) = resolve_program(&program) {
            if let Some(root) = program_root(&path)
                && !root.starts_with("/usr")
            {
                let r = root.display().to_string();
                arg(&["--ro-bind", &r, &r]);
            }
            program = path.display().to_string();
        }
        match &self.network {
            Some(net) if shared_net.is_none() => out.extend(relay_prefix(net)),
            _ => out.push("--".into()),
        }
        out.push(program);
        out.extend(argv.iter().skip(1).cloned());
        Ok(out)
    }

    /// Environment that points the jailed command at the gateway (and the egress proxy).
    pub fn network_env(&self, gateway_url_outside: &str) -> Vec<(String, String)> {
        match (&self.bwrap, &self.network) {
            (Some(_), Some(net)) => {
                let mut e = vec![("ANTHROPIC_BASE_URL".into(), format!("http://127.0.0.1:{GATEWAY_PORT}"))];
                if net.egress_socket.is_some() {
                    let proxy = format!("http://127.0.0.1:{EGRESS_PORT}");
                    for k in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
                        e.push((k.into(), proxy.clone()));
                    }
                    e.push(("NO_PROXY".into(), "127.0.0.1,localhost".into()));
                }
                e
            }
            _ => vec![("ANTHROPIC_BASE_URL".into(), gateway_url_outside.to_string())],
        }
    }
}
