//! Reading git's machine formats: `status --porcelain=v2 --branch -z` (branch, head,
//! ahead/behind and each changed path in one call) and the `log` format the API asks
//! for (fields split by unit separators, so no subject can break a record).

use serde::Serialize;

/// How a path differs from the last commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileState {
    /// Changed (in the index or the work tree).
    Modified,
    /// New and added to the index.
    Added,
    /// Removed.
    Deleted,
    /// Renamed or copied.
    Renamed,
    /// Not tracked by git.
    Untracked,
    /// Unmerged (a conflict).
    Conflicted,
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// The path, relative to the workspace.
    pub path: String,
    /// How it changed.
    pub state: FileState,
    /// Whether the change is staged (in the index).
    pub staged: bool,
}

/// The repository's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The branch checked out (None: a detached head).
    pub branch: Option<String>,
    /// The commit checked out (None: no commit yet).
    pub head: Option<String>,
    /// The branch's upstream, when it has one.
    pub upstream: Option<String>,
    /// Commits on the branch not on its upstream.
    pub ahead: i64,
    /// Commits on the upstream not on the branch.
    pub behind: i64,
    /// Changed and untracked paths.
    pub files: Vec<FileStatus>,
}

fn state_of(xy: &str) -> (FileState, bool) {
    let (x, y) = (xy.chars().next().unwrap_or('.'), xy.chars().nth(1).unwrap_or('.'));
    let staged = x != '.';
    let c = if staged { x } else { y };
    let state = match c {
        'A' => FileState::Added,
        'D' => FileState::Deleted,
        'R' | 'C' => FileState::Renamed,
        _ => FileState::Modified,
    };
    (state, staged)
}

/// Parses `git status --porcelain=v2 --branch -z` (NUL-separated records).
pub fn status(out: &str) -> Status {
    let mut st = Status::default();
    let mut records = out.split('\0').filter(|r| !r.is_empty());
    while let Some(rec) = records.next() {
        if let Some(h) = rec.strip_prefix("# branch.oid ") {
            st.head = (h != "(initial)").then(|| h.to_string());
        } else if let Some(b) = rec.strip_prefix("# branch.head ") {
            st.branch = (b != "(detached)").then(|| b.to_string());
        } else if let Some(u) = rec.strip_prefix("# branch.upstream ") {
            st.upstream = Some(u.to_string());
        } else if let Some(ab) = rec.strip_prefix("# branch.ab ") {
            let mut it = ab.split(' ');
            st.ahead = it.next().and_then(|a| a.trim_start_matches('+').parse().ok()).unwrap_or(0);
            st.behind = it.next().and_then(|b| b.trim_start_matches('-').parse().ok()).unwrap_or(0);
        } else if let Some(p) = rec.strip_prefix("? ") {
            st.files.push(FileStatus { path: p.to_string(), state: FileState::Untracked, staged: false });
        } else if let Some(r) = rec.strip_prefix("1 ") {
            // 1 XY sub mH mI mW hH hI path
            let f: Vec<&str> = r.splitn(8, ' ').collect();
            if let (Some(xy), Some(path)) = (f.first(), f.get(7)) {
                let (state, staged) = state_of(xy);
                st.files.push(FileStatus { path: path.to_string(), state, staged });
            }
        } else if let Some(r) = rec.strip_prefix("2 ") {
            // 2 XY sub mH mI mW hH hI Xscore path, then the original path as a record
            let f: Vec<&str> = r.splitn(9, ' ').collect();
            if let (Some(xy), Some(path)) = (f.first(), f.get(8)) {
                let (_, staged) = state_of(xy);
                st.files.push(FileStatus { path: path.to_string(), state: FileState::Renamed, staged });
            }
            records.next();
        } else if let Some(r) = rec.strip_prefix("u ") {
            // u XY sub m1 m2 m3 mW h1 h2 h3 path
            if let Some(path) = r.splitn(10, ' ').nth(9) {
                st.files.push(FileStatus { path: path.to_string(), state: FileState::Conflicted, staged: false });
            }
        }
    }
    st
}

/// One commit of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// Its full hash.
    pub hash: String,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Author date, ISO 8601.
    pub date: String,
    /// First line of its message.
    pub subject: String,
}

/// The `--format` [`log`] reads.
pub const LOG_FORMAT: &str = "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%s%x1e";

/// Parses `git log` with [`LOG_FORMAT`].
pub fn log(out: &str) -> Vec<Commit> {
    out.split('\u{1e}')
        .filter_map(|rec| {
            let f: Vec<&str> = rec.trim_start_matches('\n').split('\u{1f}').collect();
            (f.len() == 5 && !f[0].is_empty()).then(|| Commit {
                hash: f[0].into(),
                author_name: f[1].into(),
                author_email: f[2].into(),
                date: f[3].into(),
                subject: f[4].into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_branch_counts_and_every_kind_of_path() {
        let out = "# branch.oid 0123abcd\0# branch.head main\0# branch.upstream origin/main\0# branch.ab +2 -1\0\
                   1 .M N... 100644 100644 100644 aaa bbb src/a file.rs\0\
                   1 A. N... 000000 100644 100644 000 ccc new.txt\0\
                   2 R. N... 100644 100644 100644 ddd eee R100 b.txt\0old b.txt\0\
                   ? notes/x.md\0";
        let st = status(out);
        assert_eq!(st.branch.as_deref(), Some("main"));
        assert_eq!(st.head.as_deref(), Some("0123abcd"));
        assert_eq!((st.ahead, st.behind), (2, 1));
        let got: Vec<_> = st.files.iter().map(|f| (f.path.as_str(), f.state, f.staged)).collect();
        assert_eq!(
            got,
            vec![
                ("src/a file.rs", FileState::Modified, false),
                ("new.txt", FileState::Added, true),
                ("b.txt", FileState::Renamed, true),
                ("notes/x.md", FileState::Untracked, false),
            ]
        );
        assert_eq!(status("# branch.oid (initial)\0# branch.head (detached)\0"), Status::default());
    }

    #[test]
    fn log_records_survive_odd_subjects() {
        let out = "abc\u{1f}Ann\u{1f}a@x\u{1f}2026-12-03T00:00:00+00:00\u{1f}fix: a | b\u{1e}\n\
                   def\u{1f}Bo\u{1f}b@x\u{1f}2026-12-02T00:00:00+00:00\u{1f}first\u{1e}";
        let l = log(out);
        assert_eq!(l.len(), 2);
        assert_eq!((l[0].subject.as_str(), l[1].hash.as_str()), ("fix: a | b", "def"));
    }
}
