//! Running one git command in a sandbox for the API: no shell (each argument passed as
//! is), its output read within `gitMaxOutputBytes` (the rest dropped and flagged), ended
//! after `gitTimeoutSecs`. Its environment is the sandbox's own, so it reaches hosts
//! through the broker exactly as Claude's `git` does.

use std::time::Duration;

use crate::{
    backend::{Backend, ExternalId, exec::ExecOutput, exec::ExecRequest},
    config::GitLimits,
    error::{AppError, AppResult, reasons},
};

/// Niceness of git commands run for the API (the sandbox's own work comes first).
const GIT_NICE: i32 = 5;

/// What a git command printed and how it ended.
#[derive(Debug, Default)]
pub struct Output {
    /// Standard output, lines joined with `\n` (within the byte bound).
    pub stdout: String,
    /// Standard error's last lines (git's own words for a failure).
    pub stderr: String,
    /// Exit code (None: killed).
    pub code: Option<i32>,
    /// Output was cut at the bound.
    pub truncated: bool,
}

impl Output {
    /// The output of a command that succeeded, or CONFLICT `GIT_FAILED` with git's words.
    pub fn ok(self) -> AppResult<Self> {
        if self.code == Some(0) {
            return Ok(self);
        }
        let said = redact(self.stderr.trim());
        let said = said.as_str();
        if said.contains("not a git repository") {
            return Err(AppError::conflict_because(reasons::NOT_A_REPOSITORY, "the workspace is not a git repository"));
        }
        let said = if said.is_empty() { "git failed" } else { said };
        Err(AppError::conflict_because(reasons::GIT_FAILED, said.chars().take(2000).collect::<String>()))
    }
}

/// Git's words with the broker's address (and its token) put back as the `https://` URL
/// the user wrote.
pub fn redact(said: &str) -> String {
    let mut s = said.to_string();
    while let Some(at) = s.find("/broker/") {
        let start = s[..at].rfind("http").unwrap_or(at);
        let rest = &s[at..];
        let end = ["/git/", "/http/"].iter().filter_map(|m| rest.find(m).map(|i| at + i + m.len())).min();
        match end {
            Some(end) => s.replace_range(start..end, "https://"),
            None => s.replace_range(start.., "https://…"),
        }
    }
    s
}

/// Runs `git {args}` in the sandbox's workspace.
pub async fn git(backend: &dyn Backend, id: &ExternalId, args: &[&str], limits: &GitLimits) -> AppResult<Output> {
    let mut argv = vec!["git".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let max = usize::try_from(limits.git_max_output_bytes).unwrap_or(usize::MAX);
    let req = ExecRequest {
        argv,
        env: vec![("GIT_OPTIONAL_LOCKS".into(), "0".into()), ("LC_ALL".into(), "C".into())],
        secret_env: vec![],
        stdin: None,
        max_line_bytes: max.clamp(1, 64 * 1024),
        nice: GIT_NICE,
        conversation: false,
    };
    let mut handle = backend.exec(id, req).await?;
    let mut out = Output::default();
    let mut err_lines: std::collections::VecDeque<String> = Default::default();
    let deadline = tokio::time::sleep(Duration::from_secs(limits.git_timeout_secs.max(1)));
    tokio::pin!(deadline);
    loop {
        let next = tokio::select! {
            n = handle.output.recv() => n,
            _ = &mut deadline => {
                handle.cancel.cancel();
                return Err(AppError::conflict_because(reasons::GIT_FAILED, "git took longer than limits.gitTimeoutSecs"));
            }
        };
        match next {
            Some(ExecOutput::Stdout(line)) => {
                if out.stdout.len() + line.len() + 1 > max {
                    out.truncated = true;
                } else {
                    if !out.stdout.is_empty() {
                        out.stdout.push('\n');
                    }
                    out.stdout.push_str(&line);
                }
            }
            Some(ExecOutput::Stderr(line)) => {
                err_lines.push_back(line);
                if err_lines.len() > 20 {
                    err_lines.pop_front();
                }
            }
            Some(ExecOutput::OutOfMemory) => {}
            Some(ExecOutput::Exited(code)) => {
                out.code = code;
                break;
            }
            None => break,
        }
    }
    out.stderr = Vec::from(err_lines).join("\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broker_address_never_shows_in_git_errors() {
        let said = "fatal: unable to access 'http://127.0.0.1:4/broker/abc.def/git/example.com/r.git/': 403";
        assert_eq!(redact(said), "fatal: unable to access 'https://example.com/r.git/': 403");
        assert_eq!(redact("no url here"), "no url here");
    }
}
