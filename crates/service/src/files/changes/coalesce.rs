//! One debounce window of workspace changes, coalesced per path: what a client needs to
//! know at the end of the window, not every step on the way (created then modified is
//! created; created then deleted is nothing; modified then deleted is deleted). Memory is
//! bounded: past `max_paths` paths the window forgets everything and says OVERFLOW once.

use std::collections::HashMap;

use super::{ChangeKind, WorkspaceChange};
use crate::backend::{RawChange, files::WorkspacePath};

/// The net change of one path so far in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Net {
    Created,
    Modified,
    Deleted,
    /// What is here now was at the given path when the window began.
    MovedFrom(WorkspacePath),
}

/// Changes of one window, per path.
pub(super) struct Window {
    net: HashMap<WorkspacePath, Net>,
    /// First halves of renames awaiting their second: cookie → (source, its net change
    /// before it moved).
    renames: HashMap<u64, (WorkspacePath, Option<Net>)>,
    max_paths: usize,
    overflowed: bool,
}

impl Window {
    /// An empty window holding at most `max_paths` paths.
    pub(super) fn new(max_paths: usize) -> Self {
        Self { net: HashMap::new(), renames: HashMap::new(), max_paths, overflowed: false }
    }

    /// Whether the window gave up on details (only OVERFLOW will come out of it).
    pub(super) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Adds one raw change.
    pub(super) fn record(&mut self, change: RawChange) {
        if self.overflowed {
            return;
        }
        match change {
            RawChange::Created(p) => self.apply(p, Net::Created),
            RawChange::Modified(p) => self.apply(p, Net::Modified),
            RawChange::Deleted(p) => self.apply(p, Net::Deleted),
            RawChange::MovedFrom(p, cookie) => {
                let before = self.net.remove(&p);
                if let Some((old, old_before)) = self.renames.insert(cookie, (p, before)) {
                    self.gone(old, old_before);
                }
            }
            RawChange::MovedTo(to, cookie) => match self.renames.remove(&cookie) {
                Some((from, before)) => self.moved(from, before, to),
                None => self.apply(to, Net::Created),
            },
            RawChange::Overflow => self.overflowed = true,
        }
        if self.overflowed || self.net.len() + self.renames.len() > self.max_paths {
            self.overflowed = true;
            self.net = HashMap::new();
            self.renames = HashMap::new();
        }
    }

