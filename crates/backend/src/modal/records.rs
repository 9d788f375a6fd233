//! Parsing what `find -printf` prints inside a sandbox: NUL-separated fields, so any
//! byte a file name may hold (newlines included) survives, and one listing of a whole
//! tree is one command.

use chrono::{DateTime, Utc};

use crate::{
    error::{AppError, AppResult},
    files::{FileEntry, FileKind, WorkspacePath},
};

/// `find` format of one entry in a walk: type, size, mtime, mode, path below the start,
/// link target. Six fields, each ended by NUL.
pub(super) const WALK_FORMAT: &str = r"%y\0%s\0%T@\0%m\0%P\0%l\0";
/// `find` format of a single entry: the walk format without the path.
pub(super) const STAT_FORMAT: &str = r"%y\0%s\0%T@\0%m\0%l\0";

fn bad(what: &str) -> AppError {
    AppError::provider("the sandbox gave an unreadable answer", format!("modal file record: {what}"))
}

fn kind(t: &[u8]) -> FileKind {
    match t {
        b"f" => FileKind::File,
        b"d" => FileKind::Directory,
        b"l" => FileKind::Symlink,
        _ => FileKind::Other,
    }
}

/// `1700000000.1234567890` → a timestamp with nanoseconds, without float rounding.
fn mtime(raw: &[u8]) -> AppResult<DateTime<Utc>> {
    let s = std::str::from_utf8(raw).map_err(|_| bad("mtime"))?;
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let secs: i64 = secs.parse().map_err(|_| bad("mtime seconds"))?;
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nanos: u32 = digits.parse().map_err(|_| bad("mtime fraction"))?;
    DateTime::from_timestamp(secs, nanos).ok_or_else(|| bad("mtime range"))
}

fn number(raw: &[u8], radix: u32, what: &str) -> AppResult<u64> {
    let s = std::str::from_utf8(raw).map_err(|_| bad(what))?;
    u64::from_str_radix(s, radix).map_err(|_| bad(what))
}

fn entry(path: WorkspacePath, f: &[&[u8]]) -> AppResult<FileEntry> {
    let kind = kind(f[0]);
    let target = f[f.len() - 1];
    Ok(FileEntry {
        path,
        kind,
        size: number(f[1], 10, "size")?,
        modified: mtime(f[2])?,
        mode: number(f[3], 8, "mode")? as u32 & 0o7777,
        symlink_target: (kind == FileKind::Symlink).then(|| String::from_utf8_lossy(target).into_owned()),
    })
}

/// Entries of a walk from `start`, in display order (see [`crate::files::Walk`]).
pub(super) fn parse_walk(start: &WorkspacePath, out: &[u8]) -> AppResult<Vec<FileEntry>> {
    let fields: Vec<&[u8]> = out.split(|&b| b == 0).collect();
    let records = fields.chunks_exact(6);
    let mut entries = Vec::with_capacity(records.len());
    for f in records {
        let rel = std::str::from_utf8(f[4]).map_err(|_| bad("file name is not UTF-8"))?;
        let Ok(rel) = WorkspacePath::parse(rel) else { continue };
        entries.push(entry(start_join(start, &rel), f)?);
    }
    crate::order::sort_preorder(&mut entries);
    Ok(entries)
}

/// One entry as printed with [`STAT_FORMAT`].
pub(super) fn parse_stat(path: &WorkspacePath, out: &[u8]) -> AppResult<FileEntry> {
    let fields: Vec<&[u8]> = out.split(|&b| b == 0).collect();
    if fields.len() < 5 {
        return Err(bad("short stat record"));
    }
    entry(path.clone(), &fields[..5])
}

fn start_join(start: &WorkspacePath, rel: &WorkspacePath) -> WorkspacePath {
    rel.components().fold(start.clone(), |p, c| p.join(c))
}
