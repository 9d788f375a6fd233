//! The one error type of the crate and its stable client-facing codes.
//!
//! Services return [`AppError`]; the GraphQL layer turns it into an error with a stable
//! `extensions.code`. Details of internal failures (SQL, backend, storage) are logged with
//! the request id and never reach the client.

use std::fmt;

mod stable;
mod wire;

pub use stable::{codes, reasons};
pub use wire::WireError;

/// Why an operation failed, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Missing, unknown or revoked token, or a disabled account.
    #[error("authentication required: {0}")]
    Unauthenticated(&'static str),
    /// Authenticated but not allowed (e.g. a non-admin asking for another account).
    #[error("{0}")]
    Forbidden(String),
    /// Missing, deleted or not the caller's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A path the caller named does not exist (the path is the caller's own input).
    #[error("{what} `{path}` not found")]
    PathNotFound {
        /// What was looked for (file, directory, path).
        what: &'static str,
        /// The path as the caller wrote it.
        path: String,
    },
    /// Invalid input; the message says what and how to fix it, the reason (when one code
    /// covers several cases) which case it is.
    #[error("{message}")]
    BadInput {
        /// What is wrong and how to fix it.
        message: String,
        /// Which of the cases `BAD_USER_INPUT` covers, for clients to branch on.
        reason: Option<&'static str>,
    },
    /// Valid input that clashes with the current state.
    #[error("{message}")]
    Conflict {
        /// What clashes.
        message: String,
        /// Which of the cases `CONFLICT` covers.
        reason: Option<&'static str>,
    },
    /// A provider or store failed; `public` is safe to show, `detail` goes only to the log.
    #[error("{public}")]
    Provider {
        /// Safe message for the client.
        public: String,
        /// Internal detail for the log.
        detail: String,
    },
    /// Over a rate or concurrency limit; the message names the limit.
    #[error("{message}")]
    RateLimited {
        /// Which limit, in words.
        message: String,
        /// When a retry may succeed, in milliseconds.
        retry_after_ms: u64,
    },
    /// Ran over the request timeout.
    #[error("the request took longer than {0} ms and was stopped")]
    Timeout(u64),
    /// The account's budget (spend per day or month, or runs at once) is used up.
    #[error("{0}")]
    BudgetExceeded(String),
    /// APQ: the hash is unknown (the message is the one Apollo clients look for).
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// Not among the trusted documents.
    #[error("only trusted documents may run here; this one is not in the list")]
    UntrustedDocument,
    /// A bug or an infrastructure failure; the detail goes only to the log.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl AppError {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => codes::UNAUTHENTICATED,
            AppError::Forbidden(_) => codes::FORBIDDEN,
            AppError::NotFound(_) | AppError::PathNotFound { .. } => codes::NOT_FOUND,
            AppError::BadInput { .. } => codes::BAD_USER_INPUT,
            AppError::Conflict { .. } => codes::CONFLICT,
            AppError::Provider { .. } => codes::PROVIDER_UNAVAILABLE,
            AppError::RateLimited { .. } => codes::RATE_LIMITED,
            AppError::Timeout(_) => codes::REQUEST_TIMEOUT,
            AppError::BudgetExceeded(_) => codes::BUDGET_EXCEEDED,
            AppError::PersistedQueryNotFound => codes::PERSISTED_QUERY_NOT_FOUND,
            AppError::UntrustedDocument => codes::UNTRUSTED_DOCUMENT,
            AppError::Internal(_) => codes::INTERNAL_SERVER_ERROR,
        }
    }

    /// Which case of its code this error is (`extensions.reason`), where one code covers
    /// several.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            AppError::BadInput { reason, .. } | AppError::Conflict { reason, .. } => *reason,
            _ => None,
        }
    }

    /// When a retry may succeed, for errors that say so.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }

    /// Shorthand for a rate or concurrency limit.
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        AppError::RateLimited { message: message.into(), retry_after_ms }
    }

    /// The message a client may see: never internal detail.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal server error".to_string(),
            AppError::Unauthenticated(why) => format!("authentication required: {why}"),
            other => other.to_string(),
        }
    }

    /// Internal detail worth logging, if any.
    pub fn log_detail(&self) -> Option<String> {
        match self {
            AppError::Internal(e) => Some(format!("{e:#}")),
            AppError::Provider { detail, .. } => Some(detail.clone()),
            _ => None,
        }
    }

    /// A provider failure whose detail is logged and whose message is generic.
    pub fn provider(public: impl Into<String>, detail: impl fmt::Display) -> Self {
        AppError::Provider { public: public.into(), detail: detail.to_string() }
    }

    /// This error with the path the caller asked for, when it says a file, directory or
    /// path was not found (so the message names it).
    pub fn at_path(self, path: &str) -> Self {
        match self {
            AppError::NotFound(what @ ("file" | "directory" | "path")) => {
                AppError::PathNotFound { what, path: path.chars().take(300).collect() }
            }
            other => other,
        }
    }

    /// Shorthand for an invalid-input error.
    pub fn bad_input(msg: impl Into<String>) -> Self {
        AppError::BadInput { message: msg.into(), reason: None }
    }

    /// An invalid-input error with its reason (one of [`reasons`]).
    pub fn bad_input_because(reason: &'static str, msg: impl Into<String>) -> Self {
        AppError::BadInput { message: msg.into(), reason: Some(reason) }
    }

    /// Shorthand for a conflict.
    pub fn conflict(msg: impl Into<String>) -> Self {
        AppError::Conflict { message: msg.into(), reason: None }
    }

    /// A conflict with its reason (one of [`reasons`]).
    pub fn conflict_because(reason: &'static str, msg: impl Into<String>) -> Self {
        AppError::Conflict { message: msg.into(), reason: Some(reason) }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("database"))
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("io"))
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        AppError::Internal(e)
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("json"))
    }
}

/// Result alias used across services.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_stable_code() {
        let cases = [
            (AppError::Unauthenticated("x"), codes::UNAUTHENTICATED),
            (AppError::Forbidden("x".into()), codes::FORBIDDEN),
            (AppError::NotFound("sandbox"), codes::NOT_FOUND),
            (AppError::bad_input("x"), codes::BAD_USER_INPUT),
            (AppError::conflict("x"), codes::CONFLICT),
            (AppError::provider("p", "d"), codes::PROVIDER_UNAVAILABLE),
            (AppError::rate_limited("x", 5), codes::RATE_LIMITED),
            (AppError::Timeout(5), codes::REQUEST_TIMEOUT),
            (AppError::BudgetExceeded("x".into()), codes::BUDGET_EXCEEDED),
            (AppError::PersistedQueryNotFound, codes::PERSISTED_QUERY_NOT_FOUND),
            (AppError::UntrustedDocument, codes::UNTRUSTED_DOCUMENT),
            (AppError::Internal(anyhow::anyhow!("x")), codes::INTERNAL_SERVER_ERROR),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code);
        }
    }

    #[test]
    fn internal_detail_never_reaches_the_public_message() {
        let e: AppError = sea_orm::DbErr::Custom("password=hunter2 relation users".into()).into();
        assert_eq!(e.public_message(), "internal server error");
        assert!(e.log_detail().unwrap().contains("hunter2"));
        let p = AppError::provider("the sandbox provider is unavailable", "modal: secret-token-xyz");
        assert!(!p.public_message().contains("secret-token-xyz"));
        assert!(p.log_detail().unwrap().contains("secret-token-xyz"));
    }

    #[test]
    fn not_found_names_the_thing() {
        assert_eq!(AppError::NotFound("run").public_message(), "run not found");
    }
}
