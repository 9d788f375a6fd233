//! A process and everything it started, found through `/proc` (a jailed process tree
//! lives in its own pid namespace and sessions, so no process group holds it all).

use std::collections::HashMap;

/// The pids below `root` that are at least `skip` levels down (level 1: its children),
/// parents before children. `pairs` are (pid, parent pid) of every process.
pub fn descendants(root: i32, pairs: &[(i32, i32)], skip: usize) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for &(pid, ppid) in pairs {
        children.entry(ppid).or_default().push(pid);
    }
    let mut out = Vec::new();
    let mut level = vec![root];
    let mut depth = 0;
    // Breadth first, one level at a time: no recursion, however deep the tree.
    while !level.is_empty() && depth <= pairs.len() {
        if depth >= skip && depth > 0 {
            out.extend(&level);
        }
        level = level.iter().flat_map(|p| children.get(p).cloned().unwrap_or_default()).collect();
        depth += 1;
    }
    out
}

/// (pid, parent pid) of every process on this host.
pub fn processes() -> Vec<(i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid …": comm may hold spaces and parentheses.
            let rest = &stat[stat.rfind(')')? + 1..];
            let ppid = rest.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Sends `signal` to every process at least `skip` levels below `root` (the wrappers
/// above them — bubblewrap, the relay — pass the exit on when their child ends).
pub fn signal_below(root: i32, skip: usize, signal: i32) -> usize {
    let targets = descendants(root, &processes(), skip);
    for pid in &targets {
        // SAFETY: kill(2) on a pid; no memory is touched.
        unsafe {
            libc::kill(*pid, signal);
        }
    }
    targets.len()
}

#[cfg(test)]
mod tests {
    use super::descendants;

    #[test]
    fn finds_every_level_below_the_wrappers() {
        // 10 → 11 → 12 → {13 → 15, 14}; 20 is unrelated.
        let pairs = [(11, 10), (12, 11), (13, 12), (14, 12), (15, 13), (20, 1)];
        assert_eq!(descendants(10, &pairs, 0), vec![11, 12, 13, 14, 15]);
        assert_eq!(descendants(10, &pairs, 3), vec![13, 14, 15]);
        assert!(descendants(99, &pairs, 0).is_empty());
    }

    #[test]
    fn a_cycle_in_a_racy_snapshot_ends() {
        let pairs = [(2, 1), (1, 2)];
        assert!(descendants(1, &pairs, 0).len() <= 4);
    }
}
