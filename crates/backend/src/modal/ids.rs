//! Which generation of Modal's sandbox API a sandbox belongs to, told from its id the way
//! the official client tells it (`_is_v1_sandbox_id` in `modal/sandbox/_common.py`): `sb-`
//! and 22 base-62 characters is a V1 sandbox, spoken to with the V1 calls; anything else
//! is V2. New sandboxes are V2 (the official client's default); ids minted by V1 creates
//! before this release keep their V1 calls.

/// Length of a V1 sandbox id after its `sb-` prefix.
const V1_SUFFIX_LEN: usize = 22;

/// Whether `id` names a V1 sandbox.
pub(super) fn is_v1(id: &str) -> bool {
    id.strip_prefix("sb-").is_some_and(|s| s.len() == V1_SUFFIX_LEN && s.bytes().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::is_v1;

    #[test]
    fn v1_ids_are_sb_and_22_base62_characters() {
        assert!(is_v1("sb-0123456789abcdefABCDEF"));
        assert!(!is_v1("sb-0123456789abcdefABCDE"), "21 characters");
        assert!(!is_v1("sb-0123456789abcdefABCDEFG"), "23 characters");
        assert!(!is_v1("sb-0123456789abcdef_BCDEF"), "not base 62");
        assert!(!is_v1("sbx-0123456789abcdefABCDEF"));
        assert!(!is_v1("sb-12"), "the old fake's ids are V2 to the official client too");
    }
}
