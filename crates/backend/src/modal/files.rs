//! Workspace files through the command router: one command per operation (a whole-tree
//! listing is one `find`), fixed shell scripts with every path as its own argv element,
//! and a `realpath` check that keeps each path, and whatever its symlinks resolve to,
//! under the workspace. Scripts answer with agreed exit codes mapped to [`AppError`]s.

use std::{collections::HashMap, io};

use tokio_util::io::StreamReader;

use super::{
    ModalBackend, WORKDIR,
    exec::{RawOutput, Started, Stdin},
    records::{STAT_FORMAT, WALK_FORMAT, parse_stat, parse_walk},
};
use crate::{
    error::{AppError, AppResult, reasons},
    files::{FileBytes, FileEntry, Walk, WalkOptions, WorkspacePath},
    storage::Upload,
};

/// Shared by every script: `inside P` exits 91 unless P resolves under the workspace;
/// `rec P` prints P's record. `$F` is the find format, `$W` the workspace.
const PRELUDE: &str = r#"inside() { r=$(realpath -m -- "$1") || exit 90; case "$r/" in "$W"/*) ;; *) exit 91;; esac; }
rec() { find "$1" -maxdepth 0 -printf "$F"; }
exists() { [ -e "$1" ] || [ -L "$1" ]; }
"#;

const WALK: &str = r#"inside "$1"; [ -d "$1" ] || { exists "$1" && exit 96; exit 90; }
cd -- "$1" && exec find . -mindepth 1 -maxdepth "$2" -printf "$3""#;
const STAT: &str = r#"inside "$(dirname -- "$1")"; exists "$1" || exit 90; rec "$1""#;
const READ: &str = r#"inside "$1"; exists "$1" || exit 90; [ -d "$1" ] && exit 92; [ -f "$1" ] || exit 93
printf '%s\0' "$(stat -L -c %s -- "$1")" && exec head -c "$2" -- "$1""#;
const CAT: &str =
    r#"inside "$1"; exists "$1" || exit 90; [ -d "$1" ] && exit 92; [ -f "$1" ] || exit 93; exec cat -- "$1""#;
const WRITE: &str = r#"d=$(dirname -- "$1"); inside "$d"; [ -d "$1" ] && [ ! -L "$1" ] && exit 92
mkdir -p -- "$d" || exit 96; t="$d/.sandboxql-write.$$"
if cat > "$t" && mv -f -T -- "$t" "$1"; then rec "$1"; else rm -f -- "$t"; exit 1; fi"#;
const MKDIR: &str = r#"inside "$1"; exists "$1" && [ ! -d "$1" ] && exit 94; mkdir -p -- "$1" || exit 96; rec "$1""#;
const MOVE: &str = r#"inside "$(dirname -- "$1")"; inside "$(dirname -- "$2")"; exists "$1" || exit 90; exists "$2" && exit 94
mkdir -p -- "$(dirname -- "$2")" || exit 96; mv -n -T -- "$1" "$2" || exit 1; rec "$2""#;
const DELETE: &str = r#"inside "$(dirname -- "$1")"; exists "$1" || exit 90
if [ -d "$1" ] && [ ! -L "$1" ]; then if [ "$2" = 1 ]; then rm -rf -- "$1"; else rmdir -- "$1" 2>/dev/null || exit 95; fi
else rm -f -- "$1"; fi"#;
const CHMOD: &str = r#"inside "$(dirname -- "$1")"; exists "$1" || exit 90; [ -L "$1" ] || chmod -- "$2" "$1""#;
const SYMLINK: &str = r#"d=$(dirname -- "$1"); inside "$d"; mkdir -p -- "$d" || exit 96; ln -sfn -- "$2" "$1""#;

fn abs(p: &WorkspacePath) -> String {
    if p.is_root() { WORKDIR.to_string() } else { format!("{WORKDIR}/{}", p.as_str()) }
}

