//! What each field may cost, in one unit, so a request's total work is known (and refused
//! when over `limits.maxQueryCost`) before anything runs.
//!
//! One unit is roughly one field of an already loaded object, or one KiB read, or a
//! hundred walked entries; a database query or a backend call costs [`QUERY`], a list
//! costs its page size times what each item selects. The bounds of work that a field's
//! arguments do not show (a recursive walk stops at `maxWalkEntries`, a sync at
//! `maxSnapshotEntries`) are charged at their default limits.

/// A database query or one backend call (stat, read, list one directory).
pub const QUERY: usize = 250;
/// A recursive listing: up to 500,000 entries walked (the default `maxWalkEntries`).
pub const RECURSIVE_WALK: usize = 20_000;
/// A snapshot: the whole workspace walked, new files hashed and uploaded.
pub const SYNC: usize = 25_000;
/// Creating a sandbox (a backend create) or starting a run (a process).
pub const CREATE: usize = 2_500;
/// A tree: up to 5,000 nodes (the default `maxTreeNodes`) walked.
pub const TREE: usize = 2_500;
/// Sniffing a file's type: a call and its first 8 KiB.
pub const SNIFF: usize = QUERY / 10 + 8;

/// Units of a read or write of `bytes` (1 per KiB).
pub fn bytes(bytes: i64) -> usize {
    (bytes.max(0) as usize).div_ceil(1024)
}

/// A page of `first` items selected with `child` each, from one query.
pub fn page(first: i64, child: usize) -> usize {
    QUERY.saturating_add((first.max(0) as usize).saturating_mul(child.max(1)))
}

/// A listing: one call, a recursive walk when asked, and a page of entries.
pub fn files(recursive: bool, first: i64, child: usize) -> usize {
    page(first, child).saturating_add(if recursive { RECURSIVE_WALK } else { 0 })
}

/// A file's content: a call and the bytes asked for.
pub fn content(max_bytes: i64, child: usize) -> usize {
    QUERY.saturating_add(bytes(max_bytes)).saturating_add(child)
}

/// A tree: one walk of up to the node limit, each node selecting `child`.
pub fn tree(child: usize) -> usize {
    QUERY.saturating_add(TREE).saturating_add(child.saturating_mul(50))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_abusive_requests_of_the_issue_are_over_the_default_budget() {
        let budget = 50_000;
        assert!(1000 * content(10 * 1024 * 1024, 5) > budget);
        assert!(content(10 * 1024 * 1024, 5) < budget, "one big read is fine");
        assert!(1000 * files(true, 0, 1) > budget);
        assert!(200 * page(20, 1) > budget, "200 aliases of snapshots");
        assert!(page(50, 10) < 1000, "an ordinary page is cheap");
        assert_eq!(bytes(0), 0);
        assert_eq!(bytes(1), 1);
        assert_eq!(bytes(-5), 0);
        assert!(files(true, i64::MAX, usize::MAX) == usize::MAX, "saturates, never wraps");
    }
}
