//! `SandboxTemplate`: what a user can create, without the backend-only details.

use async_graphql::Object;

use super::enums::Provider;
use crate::backend::template::SandboxTemplate as Template;

/// A premade sandbox kind.
pub struct SandboxTemplate(pub Template);

#[Object]
impl SandboxTemplate {
    /// Provider to pass to createSandbox.
    async fn provider(&self) -> Provider {
        self.0.provider.into()
    }
    /// Short name.
    async fn name(&self) -> &str {
        self.0.name
    }
    /// What it offers.
    async fn description(&self) -> &str {
        self.0.description
    }
    /// Hard lifetime of a sandbox, in seconds.
    async fn timeout_seconds(&self) -> u32 {
        self.0.timeout_secs
    }
    /// Idle lifetime of a sandbox, in seconds.
    async fn idle_timeout_seconds(&self) -> u32 {
        self.0.idle_timeout_secs
    }
}
