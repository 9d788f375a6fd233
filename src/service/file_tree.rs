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
