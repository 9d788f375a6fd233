//! GraphQL enums mirroring the stored ones, so the wire names are declared in one place.

use async_graphql::Enum;

use crate::entity::enums;

/// Account privilege.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::Role")]
pub enum Role {
    /// Sees only its own rows.
    User,
    /// Sees every account's rows.
    Admin,
}

/// What runs inside a sandbox.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::Provider")]
pub enum Provider {
    /// Claude Code CLI.
    ClaudeCode,
}

/// Where a sandbox lives.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::BackendName")]
pub enum Backend {
    /// On the server host.
    Local,
    /// In Modal.
    Modal,
}

/// Lifecycle of a sandbox.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::SandboxStatus")]
pub enum SandboxStatus {
    /// Being created.
    Creating,
    /// Ready for work.
    Running,
    /// Being deleted (final snapshot, then stop); no run can start.
    Deleting,
    /// Asleep: its Modal sandbox ended (lifetime, idle timeout). Files can be read; the
    /// next run, write or sync wakes it on the same volume.
    Sleeping,
    /// Stopped.
    Terminated,
    /// Failed; see statusReason.
    Error,
}

/// Lifecycle of a run.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::RunStatus")]
pub enum RunStatus {
    /// Claude is working.
    Running,
    /// Claude finished without error.
    Succeeded,
    /// Claude or its process failed; see `error`.
    Failed,
    /// Cancelled by a user.
    Cancelled,
    /// The server stopped while it ran.
    Interrupted,
}

/// How a run's tool calls are permitted.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(remote = "enums::RunPermissionMode")]
pub enum PermissionMode {
    /// Every tool call runs without asking (the sandbox template's permissions).
    #[default]
    Bypass,
    /// Each tool call Claude would ask a user about becomes a PermissionRequested event
    /// and waits for `answerPermission` (denied after a timeout).
    Ask,
}

/// Where a tool permission request stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::PermissionStatus")]
pub enum PermissionStatus {
    /// Waiting for an answer.
    Pending,
    /// Allowed by a user.
    Allowed,
    /// Denied by a user.
    Denied,
    /// Denied because nobody answered in time.
    TimedOut,
    /// Withdrawn by Claude (its turn was interrupted) or the run ended first.
    Withdrawn,
}

/// Who may open a preview URL.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "enums::PreviewVisibility")]
pub enum PreviewVisibility {
    /// Only a browser that opened the preview's signed `link` (it sets a cookie for that
    /// preview's host); anyone else gets 401.
    Private,
    /// Anyone with the URL.
    Public,
}

/// Whether a snapshot's stored content was read back and found whole.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SnapshotStatus {
    /// Not read back yet.
    Unverified,
    /// Every blob was there with the right bytes when last read.
    Verified,
    /// Some content is damaged or missing (`corruptPaths`).
    Corrupt,
}

impl From<crate::entity::enums::SnapshotStatus> for SnapshotStatus {
    fn from(s: crate::entity::enums::SnapshotStatus) -> Self {
        use crate::entity::enums::SnapshotStatus as S;
        match s {
            S::Unverified => SnapshotStatus::Unverified,
            S::Verified => SnapshotStatus::Verified,
            S::Corrupt => SnapshotStatus::Corrupt,
        }
    }
}
