//! The one order of workspace paths: pre-order, and among siblings directories first,
//! then by name (bytewise, like `LC_ALL=C ls`). Walks, listings, at-rest listings and
//! manifests all sort this way, so a sync can merge a walk with the previous manifest as
//! two sorted streams.

use std::cmp::Ordering;

use crate::files::{FileEntry, FileKind};

/// The order as a comparison of two paths, each said to be a directory or not.
pub fn preorder_cmp(a: &str, a_dir: bool, b: &str, b_dir: bool) -> Ordering {
    let (mut ai, mut bi) = (a.split('/').filter(|c| !c.is_empty()), b.split('/').filter(|c| !c.is_empty()));
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => {
                let x_dir = ai.next().is_some() || a_dir;
                let y_dir = bi.next().is_some() || b_dir;
                return (!x_dir, x).cmp(&(!y_dir, y));
            }
        }
    }
}

/// Orders entries as a walk does (see [`preorder_cmp`]).
pub fn sort_preorder(entries: &mut [FileEntry]) {
    let dir = |e: &FileEntry| e.kind == FileKind::Directory;
    entries.sort_by(|a, b| preorder_cmp(a.path.as_str(), dir(a), b.path.as_str(), dir(b)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::WorkspacePath;

    fn entry(path: &str, kind: FileKind) -> FileEntry {
        FileEntry {
            path: WorkspacePath::parse(path).unwrap(),
            kind,
            size: 0,
            modified: chrono::Utc::now(),
            mode: 0,
            symlink_target: None,
        }
    }

    #[test]
    fn preorder_puts_directories_first_then_names() {
        let (d, f) = (FileKind::Directory, FileKind::File);
        let mut entries =
            vec![entry("z", f), entry("b", d), entry("b/x", f), entry("a", d), entry("b/c", d), entry("b/c/y", f)];
        sort_preorder(&mut entries);
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, vec!["a", "b", "b/c", "b/c/y", "b/x", "z"]);
    }

    #[test]
    fn preorder_compares_like_the_walk() {
        assert_eq!(preorder_cmp("a", true, "a/b", false), Ordering::Less, "a parent before its children");
        assert_eq!(preorder_cmp("b/x", false, "a", false), Ordering::Less, "anything in a dir before a file");
        assert_eq!(preorder_cmp("z", true, "a", false), Ordering::Less, "dirs before files");
        assert_eq!(preorder_cmp("a/b", false, "a/b", false), Ordering::Equal);
        assert_eq!(preorder_cmp("B", false, "a", false), Ordering::Less, "bytewise names");
    }
}
