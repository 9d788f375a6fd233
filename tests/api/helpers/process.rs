//! The server as a separate process, as an operator runs it (for restarts, SIGKILL and
//! environment checks).

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The built binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_sandboxql");

/// A `sandboxql serve` child process, killed on drop.
pub struct Served {
    child: Child,
    /// Admin token printed at first start.
    pub token: Option<String>,
    /// `host:port` it listens on.
    pub addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address as a socket address (for websocket clients).
    pub fn socket(&self) -> std::net::SocketAddr {
        self.addr.parse().expect("host:port")
    }

    /// Sends SIGTERM and waits up to `secs` for the process to exit; its exit status.
    pub fn terminate_and_wait(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        // SAFETY: kill(2) on our own child's pid touches no memory.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills the server with SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sandboxql serve` in `dir` with extra arguments and environment; the inherited
/// environment is scrubbed of server settings first.
pub fn serve(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Served {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args).current_dir(dir);
    for k in ["DATABASE_URL", "SANDBOXQL_DATA_DIR", "CLAUDE_BIN", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"] {
        cmd.env_remove(k);
    }
    // Bounded sandboxes get disks of their own: only the tests of bounds ask for them.
    cmd.env("SANDBOXQL_SANDBOX_BOUNDS", "off");
    cmd.envs(envs.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::null());
    let child = cmd.spawn().expect("spawn sandboxql serve");
    let mut served = Served { child, token: None, addr: String::new() };
    let mut lines = BufReader::new(served.child.stdout.take().expect("stdout")).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "server did not start");
        let line = lines.next().expect("server exited").expect("read stdout");
        if let Some(t) = line.strip_prefix("admin token: ") {
            served.token = Some(t.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("sandboxql listening on http://") {
            served.addr = rest.split_whitespace().next().expect("addr").to_string();
            return served;
        }
    }
}

/// Runs a one-shot command of the binary in `dir` and returns its stdout.
pub fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("SANDBOXQL_DATA_DIR")
        .output()
        .expect("run sandboxql");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Processes on this machine whose command line contains `marker`.
pub fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = vec![];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(marker)
            && pid != std::process::id()
        {
            found.push(pid);
        }
    }
    found
}

/// Polls `cond` every 50 ms for up to `secs` seconds.
pub async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

/// Runs `serve` in a fresh directory with `args` (stderr to a file, the server's
/// settings scrubbed from the environment), makes one connection once it listens, stops
/// it, and returns what it logged.
pub fn start_up_log(args: &[&str]) -> String {
    let data = tempfile::tempdir().expect("tempdir");
    let log = data.path().join("server.log");
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).args(args).current_dir(data.path());
    for k in ["DATABASE_URL", "SANDBOXQL_DATA_DIR", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_BIN"] {
        cmd.env_remove(k);
    }
    cmd.env("SANDBOXQL_SANDBOX_BOUNDS", "off");
    let file = std::fs::File::create(&log).expect("log file");
    let mut child = cmd.env("RUST_LOG", "info").stdout(Stdio::piped()).stderr(file).spawn().expect("spawn serve");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = lines
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("sandboxql listening on http://").map(|r| r.split(' ').next().unwrap_or("").to_string())
        })
        .expect("server started");
    let _ = std::net::TcpStream::connect(&addr);
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    std::fs::read_to_string(log).expect("log")
}