/// `sh -c <prelude+script> sh <args…>`: the script is a constant, the arguments are data.
fn script(body: &str, args: &[&str], format: &str) -> Vec<String> {
    let text = format!("W={WORKDIR}; F='{format}'\n{PRELUDE}{body}");
    let mut argv = vec!["/bin/sh".to_string(), "-c".into(), text, "sh".into()];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

/// The error an agreed exit code stands for.
fn check(what: &str, c: &Collected) -> AppResult<()> {
    match c.code {
        Some(0) => Ok(()),
        Some(90) => Err(AppError::NotFound("file")),
        Some(91) => Err(AppError::bad_input("path leads outside the workspace")),
        Some(92) => Err(AppError::bad_input("path is a directory")),
        Some(93) => Err(AppError::bad_input("path is not a regular file")),
        Some(94) => Err(AppError::conflict_because(reasons::ALREADY_EXISTS, "something already exists at that path")),
        Some(95) => Err(AppError::conflict_because(
            reasons::NOT_EMPTY,
            "directory is not empty; pass recursive: true to delete it",
        )),
        Some(96) => Err(AppError::bad_input("a component of the path is not a directory")),
        code => Err(AppError::provider(
            "a file operation in the sandbox failed",
            format!("modal {what}: exit {code:?}: {}", String::from_utf8_lossy(&c.stderr)),
        )),
    }
}

async fn run(
    b: &ModalBackend,
    ext: &str,
    what: &str,
    argv: Vec<String>,
    stdin: Stdin,
    max: usize,
) -> AppResult<Vec<u8>> {
    let c = collect(b, ext, argv, stdin, max).await?;
    check(what, &c)?;
    Ok(c.stdout)
}

async fn one(b: &ModalBackend, ext: &str, what: &str, body: &str, args: &[&str], stdin: Stdin) -> AppResult<Vec<u8>> {
    run(b, ext, what, script(body, args, STAT_FORMAT), stdin, 64 * 1024).await
}

pub(super) async fn walk(b: &ModalBackend, ext: &str, path: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
    let depth = opts.max_depth.min(opts.depth_cap).max(1).to_string();
    let argv = script(WALK, &[&abs(path), &depth, WALK_FORMAT], STAT_FORMAT);
    let out = run(b, ext, "walk", argv, Stdin::Closed, b.max_answer_bytes).await?;
    let mut entries = parse_walk(path, &out)?;
    let truncated = entries.len() > opts.max_entries;
    entries.truncate(opts.max_entries);
    Ok(Walk { entries, truncated, skipped: 0 })
}

pub(super) async fn stat(b: &ModalBackend, ext: &str, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
    match one(b, ext, "stat", STAT, &[&abs(path)], Stdin::Closed).await {
        Ok(out) => parse_stat(path, &out).map(Some),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) async fn read_file(b: &ModalBackend, ext: &str, path: &WorkspacePath, max: u64) -> AppResult<FileBytes> {
    let argv = script(READ, &[&abs(path), &max.to_string()], STAT_FORMAT);
    let out =
        run(b, ext, "read", argv, Stdin::Closed, usize::try_from(max).unwrap_or(usize::MAX).saturating_add(32)).await?;
    let nul = out.iter().position(|&c| c == 0).ok_or_else(|| AppError::provider("bad answer", "read: no size"))?;
    let size: u64 = std::str::from_utf8(&out[..nul])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| AppError::provider("bad answer", "read: size"))?;
    let data = out[nul + 1..].to_vec();
    Ok(FileBytes { truncated: (data.len() as u64) < size, data, size })
}

pub(super) async fn write(b: &ModalBackend, ext: &str, path: &WorkspacePath, body: Stdin) -> AppResult<FileEntry> {
    if path.is_root() {
        return Err(AppError::bad_input("cannot write the workspace root"));
    }
    parse_stat(path, &one(b, ext, "write", WRITE, &[&abs(path)], body).await?)
}

pub(super) async fn make_dir(b: &ModalBackend, ext: &str, path: &WorkspacePath) -> AppResult<FileEntry> {
    parse_stat(path, &one(b, ext, "mkdir", MKDIR, &[&abs(path)], Stdin::Closed).await?)
}

pub(super) async fn move_path(
    b: &ModalBackend,
    ext: &str,
    from: &WorkspacePath,
    to: &WorkspacePath,
) -> AppResult<FileEntry> {
    if from.is_root() || to.is_root() {
        return Err(AppError::bad_input("cannot move the workspace root"));
    }
    if from.contains(to) {
        return Err(AppError::bad_input("cannot move a path into itself"));
    }
    parse_stat(to, &one(b, ext, "move", MOVE, &[&abs(from), &abs(to)], Stdin::Closed).await?)
}

pub(super) async fn delete(b: &ModalBackend, ext: &str, path: &WorkspacePath, recursive: bool) -> AppResult<()> {
    if path.is_root() {
        return Err(AppError::bad_input("cannot delete the workspace root"));
    }
    one(b, ext, "delete", DELETE, &[&abs(path), if recursive { "1" } else { "0" }], Stdin::Closed).await?;
    Ok(())
}

pub(super) async fn set_mode(b: &ModalBackend, ext: &str, path: &WorkspacePath, mode: u32) -> AppResult<()> {
    one(b, ext, "chmod", CHMOD, &[&abs(path), &format!("{:o}", mode & 0o7777)], Stdin::Closed).await?;
    Ok(())
}

pub(super) async fn make_symlink(b: &ModalBackend, ext: &str, path: &WorkspacePath, target: &str) -> AppResult<()> {
    one(b, ext, "symlink", SYMLINK, &[&abs(path), target], Stdin::Closed).await?;
    Ok(())
}

/// A file's content as a stream straight from the exec output (nothing buffered whole);
/// a failure discovered at the end (exit code) surfaces as a read error.
pub(super) async fn read_stream(b: &ModalBackend, ext: &str, path: &WorkspacePath) -> AppResult<Upload> {
    let started = b.start(ext, script(CAT, &[&abs(path)], STAT_FORMAT), Default::default(), Stdin::Closed).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<bytes::Bytes>>(8);
    let mut output = started.output;
    tokio::spawn(async move {
        while let Some(msg) = output.recv().await {
            let item = match msg {
                RawOutput::Stdout(d) => Ok(bytes::Bytes::from(d)),
                RawOutput::Stderr(_) => continue,
                RawOutput::Exited(Some(0)) => return,
                RawOutput::Exited(code) => Err(io::Error::other(format!("reading a sandbox file: exit {code:?}"))),
                RawOutput::Lost(e) => Err(io::Error::other(e.log_detail().unwrap_or_default())),
            };
            if tx.send(item).await.is_err() {
                return;
            }
        }
    });
    Ok(Box::pin(StreamReader::new(tokio_stream::wrappers::ReceiverStream::new(rx))))
}

/// Extracts a tar archive (a restore) into the workspace with one command; the archive
/// streams in as stdin. Ownership is not taken from the archive.
pub(super) async fn extract(b: &ModalBackend, ext: &str, archive: Upload) -> AppResult<()> {
    let command = ["tar", "-x", "-f", "-", "-C", WORKDIR, "--no-same-owner"].map(String::from).to_vec();
    let c = collect(b, ext, command, Stdin::Stream(archive), 64 * 1024).await?;
    if c.code != Some(0) {
        let detail = String::from_utf8_lossy(&c.stderr).into_owned();
        return Err(AppError::provider("the snapshot could not be restored; try again", format!("tar -x: {detail}")));
    }
    Ok(())
}

/// Output of a finished command, for file operations.
pub(super) struct Collected {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    code: Option<i32>,
}

/// Runs a command to completion, keeping at most `max_stdout` bytes of its output.
pub(super) async fn collect(
    b: &ModalBackend,
    ext: &str,
    command: Vec<String>,
    stdin: Stdin,
    max_stdout: usize,
) -> AppResult<Collected> {
    let Started { mut output, stdin } = b.start(ext, command, HashMap::new(), stdin).await?;
    let (mut stdout, mut stderr, mut code) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = output.recv().await {
        match msg {
            RawOutput::Stdout(d) if stdout.len() + d.len() <= max_stdout => stdout.extend_from_slice(&d),
            RawOutput::Stdout(_) => {
                return Err(AppError::provider(
                    "the sandbox answered with more than the server reads",
                    format!("exec output over {max_stdout} bytes"),
                ));
            }
            RawOutput::Stderr(d) => stderr.extend(d.into_iter().take(64 * 1024usize.saturating_sub(stderr.len()))),
            RawOutput::Exited(c) => code = c,
            RawOutput::Lost(e) => return Err(e),
        }
    }
    stdin.await.map_err(|e| AppError::Internal(anyhow::anyhow!("stdin task: {e}")))??;
    Ok(Collected { stdout, stderr, code })
}
