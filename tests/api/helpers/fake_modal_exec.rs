//! The process side of the fake Modal: each `TaskExecStart` (and a sandbox's own
//! entrypoint when it is not `sleep infinity`) runs for real, under bubblewrap, with the
//! sandbox's volume mounts bound where it asked for them, a private /tmp and /root, and
//! only the image-like environment plus the exec's own variables. Output is kept as one byte log per descriptor, as the command
//! router serves it, so clients can resume from any byte offset.

use std::{path::Path, process::Stdio, sync::Mutex};

use tokio::{
    io::{AsyncRead, AsyncReadExt},
    process::{Child, ChildStdin, Command},
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
    /// The process's stdin until EOF.
    pub stdin: tokio::sync::Mutex<Option<ChildStdin>>,
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
) -> std::io::Result<std::sync::Arc<FakeExec>> {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut cmd = Command::new("bwrap");
    cmd.args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/mnt"]);
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
        .args(["--chdir", workdir, "--die-with-parent", "--"])
        .args(command)
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8")
        .envs(env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let (changed, _) = watch::channel(0);
    let exec = std::sync::Arc::new(FakeExec {
        output: [Mutex::new(Vec::new()), Mutex::new(Vec::new())],
        exit: Mutex::new(None),
        changed,
        stdin: tokio::sync::Mutex::new(child.stdin.take()),
        stdin_written: Mutex::new(0),
        pid: child.id(),
    });
    let out = child.stdout.take().map(|s| pump(exec.clone(), 0, s));
    let err = child.stderr.take().map(|s| pump(exec.clone(), 1, s));
    tokio::spawn(finish(exec.clone(), child, out, err));
    Ok(exec)
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
    for h in [out, err].into_iter().flatten() {
        let _ = h.await;
    }
    use std::os::unix::process::ExitStatusExt;
    let code = match status {
        Ok(s) => s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(9)),
        Err(_) => 255,
    };
    *exec.exit.lock().unwrap() = Some(code);
    exec.bump();
}
