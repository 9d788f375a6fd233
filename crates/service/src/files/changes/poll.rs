//! Changes of a workspace whose backend cannot watch it (Modal), found by listing it again
//! and comparing the two listings path by path (kind, size, modification time, mode,
//! link target). A rename shows as a deletion and a creation; a directory's own time
//! changing with its entries is not a change of its own, as with a watch.

use std::cmp::Ordering;

use super::coalesce::Window;
use crate::backend::{
    RawChange,
    files::{FileEntry, FileKind},
};

/// A listing in path order, ready to compare with the next one.
pub(super) fn sorted(mut entries: Vec<FileEntry>) -> Vec<FileEntry> {
    entries.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    entries
}

/// Records into `window` what differs from `before` to `after` (both [`sorted`]), stopping
/// early once the window overflows.
pub(super) fn diff(before: &[FileEntry], after: &[FileEntry], window: &mut Window) {
    let (mut i, mut j) = (0, 0);
    while !window.overflowed() && (i < before.len() || j < after.len()) {
        let order = match (before.get(i), after.get(j)) {
            (Some(a), Some(b)) => a.path.cmp(&b.path),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match order {
            Ordering::Less => {
                window.record(RawChange::Deleted(before[i].path.clone()));
                i += 1;
            }
            Ordering::Greater => {
                window.record(RawChange::Created(after[j].path.clone()));
                j += 1;
            }
            Ordering::Equal => {
                if changed(&before[i], &after[j]) {
                    window.record(RawChange::Modified(after[j].path.clone()));
                }
                i += 1;
                j += 1;
            }
        }
    }
}

fn changed(a: &FileEntry, b: &FileEntry) -> bool {
    if a.kind != b.kind {
        return true;
    }
    let content = a.kind != FileKind::Directory && (a.size != b.size || a.modified != b.modified);
    content || a.mode != b.mode || a.symlink_target != b.symlink_target
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::{backend::files::WorkspacePath, files::changes::ChangeKind};

    fn entry(path: &str, kind: FileKind, size: u64, secs: i64) -> FileEntry {
        FileEntry {
            path: WorkspacePath::parse(path).unwrap(),
            kind,
            size,
            modified: DateTime::<Utc>::from_timestamp(secs, 0).unwrap(),
            mode: 0o644,
            symlink_target: None,
        }
    }

    #[test]
    fn workspace_poll_diffs_two_listings() {
        let before = sorted(vec![
            entry("src", FileKind::Directory, 0, 1),
            entry("src/a.rs", FileKind::File, 10, 1),
            entry("old.txt", FileKind::File, 1, 1),
            entry("same.txt", FileKind::File, 1, 1),
        ]);
        let after = sorted(vec![
            entry("src", FileKind::Directory, 0, 9),
            entry("src/a.rs", FileKind::File, 12, 2),
            entry("new.txt", FileKind::File, 1, 2),
            entry("same.txt", FileKind::File, 1, 1),
        ]);
        let mut window = Window::new(100);
        diff(&before, &after, &mut window);
        let got: Vec<(ChangeKind, String)> =
            window.take().into_iter().map(|c| (c.kind, c.path.as_str().to_string())).collect();
        let want = [
            (ChangeKind::Created, "new.txt".to_string()),
            (ChangeKind::Deleted, "old.txt".to_string()),
            (ChangeKind::Modified, "src/a.rs".to_string()),
        ];
        assert_eq!(got, want, "a directory's own time is no change");
        let mut window = Window::new(1);
        diff(&[], &after, &mut window);
        assert_eq!(window.take()[0].kind, ChangeKind::Overflow);
    }
}
