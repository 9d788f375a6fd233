//! `Process`, `ProcessSignal` and `ProcessOutput`: a user's process in a sandbox and
//! what it writes.

use async_graphql::{Enum, ID, Object, SimpleObject};
use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::{
    entity::{enums, sandbox_process},
    service::processes::OutputPiece,
};

/// Where a process stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::ProcessStatus")]
pub enum ProcessStatus {
    /// It runs.
    Running,
    /// It ended; `exitCode` says how.
    Exited,
    /// The server instance running it stopped; it ended with it.
    Interrupted,
}

/// A signal for `signalProcess`: it reaches the process and everything it started.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ProcessSignal {
    /// Ask to stop (SIGTERM).
    Term,
    /// Stop at once (SIGKILL); nothing of it survives.
    Kill,
    /// Interrupt, as Ctrl-C (SIGINT).
    Int,
    /// Hang up (SIGHUP), which many servers take as "reload".
    Hup,
    /// SIGUSR1.
    Usr1,
    /// SIGUSR2.
    Usr2,
}

impl ProcessSignal {
    /// The signal's number.
    pub fn number(self) -> i32 {
        match self {
            Self::Term => libc::SIGTERM,
            Self::Kill => libc::SIGKILL,
            Self::Int => libc::SIGINT,
            Self::Hup => libc::SIGHUP,
            Self::Usr1 => libc::SIGUSR1,
            Self::Usr2 => libc::SIGUSR2,
        }
    }
}

/// A process a user started in a sandbox (`startProcess`).
pub struct Process(pub sandbox_process::Model);

#[Object]
impl Process {
    /// Its id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its sandbox.
    async fn sandbox_id(&self) -> ID {
        ID(self.0.sandbox_id.to_string())
    }
    /// The name it was given (or its program's).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Program and arguments.
    async fn argv(&self) -> Vec<String> {
        serde_json::from_value(self.0.argv.clone()).unwrap_or_default()
    }
    /// Working directory, relative to the workspace.
    async fn cwd(&self) -> &str {
        &self.0.cwd
    }
    /// Where it stands.
    async fn status(&self) -> ProcessStatus {
        self.0.status.into()
    }
    /// Its exit code once EXITED; 128 + n when signal n ended it.
    async fn exit_code(&self) -> Option<i64> {
        self.0.exit_code
    }
    /// When it started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it ended.
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    /// Bytes of output it has written.
    async fn output_bytes(&self) -> i64 {
        self.0.log_end
    }
    /// Offset of the oldest output byte still kept (`limits.processLogBytes` are).
    async fn output_kept_from(&self) -> i64 {
        self.0.log_start
    }
}

/// What a piece of `processOutput` is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ProcessOutputKind {
    /// Output bytes from `offset`.
    Data,
    /// `cutBytes` of output from `offset` are no longer kept; what follows starts after.
    Cut,
    /// The process has ended and all it wrote was sent; the stream ends.
    Ended,
}

/// A piece of a process's output, in order: resume after a disconnect with `afterOffset`
/// = the last `offset + bytes` seen.
#[derive(SimpleObject)]
pub struct ProcessOutput {
    /// What this is.
    pub kind: ProcessOutputKind,
    /// Where it starts in the process's output.
    pub offset: i64,
    /// Its length in bytes (DATA).
    pub bytes: i64,
    /// The bytes as text (invalid UTF-8 replaced; a character may be split across two
    /// pieces: use `base64` for exact bytes).
    pub text: String,
    /// The bytes, base64.
    pub base64: String,
    /// Bytes no longer kept (CUT).
    pub cut_bytes: Option<i64>,
    /// How it ended (ENDED).
    pub status: Option<ProcessStatus>,
    /// Its exit code (ENDED).
    pub exit_code: Option<i64>,
}

impl From<OutputPiece> for ProcessOutput {
    fn from(p: OutputPiece) -> Self {
        let empty = |kind, offset| Self {
            kind,
            offset,
            bytes: 0,
            text: String::new(),
            base64: String::new(),
            cut_bytes: None,
            status: None,
            exit_code: None,
        };
        match p {
            OutputPiece::Data { offset, bytes } => Self {
                bytes: bytes.len() as i64,
                text: String::from_utf8_lossy(&bytes).into_owned(),
                base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
                ..empty(ProcessOutputKind::Data, offset)
            },
            OutputPiece::Cut { offset, bytes } => {
                Self { cut_bytes: Some(bytes), ..empty(ProcessOutputKind::Cut, offset) }
            }
            OutputPiece::Ended { offset, status, exit_code } => {
                Self { status: Some(status.into()), exit_code, ..empty(ProcessOutputKind::Ended, offset) }
            }
        }
    }
}
