//! Turning a pre-order walk into a nested tree, marking where it was cut.

use crate::backend::files::{FileEntry, FileKind, Walk};

/// A directory tree.
#[derive(Debug, Clone)]
pub struct FileNode {
    /// The entry.
    pub entry: FileEntry,
    /// Children in display order (directories only).
    pub children: Vec<FileNode>,
    /// Whether some descendants were left out (depth or node limit).
    pub truncated: bool,
}

/// Nests `walk` (pre-order, below `root`) into a tree `depth` levels deep.
pub fn build(root: FileEntry, walk: Walk, depth: u32) -> FileNode {
    let mut stack: Vec<(FileNode, u32)> = vec![(FileNode { entry: root, children: vec![], truncated: false }, 0)];
    for entry in walk.entries {
        let level = entry.path.components().count() as u32 - stack[0].0.entry.path.components().count() as u32;
        while stack.len() > level as usize {
            pop_into_parent(&mut stack);
        }
        let at_limit = entry.kind == FileKind::Directory && level >= depth;
        stack.push((FileNode { entry, children: vec![], truncated: at_limit }, level));
    }
    if walk.truncated {
        for (node, _) in stack.iter_mut() {
            node.truncated = true;
        }
    }
    while stack.len() > 1 {
        pop_into_parent(&mut stack);
    }
    let (mut root, _) = stack.pop().unwrap_or_else(|| unreachable!("the root is never popped"));
    root.truncated |= root.children.iter().any(|c| c.truncated);
    root
}

fn pop_into_parent(stack: &mut Vec<(FileNode, u32)>) {
    if let Some((mut node, _)) = stack.pop() {
        node.truncated |= node.children.iter().any(|c| c.truncated);
        if let Some((parent, _)) = stack.last_mut() {
            parent.children.push(node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::files::WorkspacePath;

    fn e(path: &str, kind: FileKind) -> FileEntry {
        FileEntry {
            path: WorkspacePath::parse(path).unwrap(),
            kind,
            size: 0,
            modified: chrono::DateTime::default(),
            mode: 0o755,
            symlink_target: None,
        }
    }

    #[test]
    fn a_preorder_walk_nests_into_a_tree() {
        use FileKind::*;
        let walk = Walk {
            entries: vec![e("a", Directory), e("a/b", Directory), e("a/b/f", File), e("a/g", File), e("z", File)],
            truncated: false,
            skipped: 0,
        };
        let root = build(e("", Directory), walk, 3);
        let names: Vec<&str> = root.children.iter().map(|c| c.entry.name()).collect();
        assert_eq!(names, vec!["a", "z"]);
        assert_eq!(root.children[0].children.len(), 2);
        assert_eq!(root.children[0].children[0].children[0].entry.name(), "f");
        assert!(!root.truncated);
    }

    #[test]
    fn directories_at_the_depth_limit_are_marked_truncated() {
        let walk = Walk { entries: vec![e("a", FileKind::Directory)], truncated: false, skipped: 0 };
        let root = build(e("", FileKind::Directory), walk, 1);
        assert!(root.children[0].truncated && root.truncated);
    }

    #[test]
    fn a_cut_walk_marks_the_path_to_the_cut() {
        let walk =
            Walk { entries: vec![e("a", FileKind::Directory), e("a/f", FileKind::File)], truncated: true, skipped: 0 };
        let root = build(e("", FileKind::Directory), walk, 5);
        assert!(root.truncated && root.children[0].truncated);
    }
}
