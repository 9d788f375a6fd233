//! Running a command inside a sandbox: argv in, lines of output and an exit code out.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A command to run. There is no shell: `argv[0]` is the program, the rest are its
/// arguments, each passed as one element whatever characters it holds.
#[derive(Debug)]
pub struct ExecRequest {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Environment beyond the backend's minimal base (PATH, HOME, LANG…).
    pub env: Vec<(String, String)>,
    /// Secret variables (API keys). A backend that can hold secrets itself (Modal) keeps
    /// them out of the command line and the sandbox definition; the local backend adds
    /// them to the process environment.
    pub secret_env: Vec<(String, crate::config::Secret)>,
    /// Chunks written to standard input as they arrive; it closes when the sender is
    /// dropped. None closes it at once.
    pub stdin: Option<mpsc::Receiver<Vec<u8>>>,
    /// Longest output line kept whole; longer lines are cut and marked, so one runaway
    /// line cannot exhaust memory.
    pub max_line_bytes: usize,
    /// How much lower the command's scheduling priority is than the server's (a nice
    /// value; backends that share the server's CPU apply it).
    pub nice: i32,
    /// The input is a conversation with the command (Claude's stream-json lines) that
    /// stays open while the server talks to it, perhaps for long between lines (a warm or
    /// kept Claude). The local backend's commands die with the server; backends whose
    /// commands outlive it (Modal) close such an input once the server is gone (its
    /// heartbeats stop), so no command waits on for a server that will never write.
    pub conversation: bool,
}

/// One piece of output of a running command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExecOutput {
    /// A line of standard output, without its newline.
    Stdout(String),
    /// A line of standard error, without its newline.
    Stderr(String),
    /// The sandbox ran out of memory while the command ran: the kernel killed a process
    /// of it, and the command was stopped with everything it started. `Exited` follows.
    OutOfMemory,
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

/// Splits a byte stream into lines of at most `max` bytes, lossily decoded.
pub struct LineSplitter {
    buf: Vec<u8>,
    dropped: usize,
    max: usize,
}

impl LineSplitter {
    /// An empty splitter keeping at most `max` bytes of a line.
    pub fn new(max: usize) -> Self {
        Self { buf: Vec::new(), dropped: 0, max }
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
        let room = self.max.saturating_sub(self.buf.len());
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

#[cfg(test)]
mod tests {
    use super::LineSplitter;

    #[test]
    fn long_lines_are_cut_not_buffered_forever() {
        let mut s = LineSplitter::new(1000);
        assert!(s.push(&[b'x'; 1010]).is_empty());
        let lines = s.push(b"tail\nnext");
        assert_eq!(lines.len(), 1);
        assert!(lines[0].len() < 1100 && lines[0].ends_with("[14 bytes cut]"));
        assert_eq!(s.finish().as_deref(), Some("next"));
    }

    #[test]
    fn lines_split_across_chunks_are_joined() {
        let mut s = LineSplitter::new(100);
        assert!(s.push(b"hel").is_empty());
        assert_eq!(s.push(b"lo\r\nwor"), vec!["hello"]);
        assert_eq!(s.push(b"ld\n\n"), vec!["world", ""]);
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut s = LineSplitter::new(100);
        assert_eq!(s.push(b"a\xffb\n"), vec!["a\u{fffd}b"]);
    }
}
