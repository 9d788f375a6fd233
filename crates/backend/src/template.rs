//! Premade sandbox templates per provider and agent: the frontend names a provider, never
//! an image, a volume or a secret (the seed's GetSandboxTemplate / BuildSandboxConfig).

use uuid::Uuid;

use crate::{entity::enums::Provider, error::AppResult};

/// How Claude is allowed to use tools inside the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionMode {
    /// `--dangerously-skip-permissions`: every tool without asking (needs a jail or IS_SANDBOX).
    SkipPermissions,
    /// `--allowedTools …`: only the listed tools.
    AllowedTools,
}

/// Everything a backend needs to build a sandbox of one kind.
#[derive(Debug, Clone)]
pub struct SandboxTemplate {
    /// Provider this template serves.
    pub provider: Provider,
    /// Short machine name.
    pub name: &'static str,
    /// What a user gets.
    pub description: &'static str,
    /// Name of the container image (Modal) with the Claude Code CLI.
    pub image: &'static str,
    /// How a container backend builds that image: Dockerfile commands, so the provider
    /// builds and caches it and nothing has to be pushed to a registry first.
    pub image_dockerfile: &'static [&'static str],
    /// Where the workspace is mounted inside a container backend.
    pub workdir: &'static str,
    /// Hard lifetime of a backend sandbox.
    pub timeout_secs: u32,
    /// Idle lifetime of a backend sandbox.
    pub idle_timeout_secs: u32,
    /// Permission flags Claude runs with.
    pub permission_mode: PermissionMode,
    /// Tools allowed when `permission_mode` is AllowedTools.
    pub allowed_tools: &'static [&'static str],
    /// Extra environment for processes in the sandbox (no secrets: those are injected by
    /// the backend from server configuration).
    pub env: &'static [(&'static str, &'static str)],
}

const CLAUDE_CODE: SandboxTemplate = SandboxTemplate {
    provider: Provider::ClaudeCode,
    name: "claude-code",
    description: "Claude Code CLI in an isolated workspace",
    image: "claude",
    image_dockerfile: &[
        "FROM node:22-bookworm-slim",
        "RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git procps ripgrep && rm -rf /var/lib/apt/lists/*",
        "RUN npm install -g @anthropic-ai/claude-code@2.1.197 && npm cache clean --force",
        "RUN mkdir -p /mnt/workspace",
    ],
    workdir: "/mnt/workspace",
    timeout_secs: 24 * 3600,
    idle_timeout_secs: 3600,
    permission_mode: PermissionMode::SkipPermissions,
    allowed_tools: &["Bash", "Read", "Write", "Edit", "Glob", "Grep", "LS"],
    env: &[("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")],
};

/// The template for a provider and agent. Every provider has one today; the agent id is
/// the hook for per-agent variants.
pub fn for_provider(provider: Provider, _agent_id: Option<Uuid>) -> AppResult<SandboxTemplate> {
    match provider {
        Provider::ClaudeCode => Ok(CLAUDE_CODE),
    }
}

/// Every template, for the `templates` query.
pub fn all() -> Vec<SandboxTemplate> {
    vec![CLAUDE_CODE]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_a_template_that_runs_claude_in_the_workspace() {
        let t = for_provider(Provider::ClaudeCode, None).unwrap();
        assert_eq!(t.workdir, "/mnt/workspace");
        assert!(t.image_dockerfile.iter().any(|l| l.contains("@anthropic-ai/claude-code")));
        assert!(t.idle_timeout_secs <= t.timeout_secs);
        assert_eq!(all().len(), 1);
    }

    #[test]
    fn templates_carry_no_secret() {
        for t in all() {
            for (k, _) in t.env {
                assert!(!k.contains("KEY") && !k.contains("TOKEN") && !k.contains("SECRET"), "{k}");
            }
        }
    }
}
