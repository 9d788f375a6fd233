//! The limits' defaults, overrides and refusals.

use clap::Parser;

use super::LimitsOnly as Only;

#[test]
fn defaults_are_the_documented_ones() {
    let l = Only::parse_from(["x"]).limits;
    assert_eq!(l.max_page_size, 100);
    assert_eq!(l.max_file_read_bytes, 10 * 1024 * 1024);
    assert_eq!(l.max_walk_entries, 500_000);
    assert_eq!(l.run_timeout_secs, 3600);
}

#[test]
fn a_flag_overrides_a_default() {
    let l = Only::parse_from(["x", "--max-page-size", "7", "--max-tree-depth", "3"]).limits;
    assert_eq!((l.max_page_size, l.max_tree_depth), (7, 3));
}

#[test]
fn a_malformed_limit_is_refused() {
    assert!(Only::try_parse_from(["x", "--max-page-size", "-1"]).is_err());
    assert!(Only::try_parse_from(["x", "--max-body-bytes", "lots"]).is_err());
}
