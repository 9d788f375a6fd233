//! What a client may ask to start: an argv, a working directory inside the workspace and
//! environment variables, each checked before anything runs (BAD_USER_INPUT with the
//! reason otherwise).

use crate::{
    backend::{files::WorkspacePath, process::ProcessRequest},
    config::ProcessLimits,
    error::{AppError, AppResult},
};

/// Nice value of users' processes (as Claude's runs: below the server).
const PROCESS_NICE: i32 = 10;

/// A process to start, as the client gave it.
#[derive(Debug, Clone, Default)]
pub struct StartProcess {
    /// Program and arguments (no shell unless the program is one).
    pub argv: Vec<String>,
    /// Working directory relative to the workspace ("" for the workspace).
    pub cwd: String,
    /// Environment variables beyond the sandbox's base.
    pub env: Vec<(String, String)>,
    /// A name to find it by (default: its program).
    pub name: Option<String>,
}

fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl StartProcess {
    /// The name it is listed under.
    pub fn display_name(&self) -> String {
        match &self.name {
            Some(n) if !n.trim().is_empty() => n.trim().chars().take(100).collect(),
            _ => self.argv.first().map(|p| p.rsplit('/').next().unwrap_or(p).to_string()).unwrap_or_default(),
        }
    }

    /// The backend request, or why not.
    pub fn validate(&self, limits: &ProcessLimits) -> AppResult<ProcessRequest> {
        if self.argv.is_empty() || self.argv[0].is_empty() {
            return Err(AppError::bad_input("argv: give the program and its arguments"));
        }
        if self.argv.len() + self.env.len() > limits.process_max_args {
            return Err(AppError::bad_input(format!(
                "argv and env: at most {} entries together",
                limits.process_max_args
            )));
        }
        let bytes: usize = self.argv.iter().map(String::len).sum::<usize>()
            + self.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if bytes > limits.process_max_argv_bytes {
            return Err(AppError::bad_input(format!(
                "argv and env: at most {} bytes together",
                limits.process_max_argv_bytes
            )));
        }
        let has_nul = |s: &String| s.contains('\0');
        if self.argv.iter().any(has_nul) || self.env.iter().any(|(k, v)| has_nul(k) || has_nul(v)) {
            return Err(AppError::bad_input("argv and env may not hold NUL characters"));
        }
        if let Some((k, _)) = self.env.iter().find(|(k, _)| !valid_env_name(k)) {
            return Err(AppError::bad_input(format!("env: {k:?} is not a variable name")));
        }
        let cwd = if self.cwd.is_empty() { WorkspacePath::root() } else { WorkspacePath::parse(&self.cwd)? };
        Ok(ProcessRequest { argv: self.argv.clone(), env: self.env.clone(), cwd, tty: None, nice: PROCESS_NICE })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ProcessLimits {
        ProcessLimits {
            processes_per_sandbox: 1,
            processes_per_account: 1,
            process_log_bytes: 1,
            process_max_args: 4,
            process_max_argv_bytes: 64,
            terminals_per_sandbox: 1,
            terminals_per_account: 1,
            terminal_idle_secs: 1,
            terminal_input_bytes_per_sec: 1,
            terminal_scrollback_bytes: 1,
        }
    }

    fn start(argv: &[&str], env: &[(&str, &str)], cwd: &str) -> StartProcess {
        StartProcess {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: cwd.into(),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            name: None,
        }
    }

    #[test]
    fn refuses_what_cannot_be_run_and_names_the_rest() {
        let l = limits();
        assert!(start(&[], &[], "").validate(&l).is_err());
        assert!(start(&["a", "b", "c"], &[("X", "1"), ("Y", "2")], "").validate(&l).is_err(), "too many");
        assert!(start(&["a", &"x".repeat(70)], &[], "").validate(&l).is_err(), "too long");
        assert!(start(&["a\0b"], &[], "").validate(&l).is_err());
        assert!(start(&["a"], &[("1X", "v")], "").validate(&l).is_err());
        assert!(start(&["a"], &[("A=B", "v")], "").validate(&l).is_err());
        assert!(start(&["a"], &[], "../etc").validate(&l).is_err(), "cwd stays in the workspace");
        let ok = start(&["/usr/bin/python3", "-m", "http.server"], &[("PORT", "1")], "app").validate(&l).unwrap();
        assert_eq!(ok.cwd.as_str(), "app");
        assert_eq!(start(&["/usr/bin/python3"], &[], "").display_name(), "python3");
    }
}
