//! Running a command inside a sandbox: argv in, lines of output and an exit code out.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Longest output line kept whole; longer lines are cut and marked, so one runaway line
/// cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// A command to run. There is no shell: `argv[0]` is the program, the rest are its
/// arguments, each passed as one element whatever characters it holds.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Environment beyond the backend's minimal base (PATH, HOME, LANG…).
    pub env: Vec<(String, String)>,
    /// Secret variables (API keys). A backend that can hold secrets itself (Modal) keeps
    /// them out of the command line and the sandbox definition; the local backend adds
    /// them to the process environment.
    pub secret_env: Vec<(String, crate::config::Secret)>,
    /// Bytes written to standard input, which is then closed; None closes it at once.
    pub stdin: Option<Vec<u8>>,
}

/// One piece of output of a running command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutput {
    /// A line of standard output, without its newline.
    Stdout(String),
    /// A line of standard error, without its newline.
    Stderr(String),
    /// The process ended: its exit code, or None when killed by a signal.
    Exited(Option<i32>),
}

/// A running command: read `output` until `Exited`; cancel with `cancel`.
pub struct ExecHandle {
    /// Output lines in arrival order, ending with `Exited`.
    pub output: mpsc::Receiver<ExecOutput>,
    /// Kills the command and everything it started.
    pub cancel: CancellationToken,
}

/// Splits a byte stream into lines of at most [`MAX_LINE_BYTES`], lossily decoded.
pub struct LineSplitter {
    buf: Vec<u8>,
    dropped: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl LineSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self { buf: Vec::new(), dropped: 0 }
    }

    /// Feeds bytes and returns the complete lines they finish.
    pub fn push(&mut self, mut data: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(pos) = data.iter().position(|&b| b == b'\n') {
            self.append(&data[..pos]);
            lines.push(self.take());
            data = &data[pos + 1..];
        }
        self.append(data);
        lines
    }

    /// The unterminated last line, if any, at end of stream.
    pub fn finish(&mut self) -> Option<String> {
        if self.buf.is_empty() && self.dropped == 0 { None } else { Some(self.take()) }
    }

    fn append(&mut self, data: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
        let keep = data.len().min(room);
        self.buf.extend_from_slice(&data[..keep]);
        self.dropped += data.len() - keep;
    }

    fn take(&mut self) -> String {
        let mut line = String::from_utf8_lossy(&self.buf).into_owned();
        if line.ends_with('\r') {
            line.pop();
        }
        if self.dropped > 0 {
            line.push_str(&format!("…[{} bytes cut]", self.dropped));
        }
        self.buf.clear();
        self.dropped = 0;
        line
    }
}
