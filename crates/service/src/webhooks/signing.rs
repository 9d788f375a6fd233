//! Standard Webhooks signatures (standardwebhooks.com): a secret `whsec_{base64}`, and
//! per delivery `webhook-signature: v1,{base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}"))}`
//! (several, space-separated, while a rotated-out secret still signs).

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How signing secrets rest in the database: sealed under `--secrets-key` (AES-256-GCM,
/// the endpoint's id as associated data) when the server has one, as they are otherwise.
#[derive(Clone, Default)]
pub struct SecretBox(Option<std::sync::Arc<crate::credentials::sealing::Sealer>>);

/// The prefix of a sealed secret: `sealed:{key id}:{nonce and ciphertext}`.
const SEALED: &str = "sealed:";

impl SecretBox {
    /// A box sealing with `sealer` (None: secrets are stored as they are).
    pub fn new(sealer: Option<std::sync::Arc<crate::credentials::sealing::Sealer>>) -> Self {
        Self(sealer)
    }

    fn aad(webhook_id: uuid::Uuid) -> String {
        format!("sandboxql-webhook|{webhook_id}")
    }

    /// What to store for endpoint `webhook_id`'s `secret`.
    pub fn seal(&self, webhook_id: uuid::Uuid, secret: &str) -> crate::error::AppResult<String> {
        match &self.0 {
            Some(s) => {
                let (key, sealed) = s.seal(&Self::aad(webhook_id), secret.as_bytes())?;
                Ok(format!("{SEALED}{key}:{sealed}"))
            }
            None => Ok(secret.to_string()),
        }
    }

    /// The secret a stored value holds.
    pub fn open(&self, webhook_id: uuid::Uuid, stored: &str) -> crate::error::AppResult<String> {
        let Some(rest) = stored.strip_prefix(SEALED) else { return Ok(stored.to_string()) };
        let (Some(s), Some((key, sealed))) = (&self.0, rest.split_once(':')) else {
            return Err(crate::error::AppError::Internal(anyhow::anyhow!(
                "a webhook secret is sealed but no --secrets-key opens it"
            )));
        };
        let plain = s.open(key, &Self::aad(webhook_id), sealed)?;
        String::from_utf8(plain)
            .map_err(|_| crate::error::AppError::Internal(anyhow::anyhow!("an opened webhook secret is not text")))
    }
}

/// Bytes of a new secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A new signing secret, `whsec_` and base64.
pub fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `v1,…` signature of a delivery under `secret`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).unwrap_or_default();
    // An HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_specification_s_example() {
        // The example of the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(new_secret().starts_with("whsec_") && new_secret() != new_secret());
    }
}
