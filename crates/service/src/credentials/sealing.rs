//! Sealing credential secrets at rest: AES-256-GCM under `--secrets-key`, a fresh random
//! nonce per seal, the row's account and host as associated data (a sealed secret copied
//! to another account's row does not open). Each sealed value names its key by id, so
//! earlier keys (`--secrets-old-keys`) still open what they sealed during a rotation.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    rand::{SecureRandom, SystemRandom},
};
use sha2::{Digest, Sha256};

use crate::{
    config::{BrokerConfig, Secret},
    error::{AppError, AppResult},
};

/// A key and its id.
struct Key {
    id: String,
    key: LessSafeKey,
}

/// The current key (seals and opens) and earlier ones (open only).
pub struct Sealer {
    current: Key,
    old: Vec<Key>,
    rng: SystemRandom,
}

fn key_of(secret: &Secret) -> anyhow::Result<Key> {
    let raw = STANDARD
        .decode(secret.0.trim())
        .map_err(|_| anyhow::anyhow!("a secrets key must be 32 bytes in base64 (openssl rand -base64 32)"))?;
    let key = UnboundKey::new(&AES_256_GCM, &raw)
        .map_err(|_| anyhow::anyhow!("a secrets key must be 32 bytes in base64 (openssl rand -base64 32)"))?;
    // The id names the key without revealing it: a prefix of its hash.
    let id = hex::encode(&Sha256::digest(&raw)[..8]);
    Ok(Key { id, key: LessSafeKey::new(key) })
}

impl Sealer {
    /// The sealer of the configuration; None without `--secrets-key`.
    pub fn from_config(cfg: &BrokerConfig) -> anyhow::Result<Option<Self>> {
        let Some(current) = &cfg.secrets_key else { return Ok(None) };
        let old = cfg.secrets_old_keys.iter().map(key_of).collect::<anyhow::Result<_>>()?;
        Ok(Some(Self { current: key_of(current)?, old, rng: SystemRandom::new() }))
    }

    /// The id of the key new seals use.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// `plain` sealed for `aad`: (key id, base64 of nonce and ciphertext).
    pub fn seal(&self, aad: &str, plain: &[u8]) -> AppResult<(String, String)> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| AppError::Internal(anyhow::anyhow!("no randomness for a nonce")))?;
        let mut data = plain.to_vec();
        self.current
            .key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad.as_bytes()), &mut data)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("sealing a credential failed")))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok((self.current.id.clone(), STANDARD.encode(out)))
    }

    /// What [`Self::seal`] sealed for `aad` with the key `key_id`.
    pub fn open(&self, key_id: &str, aad: &str, sealed: &str) -> AppResult<Vec<u8>> {
        let key = std::iter::once(&self.current).chain(&self.old).find(|k| k.id == key_id).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("a credential is sealed with key {key_id}, not configured"))
        })?;
        let bad =
            || AppError::Internal(anyhow::anyhow!("a sealed credential does not open (tampered, or another row's)"));
        let raw = STANDARD.decode(sealed).map_err(|_| bad())?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut data = data.to_vec();
        let plain = key.key.open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data).map_err(|_| bad())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(key: &str, old: &[&str]) -> BrokerConfig {
        BrokerConfig {
            secrets_key: Some(Secret(key.into())),
            secrets_old_keys: old.iter().map(|k| Secret(k.to_string())).collect(),
            broker_ca: vec![],
        }
    }

    const A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const B: &str = "HxseHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

    #[test]
    fn a_seal_opens_for_its_row_only_and_under_an_old_key_after_rotation() {
        let s = Sealer::from_config(&cfg(A, &[])).unwrap().unwrap();
        let (id, sealed) = s.seal("acct|host", b"ghp_secret").unwrap();
        assert!(!sealed.contains("ghp_secret"));
        assert_eq!(s.open(&id, "acct|host", &sealed).unwrap(), b"ghp_secret");
        assert!(s.open(&id, "other|host", &sealed).is_err(), "another row's associated data");
        let (_, again) = s.seal("acct|host", b"ghp_secret").unwrap();
        assert_ne!(sealed, again, "a fresh nonce each time");
        let rotated = Sealer::from_config(&cfg(B, &[A])).unwrap().unwrap();
        assert_ne!(rotated.current_id(), id);
        assert_eq!(rotated.open(&id, "acct|host", &sealed).unwrap(), b"ghp_secret");
        assert!(Sealer::from_config(&cfg(B, &[])).unwrap().unwrap().open(&id, "acct|host", &sealed).is_err());
        assert!(Sealer::from_config(&cfg("c2hvcnQ=", &[])).is_err(), "a key of the wrong size");
    }
}
