//! Per-run gateway tokens: the "API key" Claude gets inside a sandbox. It names its run
//! (so the gateway finds the run by primary key) and carries 32 random bytes; only its
//! SHA-256 is stored, on the run row, and it is honoured only while that run is RUNNING.

use base64::Engine;
use rand::RngCore;
use uuid::Uuid;

use sha2::{Digest, Sha256};

/// Prefix that makes a leaked run token recognisable.
const PREFIX: &str = "sgw_";

/// SHA-256 of a token, hex: what is stored (the same hash as every other token's).
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new token for `run_id` and the hash to store.
pub fn issue(run_id: Uuid) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let token = format!("{PREFIX}{}_{secret}", run_id.simple());
    let stored = hash(&token);
    (token, stored)
}

/// The run a token names, if it has the shape of one (the secret is checked against the
/// stored hash by the caller).
pub fn run_of(token: &str) -> Option<Uuid> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    if id.len() != 32 || secret.len() != 43 {
        return None;
    }
    Uuid::try_parse(id).ok()
}

/// Whether `token` is the one whose hash is `stored`, comparing every byte (no early
/// exit a timing probe could measure).
pub fn matches(token: &str, stored: &str) -> bool {
    let h = hash(token);
    h.len() == stored.len() && h.bytes().zip(stored.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_run_and_matches_only_its_hash() {
        let run = Uuid::now_v7();
        let (token, hash) = issue(run);
        assert_eq!(run_of(&token), Some(run));
        assert!(matches(&token, &hash));
        let (other, other_hash) = issue(run);
        assert!(!matches(&other, &hash) && !matches(&token, &other_hash));
        // Another run's id with this token's secret is a different token.
        let forged = token.replacen(&run.simple().to_string(), &Uuid::now_v7().simple().to_string(), 1);
        assert!(!matches(&forged, &hash));
        for bad in ["", "sgw_", "sbq_abc", "sgw_nothex_x", &token[..token.len() - 1]] {
            assert_eq!(run_of(bad), None, "{bad}");
        }
    }
}
