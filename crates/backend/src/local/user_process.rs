//! Starting a user's process in a local sandbox: the same jail, uid, cgroups and
//! network as Claude's commands, with a terminal (a pty whose slave becomes the
//! program's controlling terminal, through util-linux `setsid --ctty` inside the jail) or
//! with stdout and stderr merged into one pipe. One task owns it: it reads output, writes
//! input, resizes, signals the tree, and reports the exit.

use std::{os::fd::OwnedFd, path::Path, process::Stdio};

use rustix::{io::Errno, termios::Winsize};
use tokio::{io::unix::AsyncFd, process::Command, sync::mpsc};

use super::{exec, jail::Jail, layout::Place, tree};
use crate::{
    error::{AppError, AppResult},
    process::{ProcessControl, ProcessExit, ProcessHandle, ProcessRequest, TtySize},
};

/// Bytes read from a process at a time.
const READ_CHUNK: usize = 64 * 1024;

/// The directories of the sandbox a process starts in.
pub struct Dirs<'a> {
    /// The sandbox's own directory.
    pub sandbox: &'a Path,
    /// Its workspace.
    pub workspace: &'a Path,
    /// Its HOME.
    pub home: &'a Path,
}

fn fail(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::provider("the process could not be started in the sandbox", format!("{what}: {e}"))
}

fn winsize(s: TtySize) -> Winsize {
    Winsize { ws_row: s.rows, ws_col: s.cols, ws_xpixel: 0, ws_ypixel: 0 }
}

/// A pty: (master, slave), sized.
fn open_pty(size: TtySize) -> AppResult<(OwnedFd, OwnedFd)> {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master =
        openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).map_err(|e| fail("openpt", e))?;
    grantpt(&master).map_err(|e| fail("grantpt", e))?;
    unlockpt(&master).map_err(|e| fail("unlockpt", e))?;
    let name = ptsname(&master, Vec::new()).map_err(|e| fail("ptsname", e))?;
    let flags = rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC;
    let slave = rustix::fs::open(name.as_c_str(), flags, rustix::fs::Mode::empty()).map_err(|e| fail("open pts", e))?;
    rustix::termios::tcsetwinsize(&master, winsize(size)).map_err(|e| fail("winsize", e))?;
    Ok((master, slave))
}

/// Starts `req`; returns its handle and the pid of its outermost process (for the
/// sandbox's kill-all).
pub fn start(jail: &Jail, dirs: Dirs<'_>, place: &Place, req: ProcessRequest) -> AppResult<(ProcessHandle, i32)> {
    if req.argv.is_empty() {
        return Err(AppError::bad_input("empty command"));
    }
    if super::jail::resolve_program(&req.argv[0]).is_none() {
        return Err(AppError::NotFound("program"));
    }
    let (inner_ws, _) = jail.inner_paths(dirs.workspace, dirs.home);
    let cwd = req.cwd.components().fold(inner_ws, |p, c| p.join(c));
    // `env -C` enters the directory inside the jail (it is checked there, as the
    // sandbox's uid); `setsid --ctty` makes the pty the program's terminal.
    let mut argv = vec!["env".to_string(), "-C".to_string(), cwd.display().to_string()];
    if req.tty.is_some() {
        argv.extend(["setsid", "--ctty", "--wait"].map(String::from));
    }
    argv.extend(req.argv.iter().cloned());
    let argv = exec::sandboxed_argv(jail, dirs.sandbox, dirs.workspace, dirs.home, place, &argv, req.nice)?;
    let (reader, out, err, inp, master) = match req.tty {
        Some(size) => {
            let (master, slave) = open_pty(size)?;
            let dup = |f: &OwnedFd| f.try_clone().map_err(|e| fail("dup", e));
            let (a, b) = (dup(&slave)?, dup(&slave)?);
            (dup(&master)?, Stdio::from(a), Stdio::from(b), Stdio::from(slave), Some(master))
        }
        None => {
            let (r, w) = std::io::pipe().map_err(|e| fail("pipe", e))?;
            let w2 = w.try_clone().map_err(|e| fail("dup", e))?;
            (OwnedFd::from(r), Stdio::from(w), Stdio::from(w2), Stdio::null(), None)
        }
    };
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env_clear()
        .envs(exec::base_env(jail, dirs.workspace, dirs.home))
        .env("TERM", if req.tty.is_some() { "xterm-256color" } else { "dumb" })
        .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(dirs.workspace)
        .stdin(inp)
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| fail(&format!("spawn {:?}", req.argv[0]), e))?;
    // The parent's copies of the slave / pipe writer are gone with `cmd`: EOF (or EIO on
    // a pty) comes when the last process holding them ends.
    drop(cmd);
    let pid = child.id().and_then(|p| i32::try_from(p).ok()).ok_or_else(|| fail("spawn", "no pid"))?;
    rustix::io::ioctl_fionbio(&reader, true).map_err(|e| fail("nonblocking", e))?;
    // SAFETY: the OwnedFd moves into the AsyncFd, which owns it (open, the same file)
    // until it is dropped.
    let reader = unsafe { AsyncFd::register(reader) }.map_err(|_| fail("register", "epoll"))?;
    let (out_tx, output) = mpsc::channel(64);
    let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(64);
    let (control, ctl_rx) = mpsc::channel(16);
    let (exit_tx, exit) = tokio::sync::oneshot::channel();
    let skip = jail.wrapper_depth();
    let has_tty = master.is_some();
    tokio::spawn(async move {
        let code = own(child, pid, skip, reader, master, out_tx, in_rx, ctl_rx).await;
        let _ = exit_tx.send(ProcessExit { code });
    });
    Ok((ProcessHandle { output, input: has_tty.then_some(in_tx), control, exit }, pid))
}

