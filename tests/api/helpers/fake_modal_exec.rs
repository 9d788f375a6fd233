//! The process side of the fake Modal: each `TaskExecStart` (and a sandbox's own
//! entrypoint when it is not `sleep infinity`) runs for real, under bubblewrap, with the
//! sandbox's volume mounts bound where it asked for them, a private /tmp and /root, and
//! only the image-like environment plus the exec's own variables. Output is kept as one byte log per descriptor, as the command
//! router serves it, so clients can resume from any byte offset.

use std::{path::Path, process::Stdio, sync::Mutex, time::Duration};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite},
    process::{Child, Command},
    sync::watch,
};

/// One running or finished command.
pub struct FakeExec {
    /// Everything stdout and stderr (index 0 and 1) produced so far.
    pub output: [Mutex<Vec<u8>>; 2],
    /// Exit code once the process ended and all output was read.
    pub exit: Mutex<Option<i32>>,
    /// Bumped on every change, so streams can wait for news.
    pub changed: watch::Sender<u64>,
    /// The process's stdin until EOF (on a terminal: its master, kept past EOF).
    pub stdin: tokio::sync::Mutex<Option<Box<dyn AsyncWrite + Send + Unpin>>>,
    /// Whether it runs on a terminal (`pty_info`): all output is on stdout.
    pub pty: bool,
    /// Stdin bytes accepted so far (the offset the next write must start at).
    pub stdin_written: Mutex<u64>,
    /// Host pid, to kill it on terminate.
    pub pid: Option<u32>,
}

impl FakeExec {
    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }
}

/// Starts `command` for a sandbox whose own files live in `dir`, with `mounts` (host
/// directory, path) bound.
pub fn spawn(
    dir: &Path,
    mounts: &[(std::path::PathBuf, String)],
    command: &[String],
    workdir: &str,
    env: Vec<(String, String)>,
    pty: Option<(u16, u16)>,
) -> std::io::Result<std::sync::Arc<FakeExec>> {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut cmd = Command::new("bwrap");
    cmd.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/mnt"]);
    // One container's execs share its terminals (a resize is an exec on another's pty).
    cmd.args(["--dev-bind", "/dev/pts", "/dev/pts"]);
    for (host, path) in mounts {
        cmd.arg("--bind").arg(host).arg(path);
    }
    cmd.arg("--bind")
        .arg(dir.join("tmp"))
        .arg("/tmp")
        .arg("--bind")
        .arg(dir.join("root"))
        .arg("/root")
        // The stand-in claude stays reachable even when the checkout is under /tmp.
        .arg("--ro-bind")
        .arg(fixtures)
        .arg(fixtures)
        .args(["--chdir", workdir, "--die-with-parent", "--"]);
    // On a terminal the command leads a session whose controlling terminal it is, as
    // Modal starts a `pty=True` exec.
    if pty.is_some() {
        cmd.args(["setsid", "--ctty", "--wait"]);
    }
    cmd.args(command)
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .envs(env)
        .kill_on_drop(true);
    let (changed, _) = watch::channel(0);
    let Some((rows, cols)) = pty else {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn()?;
        let stdin = child.stdin.take().map(|s| Box::new(s) as Box<dyn AsyncWrite + Send + Unpin>);
        let exec = std::sync::Arc::new(FakeExec {
            output: [Mutex::new(Vec::new()), Mutex::new(Vec::new())],
            exit: Mutex::new(None),
            changed,
            stdin: tokio::sync::Mutex::new(stdin),
            pty: false,
            stdin_written: Mutex::new(0),
            pid: child.id(),
        });
        let out = child.stdout.take().map(|s| pump(exec.clone(), 0, s));
        let err = child.stderr.take().map(|s| pump(exec.clone(), 1, s));
        tokio::spawn(finish(exec.clone(), child, out, err));
        return Ok(exec);
    };
    let (master, slave) = open_pty(if rows == 0 { 24 } else { rows }, if cols == 0 { 80 } else { cols })?;
    cmd.stdin(Stdio::from(slave.try_clone()?)).stdout(Stdio::from(slave.try_clone()?)).stderr(Stdio::from(slave));
    let child = cmd.spawn()?;
    let writer = tokio::fs::File::from_std(std::fs::File::from(master.try_clone()?));
    let exec = std::sync::Arc::new(FakeExec {
        output: [Mutex::new(Vec::new()), Mutex::new(Vec::new())],
        exit: Mutex::new(None),
        changed,
        stdin: tokio::sync::Mutex::new(Some(Box::new(writer))),
        pty: true,
        stdin_written: Mutex::new(0),
        pid: child.id(),
    });
    let out = pump(exec.clone(), 0, tokio::fs::File::from_std(std::fs::File::from(master)));
    tokio::spawn(finish(exec.clone(), child, Some(out), None));
    Ok(exec)
}

/// A pty of `rows` × `cols`: (master, slave).
fn open_pty(rows: u16, cols: u16) -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY,
        rustix::fs::Mode::empty(),
    )?;
    let size = rustix::termios::Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    rustix::termios::tcsetwinsize(&slave, size)?;
    Ok((master, slave))
}

fn pump(
    exec: std::sync::Arc<FakeExec>,
    fd: usize,
    mut r: impl AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 {
                break;
            }
            exec.output[fd].lock().unwrap().extend_from_slice(&buf[..n]);
            exec.bump();
        }
    })
}

async fn finish(
    exec: std::sync::Arc<FakeExec>,
    mut child: Child,
    out: Option<tokio::task::JoinHandle<()>>,
    err: Option<tokio::task::JoinHandle<()>>,
) {
    let status = child.wait().await;
    // A terminal's output ends when nothing holds its slave any more; a background job
    // that does must not hold the exit back for ever.
    let grace = if exec.pty { Duration::from_secs(2) } else { Duration::MAX };
    for h in [out, err].into_iter().flatten() {
        let _ = tokio::time::timeout(grace, h).await;
    }
    use std::os::unix::process::ExitStatusExt;
    let code = match status {
        Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(9)),
        Err(_) => 255,
    };
    *exec.exit.lock().unwrap() = Some(code);
    exec.bump();
}
