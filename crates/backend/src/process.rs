//! Long-lived commands a user starts in a sandbox (a dev server, a shell): raw bytes out
//! (stdout and stderr merged in order, as a terminal shows them), input in when it has a
//! terminal, signals to its whole process tree, and its exit.

use tokio::sync::{mpsc, oneshot};

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TtySize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

/// What to start.
#[derive(Debug)]
pub struct ProcessRequest {
    /// Program and arguments (no shell unless the program is one).
    pub argv: Vec<String>,
    /// Environment beyond the backend's base.
    pub env: Vec<(String, String)>,
    /// Working directory, relative to the workspace ("" for the workspace itself).
    pub cwd: crate::files::WorkspacePath,
    /// A terminal of this size (None: no terminal, output through a pipe, no input).
    pub tty: Option<TtySize>,
    /// How much lower its priority is than the server's (a nice value).
    pub nice: i32,
}

/// Something to do to a running process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProcessControl {
    /// Sets the terminal's size (the program gets SIGWINCH).
    Resize(TtySize),
    /// Sends this signal to the process and everything it started.
    Signal(i32),
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessExit {
    /// Its exit code; 128 + n when signal n ended it inside the jail.
    pub code: Option<i32>,
}

/// A started process. Dropping the handle does not stop it: send
/// `ProcessControl::Signal(SIGKILL)` (or let its sandbox stop).
pub struct ProcessHandle {
    /// Output in arrival order; closes when the process and its terminal are gone.
    pub output: mpsc::Receiver<Vec<u8>>,
    /// Bytes typed into its terminal (None without a terminal).
    pub input: Option<mpsc::Sender<Vec<u8>>>,
    /// Resize and signal.
    pub control: mpsc::Sender<ProcessControl>,
    /// Resolves once when it has exited.
    pub exit: oneshot::Receiver<ProcessExit>,
}
