//! An [`AppError`] as one instance tells another over the internal channel: what the
//! client of the forwarding instance must see (code, reason, message), never the detail
//! of an internal failure, which stays in the log of the instance where it happened.

use serde::{Deserialize, Serialize};

use super::{AppError, codes, reasons};

/// What a NOT_FOUND names, as the code writes it; any other is "object".
const NOT_FOUND_NAMES: &[&str] = &[
    "account",
    "checkpoint",
    "delivery",
    "directory",
    "file",
    "path",
    "permission request",
    "process",
    "program",
    "run",
    "sandbox workspace",
    "sandbox",
    "server key",
    "snapshot object",
    "snapshot",
    "terminal",
    "token",
    "webhook",
];

fn known(list: &[&'static str], s: &str) -> Option<&'static str> {
    list.iter().find(|k| **k == s).copied()
}

/// An error on the wire between instances.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WireError {
    /// `extensions.code`.
    pub code: String,
    /// `extensions.reason`.
    pub reason: Option<String>,
    /// The public message.
    pub message: String,
    /// What was not found (NOT_FOUND).
    pub what: Option<String>,
    /// Which path (a path not found).
    pub path: Option<String>,
    /// When to retry (RATE_LIMITED).
    pub retry_after_ms: Option<u64>,
}

impl From<&AppError> for WireError {
    fn from(e: &AppError) -> Self {
        let (what, path) = match e {
            AppError::NotFound(what) => (Some(what.to_string()), None),
            AppError::PathNotFound { what, path } => (Some(what.to_string()), Some(path.clone())),
            _ => (None, None),
        };
        Self {
            code: e.code().to_string(),
            reason: e.reason().map(str::to_string),
            message: e.public_message(),
            what,
            path,
            retry_after_ms: e.retry_after_ms(),
        }
    }
}

impl WireError {
    /// The error as the forwarding instance raises it.
    pub fn into_app_error(self) -> AppError {
        let reason = self.reason.as_deref().and_then(|r| known(reasons::ALL, r));
        let what = self.what.as_deref().and_then(|w| known(NOT_FOUND_NAMES, w)).unwrap_or("object");
        match self.code.as_str() {
            codes::NOT_FOUND => match self.path {
                Some(path) => AppError::PathNotFound { what, path },
                None => AppError::NotFound(what),
            },
            codes::BAD_USER_INPUT => AppError::BadInput { message: self.message, reason },
            codes::CONFLICT => AppError::Conflict { message: self.message, reason },
            codes::FORBIDDEN => AppError::Forbidden(self.message),
            codes::RATE_LIMITED => AppError::rate_limited(self.message, self.retry_after_ms.unwrap_or(1000)),
            codes::PROVIDER_UNAVAILABLE => AppError::provider(self.message, "on the sandbox's host"),
            codes::BUDGET_EXCEEDED => AppError::BudgetExceeded(self.message),
            _ => AppError::Internal(anyhow::anyhow!("the sandbox's host failed: {}", self.message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_crosses_the_wire_with_its_code_reason_and_path() {
        let cases = [
            AppError::conflict_because(reasons::NOT_EMPTY, "not empty"),
            AppError::PathNotFound { what: "file", path: "a/b".into() },
            AppError::NotFound("sandbox"),
            AppError::bad_input("bad"),
        ];
        for e in cases {
            let back = WireError::from(&e).into_app_error();
            assert_eq!((back.code(), back.reason(), back.public_message()), (e.code(), e.reason(), e.public_message()));
        }
    }

    #[test]
    fn internal_detail_never_crosses() {
        let e = AppError::Internal(anyhow::anyhow!("password=hunter2"));
        let w = WireError::from(&e);
        assert!(!w.message.contains("hunter2"));
        assert_eq!(w.into_app_error().code(), codes::INTERNAL_SERVER_ERROR);
    }
}