    /// The window's changes sorted by path (or one OVERFLOW), leaving it empty.
    pub(super) fn take(&mut self) -> Vec<WorkspaceChange> {
        // A rename whose second half never came took the path out of the workspace.
        for (_, (from, before)) in std::mem::take(&mut self.renames) {
            self.gone(from, before);
        }
        let net = std::mem::take(&mut self.net);
        if std::mem::take(&mut self.overflowed) {
            return vec![WorkspaceChange { kind: ChangeKind::Overflow, path: WorkspacePath::root(), to_path: None }];
        }
        let mut out: Vec<WorkspaceChange> = net.into_iter().map(|(path, net)| change(path, net)).collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    fn apply(&mut self, path: WorkspacePath, event: Net) {
        let after = match (self.net.remove(&path), event) {
            (None, e) => Some(e),
            (Some(Net::Created), Net::Deleted) => None,
            (Some(Net::Created), _) => Some(Net::Created),
            (Some(Net::Deleted), Net::Deleted) => Some(Net::Deleted),
            // It existed before the window, went, and is back: changed.
            (Some(Net::Deleted), _) => Some(Net::Modified),
            (Some(Net::Modified), Net::Deleted) => Some(Net::Deleted),
            (Some(Net::Modified), _) => Some(Net::Modified),
            (Some(Net::MovedFrom(src)), Net::Deleted) => {
                self.source_gone(src);
                Some(Net::Deleted)
            }
            (Some(moved), _) => Some(moved),
        };
        if let Some(after) = after {
            self.net.insert(path, after);
        }
    }

    /// `from` (whose net change was `before`) was renamed to `to`.
    fn moved(&mut self, from: WorkspacePath, before: Option<Net>, to: WorkspacePath) {
        // Whatever had moved to `to` earlier in the window is overwritten: gone.
        if let Some(Net::MovedFrom(src)) = self.net.remove(&to) {
            self.source_gone(src);
        }
        let after = match before {
            Some(Net::Created) => Net::Created,
            Some(Net::MovedFrom(src)) if src == to => Net::Modified,
            Some(Net::MovedFrom(src)) => Net::MovedFrom(src),
            _ => Net::MovedFrom(from),
        };
        self.net.insert(to, after);
    }

    /// `from` (whose net change was `before`) left the workspace.
    fn gone(&mut self, from: WorkspacePath, before: Option<Net>) {
        match before {
            Some(Net::Created) => {}
            Some(Net::MovedFrom(src)) => self.source_gone(src),
            _ => self.source_gone(from),
        }
    }

    /// What was at `path` when the window began is gone; anything there now came later.
    fn source_gone(&mut self, path: WorkspacePath) {
        let after = match self.net.remove(&path) {
            None => Net::Deleted,
            Some(Net::Created) => Net::Modified,
            Some(other) => other,
        };
        self.net.insert(path, after);
    }
}

fn change(path: WorkspacePath, net: Net) -> WorkspaceChange {
    let (kind, path, to_path) = match net {
        Net::Created => (ChangeKind::Created, path, None),
        Net::Modified => (ChangeKind::Modified, path, None),
        Net::Deleted => (ChangeKind::Deleted, path, None),
        Net::MovedFrom(src) => (ChangeKind::Moved, src, Some(path)),
    };
    WorkspaceChange { kind, path, to_path }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> WorkspacePath {
        WorkspacePath::parse(s).unwrap()
    }

    fn run(max: usize, changes: Vec<RawChange>) -> Vec<(ChangeKind, String, Option<String>)> {
        let mut w = Window::new(max);
        changes.into_iter().for_each(|c| w.record(c));
        let out = w.take();
        assert!(w.take().is_empty(), "take empties the window");
        out.into_iter().map(|c| (c.kind, c.path.as_str().into(), c.to_path.map(|t| t.as_str().into()))).collect()
    }

    use ChangeKind::*;
    use RawChange as R;

    #[test]
    fn workspace_changes_coalesce_per_path() {
        let created = run(10, vec![R::Created(p("a")), R::Modified(p("a")), R::Modified(p("a"))]);
        assert_eq!(created, [(Created, "a".into(), None)]);
        assert!(run(10, vec![R::Created(p("a")), R::Modified(p("a")), R::Deleted(p("a"))]).is_empty());
        assert_eq!(run(10, vec![R::Modified(p("a")), R::Deleted(p("a"))]), [(Deleted, "a".into(), None)]);
        assert_eq!(run(10, vec![R::Deleted(p("a")), R::Created(p("a"))]), [(Modified, "a".into(), None)]);
        let two = run(10, vec![R::Modified(p("b")), R::Created(p("a"))]);
        assert_eq!(two, [(Created, "a".into(), None), (Modified, "b".into(), None)], "sorted by path");
    }

    #[test]
    fn workspace_changes_pair_renames() {
        let moved = run(10, vec![R::MovedFrom(p("a"), 7), R::MovedTo(p("b"), 7)]);
        assert_eq!(moved, [(Moved, "a".into(), Some("b".into()))]);
        let new = run(10, vec![R::Created(p("a")), R::MovedFrom(p("a"), 1), R::MovedTo(p("b"), 1)]);
        assert_eq!(new, [(Created, "b".into(), None)], "a file made in the window is simply new");
        let chain =
            vec![R::MovedFrom(p("a"), 1), R::MovedTo(p("b"), 1), R::MovedFrom(p("b"), 2), R::MovedTo(p("c"), 2)];
        assert_eq!(run(10, chain), [(Moved, "a".into(), Some("c".into()))]);
        assert_eq!(run(10, vec![R::MovedFrom(p("a"), 3)]), [(Deleted, "a".into(), None)], "moved out");
        assert_eq!(run(10, vec![R::MovedTo(p("z"), 4)]), [(Created, "z".into(), None)], "moved in");
        let away = run(10, vec![R::MovedFrom(p("a"), 1), R::MovedTo(p("b"), 1), R::Deleted(p("b"))]);
        assert_eq!(away, [(Deleted, "a".into(), None), (Deleted, "b".into(), None)]);
    }

    #[test]
    fn workspace_changes_overflow_past_the_cap_and_forget_the_rest() {
        let burst: Vec<RawChange> = (0..10_000).map(|i| R::Created(p(&format!("f{i}")))).collect();
        assert_eq!(run(100, burst), [(Overflow, "".into(), None)]);
        let mut w = Window::new(2);
        (0..3).for_each(|i| w.record(R::Created(p(&format!("f{i}")))));
        assert!(w.overflowed() && w.net.is_empty(), "nothing kept once over");
        w.take();
        w.record(R::Created(p("x")));
        assert_eq!(w.take().len(), 1, "the next window starts afresh");
        assert_eq!(run(10, vec![R::Created(p("a")), R::Overflow]), [(Overflow, "".into(), None)]);
    }
}
