//! Sandbox templates: what a sandbox is made of (its image on Modal, its resources, its
//! timeouts, how Claude may use tools, its environment). The frontend names a template,
//! never an image, a volume or a secret. The built-in `claude-code` template is the
//! default; an operator replaces the set with a file of their own (`--templates`, TOML,
//! see [`file`]).

pub mod file;
mod size;

use std::sync::Arc;

use serde::Deserialize;

pub use self::size::parse_size;
use crate::{
    entity::enums::Provider,
    error::{AppError, AppResult},
};

/// How Claude is allowed to use tools inside the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionMode {
    /// `--dangerously-skip-permissions`: every tool without asking (needs a jail or IS_SANDBOX).
    SkipPermissions,
    /// `--allowedTools …`: only the listed tools.
    AllowedTools,
}

/// What one sandbox may use. The local backend holds it with a cgroup, a disk image and
/// a sized `/tmp`; Modal gets CPU and memory in its create request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resources {
    /// CPU cores it is weighted for (its share under contention).
    pub cpu: f64,
    /// Hard cap in cores, if any (the CPU it may never exceed, even when idle).
    pub cpu_max: Option<f64>,
    /// Memory in bytes (RAM and its `/tmp`, which lives in RAM); swap is off for it.
    pub memory_bytes: u64,
    /// Disk in bytes: workspace and home together.
    pub disk_bytes: u64,
    /// Processes and threads at once.
    pub processes: u64,
    /// Size of its `/tmp` in bytes (counted in its memory too).
    pub tmp_bytes: u64,
}

/// The built-in template's resources: 1 CPU, 2 GiB memory, 10 GiB disk, 1,024 processes,
/// 256 MiB `/tmp`.
pub const DEFAULT_RESOURCES: Resources = Resources {
    cpu: 1.0,
    cpu_max: None,
    memory_bytes: 2 << 30,
    disk_bytes: 10 << 30,
    processes: 1024,
    tmp_bytes: 256 << 20,
};

/// Everything a backend needs to build a sandbox of one kind.
#[derive(Debug, Clone)]
pub struct SandboxTemplate {
    /// Provider this template serves.
    pub provider: Provider,
    /// Short machine name, unique among the templates (stored on each sandbox).
    pub name: String,
    /// What a user gets.
    pub description: String,
    /// How a container backend builds the image: Dockerfile commands, so the provider
    /// builds and caches it and nothing has to be pushed to a registry first.
    pub image_dockerfile: Vec<String>,
    /// Where the workspace is mounted inside a container backend.
    pub workdir: String,
    /// Hard lifetime of a backend sandbox.
    pub timeout_secs: u32,
    /// Idle lifetime of a backend sandbox.
    pub idle_timeout_secs: u32,
    /// Permission flags Claude runs with.
    pub permission_mode: PermissionMode,
    /// Tools allowed when `permission_mode` is AllowedTools.
    pub allowed_tools: Vec<String>,
    /// Extra environment for processes in the sandbox (never secrets: those are injected
    /// by the backend from server configuration, and names that look like one are refused).
    pub env: Vec<(String, String)>,
    /// What each sandbox may use.
    pub resources: Resources,
    /// The hosts its local sandboxes may be placed on (empty: any live host).
    pub hosts: Vec<String>,
}

/// The image lines of the built-in template, installing Claude Code `version`.
pub fn builtin_image(version: &str) -> Vec<String> {
    vec![
        "FROM node:22-bookworm-slim".into(),
        "RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git procps ripgrep && rm -rf /var/lib/apt/lists/*".into(),
        format!("RUN npm install -g @anthropic-ai/claude-code@{version} && npm cache clean --force"),
        "RUN mkdir -p /mnt/workspace".into(),
    ]
}