/// Reads output until the process and its terminal are gone, serving input and control
/// meanwhile; then the exit code.
#[allow(clippy::too_many_arguments)]
async fn own(
    mut child: tokio::process::Child,
    pid: i32,
    skip: usize,
    reader: AsyncFd<OwnedFd>,
    master: Option<OwnedFd>,
    out: mpsc::Sender<Vec<u8>>,
    mut input: mpsc::Receiver<Vec<u8>>,
    mut control: mpsc::Receiver<ProcessControl>,
) -> Option<i32> {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut input_open = true;
    loop {
        tokio::select! {
            ready = reader.readable() => {
                let Ok(mut guard) = ready else { break };
                match guard.try_io(|fd| rustix::io::read(fd.get_ref(), &mut buf[..]).map_err(std::io::Error::from)) {
                    Ok(Ok(0)) => break,
                    Ok(Ok(n)) => {
                        if out.send(buf[..n].to_vec()).await.is_err() {
                            break;
                        }
                    }
                    // EIO: the pty's last slave is closed (the program ended).
                    Ok(Err(e)) if e.raw_os_error() == Some(Errno::IO.raw_os_error()) => break,
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Ok(Err(_)) => break,
                    Err(_would_block) => {}
                }
            }
            bytes = input.recv(), if input_open => match bytes {
                Some(bytes) => write_all(&reader, &bytes).await,
                None => input_open = false,
            },
            Some(c) = control.recv() => match c {
                ProcessControl::Resize(size) => {
                    if let Some(m) = &master {
                        let _ = rustix::termios::tcsetwinsize(m, winsize(size));
                    }
                }
                ProcessControl::Signal(libc::SIGKILL) => super::exec::kill_group(u32::try_from(pid).ok()),
                ProcessControl::Signal(sig) => {
                    tree::signal_below(pid, skip, sig);
                }
            },
        }
    }
    let code = child.wait().await.ok().and_then(|s| s.code());
    // Whatever it left behind (an unjailed background job) goes too.
    super::exec::kill_group(u32::try_from(pid).ok());
    code
}

/// Writes `bytes` to the pty master (the program's input), waiting while it is full.
async fn write_all(fd: &AsyncFd<OwnedFd>, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let Ok(mut guard) = fd.writable().await else { return };
        match guard.try_io(|fd| rustix::io::write(fd.get_ref(), bytes).map_err(std::io::Error::from)) {
            Ok(Ok(n)) => bytes = &bytes[n..],
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Ok(Err(_)) => return,
            Err(_would_block) => {}
        }
    }
}
