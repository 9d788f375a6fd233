//! Running processes for the `local` backend: argv only, scrubbed environment, workspace
//! as cwd, stdin closed, output streamed as lines, the whole process group killable.

use std::{path::Path, process::Stdio};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    process::Command,
    sync::mpsc,
};
use tokio_util::sync::CancellationToken;

use super::{
    bounds::cgroup::SandboxCgroup,
    jail::{Jail, Occupant},
    layout::Place,
};
use crate::{
    error::{AppError, AppResult},
    exec::{ExecHandle, ExecOutput, ExecRequest, LineSplitter},
};

/// The only variables a sandboxed process gets besides the request's own.
const BASE_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// coreutils' `nice`, which starts a command at a lower priority.
const NICE: &str = "/usr/bin/nice";

/// How often a running command's sandbox is checked for an OOM kill.
const OOM_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// A sandbox's running commands (their process groups) and whether it was terminated;
/// starting a command and terminating take the same lock, so none slips past a
/// terminate.
#[derive(Default)]
pub struct Procs {
    /// Terminated: no command may start.
    pub terminated: bool,
    /// Process groups of the running commands.
    pub groups: std::collections::HashSet<i32>,
}

/// Shared [`Procs`] of one sandbox.
pub type Groups = std::sync::Arc<std::sync::Mutex<Procs>>;

/// Starts `req` in the sandbox whose directories are given and returns it with its
/// process group; `groups` loses the group again when it exits. The caller holds the lock
/// of `groups` and records the group.
pub fn spawn(
    jail: &Jail,
    sandbox_dir: &Path,
    workspace: &Path,
    home: &Path,
    place: &Place,
    req: ExecRequest,
    groups: Groups,
) -> AppResult<(ExecHandle, Option<i32>)> {
    if req.argv.is_empty() {
        return Err(AppError::bad_input("empty command"));
    }
    // A program that is not there is said as such (a run reports CLAUDE_NOT_FOUND),
    // rather than as the exit status of whatever would have started it.
    if super::jail::resolve_program(&req.argv[0]).is_none() {
        return Err(AppError::NotFound("program"));
    }
    let argv = sandboxed_argv(jail, sandbox_dir, workspace, home, place, &req.argv, req.nice)?;
    let oom = place.cgroup.clone().map(|g| (g.oom_kills(), g));
    let max_line = req.max_line_bytes;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(base_env(jail, workspace, home))
        .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(req.secret_env.iter().map(|(k, v)| (k.as_str(), v.0.as_str())))
        .current_dir(workspace)
        .stdin(if req.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        AppError::provider("the command could not be started in the sandbox", format!("spawn {:?}: {e}", req.argv[0]))
    })?;
    if let (Some(mut chunks), Some(mut stdin)) = (req.stdin, child.stdin.take()) {
        tokio::spawn(async move {
            while let Some(chunk) = chunks.recv().await {
                if stdin.write_all(&chunk).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
            // Dropping the pipe closes it: the command sees EOF.
        });
    }
    let (tx, rx) = mpsc::channel(1024);
    let cancel = CancellationToken::new();
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let pid = child.id();
    let token = cancel.clone();
    let group = pid.and_then(|p| i32::try_from(p).ok());
    tokio::spawn(async move {
        let out = pump(stdout, tx.clone(), ExecOutput::Stdout, max_line);
        let err = pump(stderr, tx.clone(), ExecOutput::Stderr, max_line);
        let both = async { tokio::join!(out, err) };
        let out_of_memory = tokio::select! {
            _ = both => false,
            _ = token.cancelled() => { kill_group(pid); false }
            _ = oom_killed(oom) => { kill_group(pid); true }
        };
        let code = match child.wait().await {
            Ok(status) => status.code(),
            Err(_) => None,
        };
        // Anything the group left behind goes too (e.g. a background job of a tool).
        kill_group(pid);
        if let Some(g) = group {
            groups.lock().unwrap_or_else(|p| p.into_inner()).groups.remove(&g);
        }
        if out_of_memory {
            let _ = tx.send(ExecOutput::OutOfMemory).await;
        }
        let _ = tx.send(ExecOutput::Exited(code)).await;
    });
    Ok((ExecHandle { output: rx, cancel }, group))
}

/// The argv that starts `argv` in the sandbox: jailed, as its uid, in its cgroups, at
/// `nice` lower priority.
pub(super) fn sandboxed_argv(
    jail: &Jail,
    sandbox_dir: &Path,
    workspace: &Path,
    home: &Path,
    place: &Place,
    argv: &[String],
    nice: i32,
) -> AppResult<Vec<String>> {
    let who = Occupant { uid: place.uid, tmp_bytes: place.resources.map(|r| r.tmp_bytes) };
    let net = place.net.as_ref().map(|n| n.path());
    let mut argv = jail.wrap(argv, sandbox_dir, workspace, home, who, net.as_deref())?;
    // Lower priority through `nice` rather than a pre-exec hook: a hook forces fork() of
    // this (large, multi-threaded) process, whose page-table copy stalls every thread,
    // where without one the standard library spawns with posix_spawn (vfork-like).
    if nice > 0 && Path::new(NICE).exists() {
        argv.splice(0..0, [NICE.to_string(), "-n".to_string(), nice.to_string()]);
    }
    // Root drops to the sandbox's uid before the jail starts, after joining its network.
    argv = jail.as_user(place.uid, argv);
    if let Some(path) = &net {
        argv = jail.in_net(path, argv);
    }
    // Into the sandbox's cgroups (or the sandboxes' idle-CPU one) before anything of the
    // sandbox runs (see `cpu_group`).
    match (&place.cgroup, jail.cpu_group()) {
        (Some(own), _) => argv = super::cpu_group::enter(&own.dirs(), argv),
        (None, Some(group)) => argv = group.wrap(argv),
        (None, None) => {}
    }
    Ok(argv)
}

/// The environment every sandboxed process starts from (nothing of the server's).
pub(super) fn base_env(jail: &Jail, workspace: &Path, home: &Path) -> Vec<(&'static str, String)> {
    let (_, inner_home) = jail.inner_paths(workspace, home);
    vec![
        ("PATH", BASE_PATH.to_string()),
        ("HOME", inner_home.display().to_string()),
        ("LANG", "C.UTF-8".to_string()),
        ("TERM", "dumb".to_string()),
        ("USER", "sandbox".to_string()),
        ("TMPDIR", "/tmp".to_string()),
    ]
}

/// Resolves when the kernel's OOM killer kills a process of the sandbox (its count past
/// `before`); never without a cgroup.
async fn oom_killed(oom: Option<(u64, SandboxCgroup)>) {
    let Some((before, group)) = oom else { return std::future::pending().await };
    loop {
        tokio::time::sleep(OOM_POLL).await;
        if group.oom_kills() > before {
            return;
        }
    }
}

async fn pump<R: AsyncRead + Unpin>(
    reader: Option<R>,
    tx: mpsc::Sender<ExecOutput>,
    wrap: fn(String) -> ExecOutput,
    max_line: usize,
) {
    let Some(mut reader) = reader else { return };
    let mut splitter = LineSplitter::new(max_line);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for line in splitter.push(&buf[..n]) {
                    if tx.send(wrap(line)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    if let Some(line) = splitter.finish() {
        let _ = tx.send(wrap(line)).await;
    }
}

/// Kills the process group led by `pid` (the command and all its descendants).
pub fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}
