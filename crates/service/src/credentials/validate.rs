//! What `setCredential` takes, checked: a host name (and port) in lower case, a header
//! name that is a plain token and not one the broker owns, and a secret that fits in a
//! header (no line breaks) and within `credentialMaxSecretBytes`.

use crate::{
    config::GitLimits,
    entity::enums::CredentialKind,
    error::{AppError, AppResult},
};

/// Headers a credential may not set: they belong to the connection or to the broker.
const RESERVED: &[&str] =
    &["host", "connection", "content-length", "transfer-encoding", "te", "upgrade", "proxy-authorization", "cookie"];

/// A credential to set.
#[derive(Clone)]
pub struct NewCredential {
    /// The host (`host` or `host:port`).
    pub host: String,
    /// How it is added.
    pub kind: CredentialKind,
    /// GIT_HTTPS's user name (default `x-access-token`, which GitHub, GitLab and Gitea
    /// take with a token).
    pub username: Option<String>,
    /// The secret.
    pub secret: String,
    /// HTTP_HEADER's header (default `Authorization`).
    pub header_name: Option<String>,
}

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredential").field("host", &self.host).field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// `host` or `host:port`, lower-cased; anything else is BAD_USER_INPUT.
pub fn host(raw: &str) -> AppResult<String> {
    let h = raw.trim().to_ascii_lowercase();
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (h.as_str(), None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !name_ok || !port_ok {
        return Err(AppError::bad_input(format!("host: {raw:?} is not a host name (with an optional :port)")));
    }
    Ok(h)
}

fn header_name(raw: &str) -> AppResult<String> {
    let n = raw.trim().to_ascii_lowercase();
    let token = !n.is_empty() && n.len() <= 64 && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
    if !token || RESERVED.contains(&n.as_str()) {
        return Err(AppError::bad_input(format!("headerName: {raw:?} is not a header a credential may set")));
    }
    Ok(n)
}

impl NewCredential {
    /// The credential with its fields checked and defaulted.
    pub fn checked(mut self, limits: &GitLimits) -> AppResult<Self> {
        self.host = host(&self.host)?;
        if self.secret.is_empty() || self.secret.len() as u64 > limits.credential_max_secret_bytes {
            return Err(AppError::bad_input(format!("secret: 1 to {} bytes", limits.credential_max_secret_bytes)));
        }
        if self.secret.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(AppError::bad_input("secret: no control characters (it must fit in a header)"));
        }
        match self.kind {
            CredentialKind::GitHttps => {
                let user = self.username.take().unwrap_or_else(|| "x-access-token".into());
                if user.is_empty() || user.len() > 256 || user.contains(':') || user.bytes().any(|b| b < 0x20) {
                    return Err(AppError::bad_input("username: 1 to 256 characters, no ':'"));
                }
                self.username = Some(user);
                self.header_name = None;
            }
            CredentialKind::HttpHeader => {
                self.header_name = Some(header_name(self.header_name.as_deref().unwrap_or("authorization"))?);
                self.username = None;
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_headers_are_checked() {
        assert_eq!(host("GitHub.com").unwrap(), "github.com");
        assert_eq!(host("127.0.0.1:8443").unwrap(), "127.0.0.1:8443");
        for bad in ["", "a/b", "x:0", "x:99999", "a..b", "user@host", "h:1:2", "ünï.com"] {
            assert!(host(bad).is_err(), "{bad}");
        }
        assert_eq!(header_name("X-Api-Key").unwrap(), "x-api-key");
        for bad in ["Host", "cookie", "a b", "", "x:y"] {
            assert!(header_name(bad).is_err(), "{bad}");
        }
    }
}
