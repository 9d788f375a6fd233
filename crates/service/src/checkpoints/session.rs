//! A Claude session's transcript, carried between a sandbox's HOME and the blob store: read
//! out after a turn (so a checkpoint holds the conversation as it stood, outside the
//! sandbox) and written back before a rewound or forked sandbox resumes it. Both run as
//! commands in the sandbox, as the sandbox's user, so they reach only what it may.

use std::io::Write;

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{
    backend::{Backend, ExternalId, exec::ExecOutput, exec::ExecRequest},
    error::{AppError, AppResult},
    storage::Upload,
};

/// Finds `$1`'s transcript among Claude's projects and prints its path under HOME, then it.
const READ: &str = r#"for f in "$HOME"/.claude/projects/*/"$1".jsonl; do
  if [ -f "$f" ] && [ ! -L "$f" ]; then printf '%s\n' "${f#"$HOME"/}"; exec cat -- "$f"; fi
done
exit 3"#;

/// Writes stdin to `$HOME/$1` through a temporary file.
const WRITE: &str = r#"mkdir -p -- "$(dirname -- "$HOME/$1")" && cat > "$HOME/$1.sandboxql" && mv -f -- "$HOME/$1.sandboxql" "$HOME/$1""#;

/// Bytes per chunk written to the installing command.
const CHUNK: usize = 64 * 1024;

/// A transcript read out of a sandbox, spooled to a file.
pub struct Saved {
    /// Where it lives under HOME (`.claude/projects/<project>/<session>.jsonl`).
    pub path: String,
    /// The spooled copy (removed when dropped).
    pub file: tempfile::TempPath,
    /// Its size.
    pub size: u64,
    /// Its sha256 (hex).
    pub sha256: String,
}

/// Whether `path` is where Claude keeps a session: nothing else is ever written to HOME.
pub fn valid_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let [".claude", "projects", project, file] = parts.as_slice() else { return false };
    let ok_project = !project.is_empty() && *project != "." && *project != ".." && !project.contains('\0');
    let ok_file = file.strip_suffix(".jsonl").is_some_and(|id| Uuid::parse_str(id).is_ok());
    ok_project && ok_file
}

fn request(argv: Vec<String>, stdin: Option<mpsc::Receiver<Vec<u8>>>, max_line: usize) -> ExecRequest {
    ExecRequest { argv, env: vec![], secret_env: vec![], stdin, max_line_bytes: max_line, nice: 0, conversation: false }
}

/// Reads session `id`'s transcript out of the sandbox; None when it has none or it is
/// bigger than `max_bytes` (the checkpoint then keeps files only).
pub async fn save(backend: &dyn Backend, ext: &ExternalId, id: &str, max_bytes: u64) -> AppResult<Option<Saved>> {
    if Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    let argv = ["sh", "-c", READ, "sh", id].map(String::from).to_vec();
    let mut h = backend.exec(ext, request(argv, None, max_bytes as usize + 1)).await?;
    let (file, tmp) = tempfile::NamedTempFile::new()?.into_parts();
    let mut out = std::io::BufWriter::new(file);
    let (mut path, mut size, mut hasher, mut too_big) = (None::<String>, 0u64, Sha256::new(), false);
    while let Some(msg) = h.output.recv().await {
        match msg {
            ExecOutput::Stdout(line) if path.is_none() => path = Some(line),
            ExecOutput::Stdout(line) if !too_big => {
                size += line.len() as u64 + 1;
                if size > max_bytes {
                    too_big = true;
                    h.cancel.cancel();
                    continue;
                }
                hasher.update(line.as_bytes());
                hasher.update(b"\n");
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
            ExecOutput::Exited(code) => {
                out.flush()?;
                let Some(path) = path.filter(|p| valid_path(p) && code == Some(0) && !too_big) else { return Ok(None) };
                let sha256 = hex::encode(hasher.finalize());
                return Ok(Some(Saved { path, file: tmp, size, sha256 }));
            }
            _ => {}
        }
    }
    Err(AppError::Internal(anyhow::anyhow!("the transcript reader ended without an exit")))
}

/// Writes a transcript (streamed from the store) to `path` under the sandbox's HOME.
pub async fn install(backend: &dyn Backend, ext: &ExternalId, path: &str, mut body: Upload) -> AppResult<()> {
    if !valid_path(path) {
        return Err(AppError::Internal(anyhow::anyhow!("refusing to install a transcript at {path:?}")));
    }
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let argv = ["sh", "-c", WRITE, "sh", path].map(String::from).to_vec();
    let mut h = backend.exec(ext, request(argv, Some(rx), 4096)).await?;
    let feed = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = body.read(&mut buf).await?;
            if n == 0 || tx.send(buf[..n].to_vec()).await.is_err() {
                break;
            }
        }
        Ok::<(), AppError>(())
    };
    let wait = async {
        let mut code = None;
        while let Some(msg) = h.output.recv().await {
            if let ExecOutput::Exited(c) = msg {
                code = c;
            }
        }
        code
    };
    let (fed, code) = tokio::join!(feed, wait);
    fed?;
    match code {
        Some(0) => Ok(()),
        other => Err(AppError::provider("the session could not be put back", format!("exit {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_path;

    #[test]
    fn only_session_files_under_claude_projects_are_written() {
        assert!(valid_path(".claude/projects/-mnt-workspace/69d66009-39f7-417c-b4bc-1c31ee7d2e1c.jsonl"));
        assert!(!valid_path(".claude/projects/../69d66009-39f7-417c-b4bc-1c31ee7d2e1c.jsonl"));
        assert!(!valid_path(".bashrc"));
        assert!(!valid_path(".claude/projects/x/evil.jsonl"));
        assert!(!valid_path(".claude/projects/x/y/69d66009-39f7-417c-b4bc-1c31ee7d2e1c.jsonl"));
    }
}
