//! Stored enumerations, kept as readable strings in both databases.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Account privilege: admins see every account's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Role {
    /// An ordinary account, sees only its own rows.
    #[sea_orm(string_value = "USER")]
    User,
    /// Sees and manages every account's rows.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

/// What runs inside a sandbox; picks the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Provider {
    /// Claude Code CLI.
    #[sea_orm(string_value = "CLAUDE_CODE")]
    ClaudeCode,
}

/// Where a sandbox lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum BackendName {
    /// A directory and processes on the server host.
    #[sea_orm(string_value = "local")]
    Local,
    /// A Modal sandbox.
    #[sea_orm(string_value = "modal")]
    Modal,
}

/// Lifecycle of a sandbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum SandboxStatus {
    /// Row written, backend not yet answered.
    #[sea_orm(string_value = "CREATING")]
    Creating,
    /// Backend sandbox exists and accepts work.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// Being deleted: no run may start; it disappears once its final snapshot is taken
    /// and its backend sandbox stopped.
    #[sea_orm(string_value = "DELETING")]
    Deleting,
    /// Its backend sandbox ended on its own (Modal: lifetime, idle timeout); the files
    /// live on in its volume and the next run or write wakes it.
    #[sea_orm(string_value = "SLEEPING")]
    Sleeping,
    /// Backend sandbox was stopped.
    #[sea_orm(string_value = "TERMINATED")]
    Terminated,
    /// Creation or the backend failed; `status_reason` says why.
    #[sea_orm(string_value = "ERROR")]
    Error,
}

/// Lifecycle of a Claude run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RunStatus {
    /// The process is (or was last known to be) running.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// Claude finished without error.
    #[sea_orm(string_value = "SUCCEEDED")]
    Succeeded,
    /// Claude or its process failed.
    #[sea_orm(string_value = "FAILED")]
    Failed,
    /// A user cancelled it.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
    /// The server died while it ran.
    #[sea_orm(string_value = "INTERRUPTED")]
    Interrupted,
}

/// Whether a snapshot's stored content was read back and found whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum SnapshotStatus {
    /// Not read back yet.
    #[sea_orm(string_value = "UNVERIFIED")]
    Unverified,
    /// Every blob was there with the right bytes when last read.
    #[sea_orm(string_value = "VERIFIED")]
    Verified,
    /// Some blob was damaged or missing (the paths are on the row).
    #[sea_orm(string_value = "CORRUPT")]
    Corrupt,
}

/// How far an account's erasure has come: its sandboxes first, then its stored objects,
/// then its remaining rows. Each stage is idempotent, so whoever resumes redoes the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ErasureStage {
    /// Stopping and removing each sandbox: backend, workspace, volume and its rows.
    #[sea_orm(string_value = "SANDBOXES")]
    Sandboxes,
    /// Deleting every object under the account's storage prefix.
    #[sea_orm(string_value = "OBJECTS")]
    Objects,
    /// Deleting the account's remaining rows, then the account.
    #[sea_orm(string_value = "ROWS")]
    Rows,
}

/// Who may open a preview URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum PreviewVisibility {
    /// Only a browser that opened a signed link from the API (its cookie).
    #[sea_orm(string_value = "PRIVATE")]
    Private,
    /// Anyone with the URL.
    #[sea_orm(string_value = "PUBLIC")]
    Public,
}

/// How the broker adds a credential to a request for its host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum CredentialKind {
    /// Git over HTTPS: `Authorization: Basic` of the username and the secret (a token).
    #[sea_orm(string_value = "GIT_HTTPS")]
    GitHttps,
    /// Any HTTPS API: the secret as the value of one header.
    #[sea_orm(string_value = "HTTP_HEADER")]
    HttpHeader,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum DeliveryStatus {
    /// Not answered 2xx yet; attempted again at `next_attempt_at`.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// Answered 2xx.
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    /// Its retries ran out.
    #[sea_orm(string_value = "FAILED")]
    Failed,
}

/// Lifecycle of a user's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ProcessStatus {
    /// It runs (or ran last its instance knew).
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// It ended: its exit code says how.
    #[sea_orm(string_value = "EXITED")]
    Exited,
    /// Its instance died while it ran; it is gone with it.
    #[sea_orm(string_value = "INTERRUPTED")]
    Interrupted,
}

/// How a run's tool calls are permitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize, Default)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum RunPermissionMode {
    /// Every tool call runs without asking (the template's permission flags).
    #[default]
    #[sea_orm(string_value = "BYPASS")]
    Bypass,
    /// Each tool call Claude's rules would ask about waits for `answerPermission`.
    #[sea_orm(string_value = "ASK")]
    Ask,
}

/// Where a tool permission request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum PermissionStatus {
    /// Waiting for an answer.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// A user allowed it.
    #[sea_orm(string_value = "ALLOWED")]
    Allowed,
    /// A user denied it.
    #[sea_orm(string_value = "DENIED")]
    Denied,
    /// Nobody answered in time: denied.
    #[sea_orm(string_value = "TIMED_OUT")]
    TimedOut,
    /// Claude withdrew it (its turn was interrupted) or the run ended first.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}
