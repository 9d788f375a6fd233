//! What lets a browser into a PRIVATE preview: a short-lived link the API hands out, and
//! the cookie opening it sets. Both are HMAC-SHA256 over what they open (kind, preview
//! id, sandbox id, port) and their expiry, with a key every instance shares; a link or
//! cookie of another preview (another account's, or one exposed again) does not verify.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// What a signature opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The preview's row (a port exposed again has a new one).
    pub preview_id: Uuid,
    /// Its sandbox.
    pub sandbox_id: Uuid,
    /// Its port.
    pub port: u16,
}

/// Which credential a token is (a link cannot be used as a cookie, nor the reverse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The `?token=` of a link from `previewLink`.
    Link,
    /// The cookie an opened link sets.
    Cookie,
}

/// The shared signing key.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// Signs with `key` (at least 32 random bytes).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, kind: Kind, t: &Target, expires: i64) -> Hmac<Sha256> {
        // An HMAC takes a key of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        let kind = match kind {
            Kind::Link => "link",
            Kind::Cookie => "cookie",
        };
        mac.update(
            format!("sandboxql-preview|{kind}|{}|{}|{}|{expires}", t.preview_id, t.sandbox_id, t.port).as_bytes(),
        );
        mac
    }

    /// A token of `kind` for `t`, valid until `expires` (unix seconds): `{expires}.{mac}`.
    pub fn sign(&self, kind: Kind, t: &Target, expires: i64) -> String {
        let tag = self.mac(kind, t, expires).finalize().into_bytes();
        format!("{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Whether `token` is a `kind` for `t` that has not expired at `now`.
    pub fn verify(&self, kind: Kind, t: &Target, token: &str, now: i64) -> bool {
        let Some((expires, tag)) = token.split_once('.') else { return false };
        let (Ok(expires), Ok(tag)) = (expires.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else { return false };
        // Constant-time comparison of the tag.
        expires > now && self.mac(kind, t, expires).verify_slice(&tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target { preview_id: Uuid::from_u128(1), sandbox_id: Uuid::from_u128(2), port: 5173 }
    }

    #[test]
    fn a_token_opens_its_target_only_until_it_expires() {
        let s = Signer::new(vec![7; 32]);
        let t = target();
        let link = s.sign(Kind::Link, &t, 100);
        assert!(s.verify(Kind::Link, &t, &link, 99));
        assert!(!s.verify(Kind::Link, &t, &link, 100), "expired");
        assert!(!s.verify(Kind::Cookie, &t, &link, 99), "a link is not a cookie");
        assert!(!s.verify(Kind::Link, &Target { port: 5174, ..t }, &link, 99), "another port");
        assert!(!s.verify(Kind::Link, &Target { preview_id: Uuid::from_u128(3), ..t }, &link, 99), "exposed again");
        assert!(!Signer::new(vec![8; 32]).verify(Kind::Link, &t, &link, 99), "another key");
        let later = link.replacen("100.", "200.", 1);
        assert!(!s.verify(Kind::Link, &t, &later, 99), "the expiry is signed");
        for junk in ["", ".", "100", "100.", "x.y", "100.!!!"] {
            assert!(!s.verify(Kind::Link, &t, junk, 0), "{junk:?}");
        }
    }
}
