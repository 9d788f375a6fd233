//! Where sandboxes run. One trait, one implementation per provider, chosen at start-up and
//! held as `Arc<dyn Backend>`, so services never know which one they talk to.

pub mod exec;
pub mod jail;
pub mod local;
mod local_exec;

use async_trait::async_trait;
use uuid::Uuid;

use self::exec::{ExecHandle, ExecRequest};
use crate::{entity::enums::BackendName, error::AppResult, service::templates::SandboxTemplate};

/// What a backend needs to create a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// Our id of the sandbox (tags and directory names use it).
    pub sandbox_id: Uuid,
    /// Owner (tags, per-account volumes).
    pub account_id: Uuid,
    /// The premade configuration.
    pub template: SandboxTemplate,
}

/// What the backend says about a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendStatus {
    /// Accepting work.
    Running,
    /// Stopped (by us, a timeout or the provider).
    Terminated,
    /// The backend does not know it.
    Missing,
}

/// A sandbox provider. Errors are [`AppError`](crate::error::AppError)s: provider
/// failures as PROVIDER_UNAVAILABLE with detail for the log only.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Which backend this is, stored on each sandbox row.
    fn name(&self) -> BackendName;

    /// Creates a sandbox and returns the backend's id for it.
    async fn create(&self, spec: &SandboxSpec) -> AppResult<String>;

    /// Stops a sandbox. Stopping one that is already gone succeeds.
    async fn terminate(&self, external_id: &str) -> AppResult<()>;

    /// Current state of a sandbox.
    async fn status(&self, external_id: &str) -> AppResult<BackendStatus>;

    /// Starts a command in the sandbox's workspace with a scrubbed environment.
    async fn exec(&self, external_id: &str, req: ExecRequest) -> AppResult<ExecHandle>;

    /// Whether commands run as root inside the sandbox (Claude then needs IS_SANDBOX=1
    /// before it accepts `--dangerously-skip-permissions`).
    fn runs_as_root(&self) -> bool;
}
