//! The file explorer's git marks: each changed path's state, and every directory above a
//! change marked modified, looked up per entry in constant time (a listing page holds
//! up to a thousand entries; the status up to `gitMaxOutputBytes` of paths).

use std::collections::{HashMap, HashSet};

use super::parse::{FileState, Status};

/// Changed paths and the directories holding them.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    files: HashMap<String, FileState>,
    dirs: HashSet<String>,
}

impl Marks {
    /// The marks of a status.
    pub fn of(status: &Status) -> Self {
        let mut m = Self::default();
        for f in &status.files {
            let path = f.path.trim_end_matches('/');
            m.files.insert(path.to_string(), f.state);
            let mut at = path;
            while let Some((parent, _)) = at.rsplit_once('/') {
                if !m.dirs.insert(parent.to_string()) {
                    break;
                }
                at = parent;
            }
        }
        m
    }

    /// How `path` differs from the last commit: its own state, or MODIFIED for a
    /// directory holding a change; None when unchanged.
    pub fn of_path(&self, path: &str) -> Option<FileState> {
        self.files.get(path).copied().or_else(|| self.dirs.contains(path).then_some(FileState::Modified))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::parse::FileStatus;

    #[test]
    fn files_carry_their_state_and_directories_above_them_are_modified() {
        let f = |p: &str, state| FileStatus { path: p.into(), state, staged: false };
        let st = Status {
            files: vec![
                f("src/ui/app.ts", FileState::Modified),
                f("src/new.ts", FileState::Untracked),
                f("top.md", FileState::Deleted),
            ],
            ..Status::default()
        };
        let m = Marks::of(&st);
        assert_eq!(m.of_path("src/ui/app.ts"), Some(FileState::Modified));
        assert_eq!(m.of_path("src/new.ts"), Some(FileState::Untracked));
        assert_eq!(m.of_path("src/ui"), Some(FileState::Modified));
        assert_eq!(m.of_path("src"), Some(FileState::Modified));
        assert_eq!(m.of_path("top.md"), Some(FileState::Deleted));
        assert_eq!(m.of_path("docs"), None);
        assert_eq!(m.of_path("src/old.ts"), None);
    }
}
