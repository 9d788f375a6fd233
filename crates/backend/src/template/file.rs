//! The operator's templates file (`--templates FILE`, TOML). Each `[[templates]]` entry
//! names a template and says what differs from the built-in one; what it leaves out is
//! the built-in value:
//!
//! ```toml
//! [[templates]]
//! name = "large"
//! description = "Claude Code with room for big repositories"
//! default = true                 # the template of sandboxes that name none
//! image = ["FROM node:22-bookworm-slim", "RUN npm install -g @anthropic-ai/claude-code@2.1.332"]
//! timeout_secs = 86400
//! idle_timeout_secs = 3600
//! permission_mode = "skip-permissions"   # or "allowed-tools", with allowed_tools = [...]
//! env = { NODE_OPTIONS = "--max-old-space-size=3072" }
//! [templates.resources]
//! cpu = 2            # weight, in cores
//! cpu_max = 2        # hard cap in cores (optional)
//! memory = "4 GiB"
//! disk = "20 GiB"    # workspace and home together
//! processes = 2048
//! tmp = "512 MiB"    # counted in memory too
//! ```
//!
//! `hosts = ["host-a", "host-b"]` limits where its local sandboxes are placed.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{PermissionMode, Resources, SandboxTemplate, Templates, claude_code, parse_size};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    templates: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    description: Option<String>,
    #[serde(default)]
    default: bool,
    image: Option<Vec<String>>,
    workdir: Option<String>,
    timeout_secs: Option<u32>,
    idle_timeout_secs: Option<u32>,
    permission_mode: Option<PermissionMode>,
    allowed_tools: Option<Vec<String>>,
    env: Option<BTreeMap<String, String>>,
    #[serde(default)]
    resources: ResourceEntry,
    #[serde(default)]
    hosts: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ResourceEntry {
    cpu: Option<f64>,
    cpu_max: Option<f64>,
    memory: Option<Size>,
    disk: Option<Size>,
    processes: Option<u64>,
    tmp: Option<Size>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

impl Size {
    fn bytes(&self) -> Result<u64, String> {
        match self {
            Size::Bytes(b) => Ok(*b),
            Size::Text(t) => parse_size(t),
        }
    }
}

/// Words in an environment variable's name that say it holds a secret: a templates file
/// is configuration, not a vault, and what it sets is visible to everything in the sandbox.
const SECRET_WORDS: &[&str] = &["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH"];

impl Templates {
    /// The templates of a TOML document (see the module docs), with Claude Code
    /// `version` in the image of entries that give none.
    pub fn parse(text: &str, version: &str) -> anyhow::Result<Self> {
        let doc: FileDoc = toml::from_str(text)?;
        let defaults: Vec<usize> =
            doc.templates.iter().enumerate().filter(|(_, e)| e.default).map(|(i, _)| i).collect();
        anyhow::ensure!(defaults.len() <= 1, "more than one template says `default = true`");
        let list = doc
            .templates
            .into_iter()
            .map(|e| {
                let name = e.name.clone();
                entry(e, version).map_err(|why| anyhow::anyhow!("template {name:?}: {why}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Templates::new(list, defaults.first().copied().unwrap_or(0))
    }

    /// The templates of the file at `path`.
    pub fn load(path: &std::path::Path, version: &str) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        Self::parse(&text, version).map_err(|e| anyhow::anyhow!("templates file {}: {e:#}", path.display()))
    }
}

fn entry(e: Entry, version: &str) -> Result<SandboxTemplate, String> {
    let ok_name = !e.name.is_empty()
        && e.name.len() <= 64
        && e.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok_name {
        return Err("a name is 1 to 64 of a-z, 0-9 and -".into());
    }
    let base = claude_code(version);
    let r = &e.resources;
    let resources = Resources {
        cpu: r.cpu.unwrap_or(base.resources.cpu),
        cpu_max: r.cpu_max,
        memory_bytes: r.memory.as_ref().map(Size::bytes).transpose()?.unwrap_or(base.resources.memory_bytes),
        disk_bytes: r.disk.as_ref().map(Size::bytes).transpose()?.unwrap_or(base.resources.disk_bytes),
        processes: r.processes.unwrap_or(base.resources.processes),
        tmp_bytes: r.tmp.as_ref().map(Size::bytes).transpose()?.unwrap_or(base.resources.tmp_bytes),
    };
    check(&resources)?;
    let env: Vec<(String, String)> = e.env.map(|m| m.into_iter().collect()).unwrap_or(base.env);
    for (k, _) in &env {
        let upper = k.to_ascii_uppercase();
        if SECRET_WORDS.iter().any(|w| upper.contains(w)) || upper.starts_with("ANTHROPIC_") {
            return Err(format!("`env` may not hold secrets ({k} looks like one); the server injects credentials"));
        }
    }
    let timeout_secs = e.timeout_secs.unwrap_or(base.timeout_secs);
    let idle_timeout_secs = e.idle_timeout_secs.unwrap_or(base.idle_timeout_secs);
    if idle_timeout_secs > timeout_secs {
        return Err("idle_timeout_secs is longer than timeout_secs".into());
    }
    Ok(SandboxTemplate {
        provider: base.provider,
        description: e.description.unwrap_or_else(|| e.name.clone()),
        name: e.name,
        image_dockerfile: e.image.unwrap_or(base.image_dockerfile),
        workdir: e.workdir.unwrap_or(base.workdir),
        timeout_secs,
        idle_timeout_secs,
        permission_mode: e.permission_mode.unwrap_or(base.permission_mode),
        allowed_tools: e.allowed_tools.unwrap_or(base.allowed_tools),
        hosts: e.hosts,
        env,
        resources,
    })
}

fn check(r: &Resources) -> Result<(), String> {
    if !(r.cpu > 0.0 && r.cpu <= 256.0) || r.cpu_max.is_some_and(|m| !(m > 0.0 && m <= 256.0)) {
        return Err("cpu and cpu_max are cores between 0 and 256".into());
    }
    if r.memory_bytes < 64 << 20 {
        return Err("memory is at least 64 MiB".into());
    }
    if r.disk_bytes < 32 << 20 {
        return Err("disk is at least 32 MiB".into());
    }
    if r.processes < 16 {
        return Err("processes is at least 16".into());
    }
    if r.tmp_bytes == 0 || r.tmp_bytes >= r.memory_bytes {
        return Err("tmp is above 0 and below memory (a sandbox's /tmp lives in its memory)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_what_it_names_and_keeps_the_rest() {
        let text = r#"
            [[templates]]
            name = "small"
            [templates.resources]
            memory = "512 MiB"
            disk = "64 MiB"
            tmp = "32 MiB"
            processes = 64

            [[templates]]
            name = "big"
            default = true
            description = "Room to build"
            resources = { cpu = 2, cpu_max = 2.5, memory = 8589934592 }
        "#;
        let t = Templates::parse(text, "9.9.9").unwrap();
        let all = t.all();
        assert_eq!(all.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["big", "small"], "the default first");
        let small = t.pick(Some("small"), crate::entity::enums::Provider::ClaudeCode).unwrap();
        assert_eq!((small.resources.memory_bytes, small.resources.disk_bytes), (512 << 20, 64 << 20));
        assert_eq!(small.resources.cpu, 1.0, "what is not named is the built-in value");
        assert!(small.image_dockerfile.iter().any(|l| l.contains("claude-code@9.9.9")));
        assert_eq!(all[0].resources.cpu_max, Some(2.5));
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let cases = [
            ("[[templates]]\nname = \"x\"\nsurprise = 1", "unknown field"),
            ("[[templates]]\nname = \"Bad Name\"", "a name is"),
            ("[[templates]]\nname = \"x\"\nenv = { GITHUB_TOKEN = \"t\" }", "secrets"),
            ("[[templates]]\nname = \"x\"\nresources = { tmp = \"4 GiB\" }", "below memory"),
            ("[[templates]]\nname = \"x\"\nresources = { memory = \"lots\" }", "not a size"),
            ("[[templates]]\nname = \"x\"\n[[templates]]\nname = \"x\"", "two templates"),
            ("templates = []", "at least one"),
        ];
        for (text, want) in cases {
            let e = format!("{:#}", Templates::parse(text, "1").unwrap_err());
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
