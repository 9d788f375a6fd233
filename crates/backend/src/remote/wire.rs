//! What instances send each other over the internal channel: one JSON call per unary
//! operation, and the opening message of a forwarded command. Every path in it is a
//! [`WorkspacePath`], checked again on arrival like a client's.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::files::{WalkOptions, WorkspacePath};

/// The header carrying the server-to-server secret.
pub const SECRET_HEADER: &str = "x-sandboxql-internal";

/// A unary operation on a sandbox of the receiving instance's host.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Call {
    /// `Lifecycle::create`, with the template by name.
    Create {
        /// Our id of the sandbox.
        sandbox_id: Uuid,
        /// Its owner.
        account_id: Uuid,
        /// Its template's name.
        template: String,
    },
    /// `Lifecycle::terminate`.
    Terminate {
        /// The backend's id.
        ext: String,
    },
    /// `Lifecycle::destroy`.
    Destroy {
        /// Our id.
        sandbox_id: Uuid,
        /// The backend's id.
        ext: String,
    },
    /// `Lifecycle::forget`.
    Forget {
        /// Our id.
        sandbox_id: Uuid,
    },
    /// `Lifecycle::status`.
    Status {
        /// The backend's id.
        ext: String,
    },
    /// `Files::walk`.
    Walk {
        /// The backend's id.
        ext: String,
        /// Start directory.
        path: WorkspacePath,
        /// How far.
        opts: WalkOptions,
    },
    /// `Files::hash_file`.
    HashFile {
        /// The backend's id.
        ext: String,
        /// The file.
        path: WorkspacePath,
    },
    /// `Files::stat`.
    Stat {
        /// The backend's id.
        ext: String,
        /// The path.
        path: WorkspacePath,
    },
    /// `Files::read_file`.
    ReadFile {
        /// The backend's id.
        ext: String,
        /// The file.
        path: WorkspacePath,
        /// At most this many bytes.
        max_bytes: u64,
    },
    /// `Files::make_dir`.
    MakeDir {
        /// The backend's id.
        ext: String,
        /// The directory.
        path: WorkspacePath,
    },
    /// `Files::move_path`.
    MovePath {
        /// The backend's id.
        ext: String,
        /// From.
        from: WorkspacePath,
        /// To.
        to: WorkspacePath,
    },
    /// `Files::set_mode`.
    SetMode {
        /// The backend's id.
        ext: String,
        /// The path.
        path: WorkspacePath,
        /// Permission bits.
        mode: u32,
    },
    /// `Files::make_symlink`.
    MakeSymlink {
        /// The backend's id.
        ext: String,
        /// The link.
        path: WorkspacePath,
        /// Where it points.
        target: String,
    },
    /// `Files::delete_path`.
    DeletePath {
        /// The backend's id.
        ext: String,
        /// The path.
        path: WorkspacePath,
        /// Directories with what they hold.
        recursive: bool,
    },
    /// `Usage::usage`.
    Usage {
        /// The backend's id.
        ext: String,
    },
}

/// Where a streamed operation (read, write, walk, watch) applies.
#[derive(Debug, Serialize, Deserialize)]
pub struct Target {
    /// The backend's id.
    pub ext: String,
    /// The path (the root for a watch).
    pub path: WorkspacePath,
    /// A walk's bounds.
    pub opts: Option<WalkOptions>,
    /// A watch's queue.
    pub capacity: Option<usize>,
}

/// The opening message of a forwarded command ([`crate::ExecRequest`] without its
/// channels; `stdin` says whether input frames follow).
#[derive(Debug, Serialize, Deserialize)]
pub struct ExecStart {
    /// The backend's id.
    pub ext: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Environment (the receiving host puts its own gateway variables in).
    pub env: Vec<(String, String)>,
    /// Secret variables.
    pub secret_env: Vec<(String, String)>,
    /// Whether standard input stays open for frames.
    pub stdin: bool,
    /// Longest output line kept whole.
    pub max_line_bytes: usize,
    /// Priority below the server's.
    pub nice: i32,
    /// See [`crate::ExecRequest::conversation`].
    pub conversation: bool,
}

/// The opening message of a forwarded process or terminal.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProcessStart {
    /// The backend's id.
    pub ext: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Environment.
    pub env: Vec<(String, String)>,
    /// Working directory in the workspace.
    pub cwd: WorkspacePath,
    /// A terminal of this size.
    pub tty: Option<crate::process::TtySize>,
    /// Priority below the server's.
    pub nice: i32,
}

/// What the host says about a forwarded process (its output comes as binary frames).
#[derive(Debug, Serialize, Deserialize)]
pub enum ProcessFrame {
    /// It started.
    Started,
    /// It ended.
    Exited(crate::process::ProcessExit),
    /// It could not start.
    Failed(crate::error::WireError),
}

/// The opening message of a forwarded connection to a sandbox's port.
#[derive(Debug, Serialize, Deserialize)]
pub struct Dial {
    /// The backend's id.
    pub ext: String,
    /// The port on the sandbox's loopback.
    pub port: u16,
}

/// The text frame that closes a forwarded command's standard input.
pub const STDIN_EOF: &str = "eof";
/// The text frame that cancels a forwarded command.
pub const CANCEL: &str = "cancel";

/// Bytes as base64 in JSON (file contents in unary answers).
pub mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes bytes as a base64 string.
    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    /// Reads a base64 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}
