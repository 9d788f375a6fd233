//! The bubblewrap jail of the `local` backend: a process sees only the system's read-only
//! files, its own workspace at `/mnt/workspace` and its own HOME at `/home/sandbox`, runs
//! as an unprivileged uid, and dies with the server.

use std::path::{Path, PathBuf};

pub use crate::config::JailMode;

/// Where the workspace appears inside the jail, matching the Modal backend's mount.
pub const JAILED_WORKSPACE: &str = "/mnt/workspace";
/// Where HOME appears inside the jail.
pub const JAILED_HOME: &str = "/home/sandbox";

/// A resolved jail: the `bwrap` to use (None when unjailed) and the uid inside.
#[derive(Debug, Clone)]
pub struct Jail {
    bwrap: Option<PathBuf>,
    uid: u32,
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
        Self { bwrap: None, uid: 0 }
    }

    /// Resolves the mode against this machine: probes `bwrap` once at start-up.
    pub fn probe(mode: JailMode, uid: u32) -> anyhow::Result<Self> {
        if mode == JailMode::Never {
            return Ok(Self { bwrap: None, uid });
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
        match (works, mode) {
            (true, _) => Ok(Self { bwrap, uid }),
            (false, JailMode::Always) => {
                anyhow::bail!("--jail always, but bubblewrap (bwrap) is missing or does not work here")
            }
            (false, _) => {
                tracing::warn!("bubblewrap (bwrap) not usable: sandbox commands run unjailed as the server's user");
                Ok(Self { bwrap: None, uid })
            }
        }
    }

    /// Whether commands are jailed.
    pub fn enabled(&self) -> bool {
        self.bwrap.is_some()
    }

    /// Whether the command will run as root (then Claude needs IS_SANDBOX=1 to skip prompts).
    pub fn runs_as_root(&self) -> bool {
        match self.bwrap {
            Some(_) => self.uid == 0,
            // SAFETY: geteuid has no preconditions and cannot fail.
            None => (unsafe { libc::geteuid() }) == 0,
        }
    }

    /// The HOME and workspace paths the command sees.
    pub fn inner_paths(&self, workspace: &Path, home: &Path) -> (PathBuf, PathBuf) {
        match self.bwrap {
            Some(_) => (PathBuf::from(JAILED_WORKSPACE), PathBuf::from(JAILED_HOME)),
            None => (workspace.to_path_buf(), home.to_path_buf()),
        }
    }

    /// The full argv to run `argv` in this jail (unchanged when unjailed).
    pub fn wrap(
        &self,
        argv: &[String],
        sandbox_dir: &Path,
        workspace: &Path,
        home: &Path,
    ) -> std::io::Result<Vec<String>> {
        let Some(bwrap) = &self.bwrap else { return Ok(argv.to_vec()) };
        let uid = self.uid.to_string();
        let mut out: Vec<String> = vec![bwrap.display().to_string()];
        let mut arg = |a: &[&str]| out.extend(a.iter().map(|s| s.to_string()));
        arg(&["--die-with-parent", "--new-session", "--unshare-all", "--share-net"]);
        arg(&["--uid", &uid, "--gid", &uid, "--ro-bind", "/usr", "/usr"]);
        out.extend(system_dirs());
        let mut arg = |a: &[&str]| out.extend(a.iter().map(|s| s.to_string()));
        for f in ETC_FILES {
            arg(&["--ro-bind-try", f, f]);
        }
        let (passwd, group) = write_identity(sandbox_dir, self.uid)?;
        arg(&["--ro-bind", &passwd, "/etc/passwd", "--ro-bind", &group, "/etc/group"]);
        arg(&["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
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
        arg(&["--", &program]);
        out.extend(argv.iter().skip(1).cloned());
        Ok(out)
    }
}

/// `/bin`, `/lib`… as on the host: symlinks into `/usr` on merged-usr systems, read-only
/// binds otherwise.
fn system_dirs() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["bin", "lib", "lib32", "lib64", "sbin"] {
        let host = format!("/{dir}");
        match std::fs::read_link(&host) {
            Ok(target) => out.extend(["--symlink".to_string(), target.display().to_string(), host]),
            Err(_) => out.extend(["--ro-bind-try".to_string(), host.clone(), host]),
        }
    }
    out
}

/// A passwd and group file naming the jail's uid, so tools that look the user up work.
fn write_identity(sandbox_dir: &Path, uid: u32) -> std::io::Result<(String, String)> {
    let passwd = sandbox_dir.join("passwd");
    let group = sandbox_dir.join("group");
    std::fs::write(
        &passwd,
        format!("root:x:0:0:root:/root:/bin/sh\nsandbox:x:{uid}:{uid}:sandbox:{JAILED_HOME}:/bin/bash\n"),
    )?;
    std::fs::write(&group, format!("root:x:0:\nsandbox:x:{uid}:\n"))?;
    Ok((passwd.display().to_string(), group.display().to_string()))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// The program as an absolute, canonical path (symlinks resolved), if it can be found.
fn resolve_program(program: &str) -> Option<PathBuf> {
    let p = if program.contains('/') { PathBuf::from(program) } else { find_on_path(program)? };
    std::fs::canonicalize(p).ok()
}

/// The directory to expose so the program and its files are visible: its `node_modules`
/// for npm packages, otherwise its own directory.
fn program_root(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "node_modules"))
        .or(path.parent())
        .map(Path::to_path_buf)
}
