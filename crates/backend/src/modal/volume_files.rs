//! A sleeping sandbox's files, read from its workspace volume without any Modal sandbox:
//! listings and metadata with the listing call of the volume's version (see `volumes`),
//! `VolumeGetFile2` for content (links the server fetches itself, block by block, up to
//! the bytes asked for). The volume API
//! reports no permission bits or link targets: files show as 0644, directories as 0755.

use uuid::Uuid;

use super::{
    ModalBackend,
    client::rpc,
    proto::{VolumeGetFile2Request, file_entry::FileType},
    volumes::Which,
};
use crate::{
    error::{AppError, AppResult},
    files::{FileBytes, FileEntry, FileKind, Walk, WalkOptions, WorkspacePath},
};

/// The workspace's place in the volume (its `sub_path` at /mnt/workspace).
const WORKSPACE: &str = "workspace";

fn in_volume(path: &WorkspacePath) -> String {
    if path.is_root() { WORKSPACE.to_string() } else { format!("{WORKSPACE}/{}", path.as_str()) }
}

fn entry(e: &super::proto::FileEntry) -> Option<FileEntry> {
    let rel = e.path.trim_start_matches('/').strip_prefix(WORKSPACE)?.trim_start_matches('/');
    let path = WorkspacePath::parse(rel).ok().filter(|p| !p.is_root())?;
    let kind = match FileType::try_from(e.r#type) {
        Ok(FileType::File) => FileKind::File,
        Ok(FileType::Directory) => FileKind::Directory,
        Ok(FileType::Symlink) => FileKind::Symlink,
        _ => FileKind::Other,
    };
    let mode = if kind == FileKind::Directory { 0o755 } else { 0o644 };
    let modified = chrono::DateTime::from_timestamp(i64::try_from(e.mtime).unwrap_or(0), 0).unwrap_or_default();
    Some(FileEntry { path, kind, size: e.size, modified, mode, symlink_target: None })
}

/// Entries under `start`, in display order, at most `opts.max_entries` (more: truncated).
pub(super) async fn walk(b: &ModalBackend, id: Uuid, start: &WorkspacePath, opts: WalkOptions) -> AppResult<Walk> {
    let volume = b.provision.volume(id, Which::Workspace, false).await?;
    let depth = opts.max_depth.min(opts.depth_cap).max(1) as usize;
    let base = start.components().count();
    let max = u32::try_from(opts.max_entries.saturating_add(1)).ok();
    let (mut entries, mut truncated) = (Vec::new(), false);
    b.provision
        .list(&volume, in_volume(start), depth > 1, max, |page| {
            for e in page.iter().filter_map(entry) {
                if e.path.components().count() - base > depth || !e.path.as_str().starts_with(start.as_str()) {
                    continue;
                }
                if entries.len() == opts.max_entries {
                    truncated = true;
                    return false;
                }
                entries.push(e);
            }
            true
        })
        .await?;
    crate::order::sort_preorder(&mut entries);
    Ok(Walk { entries, truncated, skipped: 0 })
}

/// One entry: found in its parent's listing.
pub(super) async fn stat(b: &ModalBackend, id: Uuid, path: &WorkspacePath) -> AppResult<Option<FileEntry>> {
    let Some((parent, _)) = path.split_last() else {
        return Ok(None);
    };
    let opts = WalkOptions { max_depth: 1, depth_cap: 1, max_entries: usize::MAX };
    match walk(b, id, &parent, opts).await {
        Ok(w) => Ok(w.entries.into_iter().find(|e| e.path == *path)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Up to `max` bytes from the start of a file.
pub(super) async fn read(b: &ModalBackend, id: Uuid, path: &WorkspacePath, max: u64) -> AppResult<FileBytes> {
    let volume_id = b.provision.volume(id, Which::Workspace, false).await?.id;
    let req = VolumeGetFile2Request { volume_id, path: in_volume(path), start: 0, len: max.max(1) };
    let got = rpc!(b.client, "VolumeGetFile2", volume_get_file2, req.clone()).await?;
    let mut data = Vec::with_capacity(usize::try_from(got.len.min(max)).unwrap_or(0));
    for url in &got.get_urls {
        let fetch = async {
            let resp = b.http.get(url).send().await?.error_for_status()?;
            resp.bytes().await
        };
        let bytes = fetch.await.map_err(|e| {
            AppError::provider("the sandbox provider is unavailable; try again", format!("modal volume block: {e}"))
        })?;
        let room = usize::try_from(max).unwrap_or(usize::MAX).saturating_sub(data.len());
        data.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
    if max == 0 {
        data.clear();
    }
    Ok(FileBytes { truncated: (data.len() as u64) < got.size, size: got.size, data })
}
