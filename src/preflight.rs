//! What a newcomer's server is missing, said once at start-up with what to do: the Claude
//! Code CLI (found, and its version) for local sandboxes, and an upstream credential for
//! the Anthropic gateway. Neither stops the server (the API, files and snapshots work
//! without them); runs then fail with a clear reason (`CLAUDE_NOT_FOUND`).

use std::time::Duration;

use crate::config::{BackendKind, Config};

/// How long `claude --version` may take at start-up.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// What start-up found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// The Claude Code CLI's version, when it was found (local backend only).
    pub claude_version: Option<String>,
    /// Things missing, each with what to do.
    pub warnings: Vec<String>,
}

/// The version line `claude --version` prints (`2.1.197 (Claude Code)`).
async fn version_of(program: &std::path::Path) -> Option<String> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.arg("--version").stdin(std::process::Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(VERSION_TIMEOUT, cmd.output()).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    out.status.success().then(|| text.lines().next().unwrap_or("").trim().to_string())
}

/// Checks the configuration's environment and logs each missing piece once.
pub async fn check(config: &Config) -> Findings {
    let mut found = Findings::default();
    if config.backend == BackendKind::Local {
        let bin = &config.runs.claude_bin;
        match crate::backend::local::jail::resolve_program(bin) {
            Some(path) => match version_of(&path).await {
                Some(v) => {
                    tracing::info!(path = %path.display(), version = %v, "Claude Code CLI found");
                    found.claude_version = Some(v);
                }
                None => found.warnings.push(format!(
                    "`{bin}` ({}) did not answer `--version`: runs may fail; check that it is the Claude Code CLI",
                    path.display()
                )),
            },
            None => found.warnings.push(format!(
                "the Claude Code CLI (`{bin}`) was not found: runs will fail with CLAUDE_NOT_FOUND until it is \
                 installed (npm install -g @anthropic-ai/claude-code) or --claude-bin (CLAUDE_BIN) points at it"
            )),
        }
    }
    let g = &config.gateway;
    if g.anthropic_api_key.is_none() && g.anthropic_auth_token.is_none() {
        found.warnings.push(
            "no upstream credential for the Anthropic gateway: Claude's requests will be refused until \
             ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) is set"
                .to_string(),
        );
    }
    for w in &found.warnings {
        tracing::warn!("{w}");
    }
    found
}