/// The built-in `claude-code` template, installing Claude Code `version` on Modal.
pub fn claude_code(version: &str) -> SandboxTemplate {
    SandboxTemplate {
        provider: Provider::ClaudeCode,
        name: "claude-code".into(),
        description: "Claude Code CLI in an isolated workspace".into(),
        image_dockerfile: builtin_image(version),
        workdir: "/mnt/workspace".into(),
        timeout_secs: 24 * 3600,
        idle_timeout_secs: 3600,
        permission_mode: PermissionMode::SkipPermissions,
        allowed_tools: ["Bash", "Read", "Write", "Edit", "Glob", "Grep", "LS"].map(String::from).to_vec(),
        env: vec![("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(), "1".into())],
        resources: DEFAULT_RESOURCES,
        hosts: Vec::new(),
    }
}

/// The templates this server offers: the built-in one, or those of the operator's file.
#[derive(Debug, Clone)]
pub struct Templates {
    list: Vec<Arc<SandboxTemplate>>,
    default: usize,
}

impl Templates {
    /// Only the built-in template, installing Claude Code `version` on Modal.
    pub fn builtin(version: &str) -> Self {
        Self { list: vec![Arc::new(claude_code(version))], default: 0 }
    }

    /// `list` (checked: at least one, names unique) with the one at `default` as default.
    pub fn new(list: Vec<SandboxTemplate>, default: usize) -> anyhow::Result<Self> {
        anyhow::ensure!(!list.is_empty(), "a templates file needs at least one template");
        anyhow::ensure!(default < list.len(), "the default template is not in the list");
        for (i, t) in list.iter().enumerate() {
            anyhow::ensure!(!list[..i].iter().any(|o| o.name == t.name), "two templates are named {:?}", t.name);
        }
        Ok(Self { list: list.into_iter().map(Arc::new).collect(), default })
    }

    /// Every template, the default first.
    pub fn all(&self) -> Vec<Arc<SandboxTemplate>> {
        let mut out = vec![self.list[self.default].clone()];
        out.extend(self.list.iter().enumerate().filter(|(i, _)| *i != self.default).map(|(_, t)| t.clone()));
        out
    }

    /// The template a new sandbox asks for: by name, or the default one of `provider`;
    /// an unknown name is BAD_USER_INPUT (reason UNKNOWN_TEMPLATE).
    pub fn pick(&self, name: Option<&str>, provider: Provider) -> AppResult<Arc<SandboxTemplate>> {
        match name {
            Some(n) => self.list.iter().find(|t| t.name == n).cloned().ok_or_else(|| {
                AppError::bad_input_because(
                    crate::error::reasons::UNKNOWN_TEMPLATE,
                    format!("there is no template {n:?}; the `templates` query lists them"),
                )
            }),
            None => {
                let default = &self.list[self.default];
                if default.provider == provider {
                    return Ok(default.clone());
                }
                self.list.iter().find(|t| t.provider == provider).cloned().ok_or_else(|| {
                    AppError::bad_input_because(
                        crate::error::reasons::UNKNOWN_TEMPLATE,
                        "no template serves this provider",
                    )
                })
            }
        }
    }

    /// The template an existing sandbox was made from (`None`: made before templates
    /// were stored, so the default). One the operator has since removed is an internal
    /// error naming it, so the log says what to restore.
    pub fn of_sandbox(&self, name: Option<&str>) -> AppResult<Arc<SandboxTemplate>> {
        match name {
            None => Ok(self.list[self.default].clone()),
            Some(n) => self.list.iter().find(|t| t.name == n).cloned().ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("the sandbox's template {n:?} is no longer configured"))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_template_has_the_documented_bounds_and_the_configured_version() {
        let t = Templates::builtin("2.1.332");
        let d = t.pick(None, Provider::ClaudeCode).unwrap();
        assert_eq!(d.name, "claude-code");
        assert_eq!(d.workdir, "/mnt/workspace");
        assert!(d.image_dockerfile.iter().any(|l| l.contains("@anthropic-ai/claude-code@2.1.332")));
        assert!(d.idle_timeout_secs <= d.timeout_secs);
        let r = d.resources;
        assert_eq!(
            (r.cpu, r.memory_bytes, r.disk_bytes, r.processes, r.tmp_bytes),
            (1.0, 2 << 30, 10 << 30, 1024, 256 << 20)
        );
        assert!(t.pick(Some("nope"), Provider::ClaudeCode).unwrap_err().reason() == Some("UNKNOWN_TEMPLATE"));
        assert_eq!(t.of_sandbox(None).unwrap().name, "claude-code", "sandboxes from before templates get the default");
        assert!(t.of_sandbox(Some("gone")).is_err());
    }

    #[test]
    fn names_are_unique() {
        let e = Templates::new(vec![claude_code("1"), claude_code("2")], 0).unwrap_err();
        assert!(e.to_string().contains("two templates"), "{e}");
    }
}
