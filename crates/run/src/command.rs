//! The `claude` command line and environment of a run.

use crate::{
    backend::template::{PermissionMode, SandboxTemplate},
    config::{RunConfig, Secret},
};

/// What a run asks Claude to do.
#[derive(Debug, Clone)]
pub struct ClaudeInvocation<'a> {
    /// The user's prompt, passed as one argv element.
    pub prompt: &'a str,
    /// Session to continue, from the sandbox's previous run.
    pub resume: Option<&'a str>,
    /// After a rewind or fork: the message of `resume` to continue from. The session is
    /// forked there (`--fork-session`), so later turns stay out of the conversation and
    /// the original session is left as it was.
    pub resume_at: Option<&'a str>,
    /// Model override.
    pub model: Option<&'a str>,
    /// Turn limit.
    pub max_turns: Option<i64>,
    /// The prompt and follow-ups travel on stdin as stream-json messages (interactive or
    /// ASK runs) instead of argv; stdin then stays open until the conversation ends.
    pub stdin_json: bool,
    /// Tool calls are asked over the stdio control protocol instead of pre-approved.
    pub ask: bool,
}

/// `claude -p --output-format stream-json --verbose [flags] -- <prompt>`.
///
/// The prompt comes last, after `--`, so a prompt that starts with `-` is never read as
/// an option; it is one argv element and no shell ever sees it.
pub fn argv(cfg: &RunConfig, template: &SandboxTemplate, inv: &ClaudeInvocation<'_>) -> Vec<String> {
    let mut a: Vec<String> = vec![cfg.claude_bin.clone(), "-p".into()];
    a.extend(["--output-format", "stream-json", "--verbose"].map(String::from));
    if inv.stdin_json {
        a.extend(["--input-format", "stream-json"].map(String::from));
    }
    if cfg.claude_partial_messages {
        a.push("--include-partial-messages".into());
    }
    if let Some(session) = inv.resume {
        a.extend(["--resume".to_string(), session.to_string()]);
        if let Some(at) = inv.resume_at {
            a.extend(["--resume-session-at".to_string(), at.to_string(), "--fork-session".to_string()]);
        }
    }
    if let Some(model) = inv.model {
        a.extend(["--model".to_string(), model.to_string()]);
    }
    if let Some(turns) = inv.max_turns {
        a.extend(["--max-turns".to_string(), turns.to_string()]);
    }
    match template.permission_mode {
        // ASK: Claude's default rules, and every question it would put to a user comes
        // to the server as a `can_use_tool` control request.
        _ if inv.ask => {
            a.extend(["--permission-mode", "default", "--permission-prompt-tool", "stdio"].map(String::from))
        }
        PermissionMode::SkipPermissions => a.push("--dangerously-skip-permissions".into()),
        PermissionMode::AllowedTools => {
            a.extend(["--allowedTools".to_string(), template.allowed_tools.join(",")]);
        }
    }
    if !inv.stdin_json {
        a.extend(["--".to_string(), inv.prompt.to_string()]);
    }
    a
}

/// Environment for Claude beyond the backend's minimal base: the template's variables and
/// what points Claude at the gateway (`gateway`, from the backend). Nothing of the
/// server's environment (database URL, storage or Anthropic credentials…) is ever
/// included; the run's own gateway token goes through [`secret_env`].
pub fn env(
    template: &SandboxTemplate,
    runs_as_root: bool,
    ask: bool,
    gateway: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut e: Vec<(String, String)> = template.env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    e.extend(gateway);
    // Claude refuses to skip permission prompts as root unless told it is sandboxed.
    if runs_as_root && template.permission_mode == PermissionMode::SkipPermissions && !ask {
        e.push(("IS_SANDBOX".into(), "1".into()));
    }
    e
}

/// The run's gateway token as Claude's API key: the only credential a sandbox ever holds,
/// honoured by the gateway only while this run is RUNNING.
pub fn secret_env(run_token: &Secret) -> Vec<(String, Secret)> {
    vec![("ANTHROPIC_API_KEY".to_string(), run_token.clone())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::template::claude_code;

    fn cfg() -> RunConfig {
        use clap::Parser;
        #[derive(Parser)]
        struct C {
            #[command(flatten)]
            c: RunConfig,
        }
        C::parse_from(["x", "--claude-bin", "claude"]).c
    }

    #[test]
    fn the_prompt_is_one_argument_after_the_options() {
        let t = claude_code("2.1.332");
        let inv = ClaudeInvocation {
            prompt: "--help; rm -rf /",
            resume: Some("s1"),
            resume_at: None,
            model: Some("m"),
            max_turns: Some(3),
            stdin_json: false,
            ask: false,
        };
        let a = argv(&cfg(), &t, &inv);
        assert_eq!(a[0], "claude");
        let dashdash = a.iter().position(|x| x == "--").unwrap();
        assert_eq!(&a[dashdash + 1..], ["--help; rm -rf /"]);
        let opt = |flag: &str| a.iter().position(|x| x == flag).map(|i| a[i + 1].clone());
        assert_eq!(opt("--resume").as_deref(), Some("s1"));
        assert_eq!(opt("--max-turns").as_deref(), Some("3"));
        assert!(a.contains(&"--dangerously-skip-permissions".to_string()));
        assert!(!a.contains(&"--fork-session".to_string()));
        let at = ClaudeInvocation { resume_at: Some("u1"), ..inv };
        let a = argv(&cfg(), &t, &at);
        assert!(a.windows(3).any(|w| w == ["--resume-session-at", "u1", "--fork-session"]), "{a:?}");
    }

    #[test]
    fn the_run_token_stays_out_of_argv_and_plain_env() {
        let t = claude_code("2.1.332");
        let inv = ClaudeInvocation {
            prompt: "p",
            resume: None,
            resume_at: None,
            model: None,
            max_turns: None,
            stdin_json: false,
            ask: false,
        };
        let gw = || vec![("ANTHROPIC_BASE_URL".to_string(), "http://127.0.0.1:4000".to_string())];
        assert!(!argv(&cfg(), &t, &inv).iter().any(|x| x.contains("sgw_")));
        let e = env(&t, true, false, gw());
        assert!(e.iter().any(|(k, v)| k == "IS_SANDBOX" && v == "1"));
        assert!(e.iter().any(|(k, v)| k == "ANTHROPIC_BASE_URL" && v.ends_with(":4000")));
        assert!(!env(&t, false, false, gw()).iter().any(|(k, _)| k == "IS_SANDBOX"));
        let ask = ClaudeInvocation { stdin_json: true, ask: true, ..inv };
        let a = argv(&cfg(), &t, &ask);
        assert!(!a.contains(&"p".to_string()), "the prompt goes to stdin");
        assert!(a.windows(2).any(|w| w == ["--input-format", "stream-json"]));
        assert!(a.windows(2).any(|w| w == ["--permission-prompt-tool", "stdio"]));
        assert!(!a.contains(&"--dangerously-skip-permissions".to_string()));
        let s = secret_env(&Secret("sgw_x".into()));
        assert_eq!(s, vec![("ANTHROPIC_API_KEY".to_string(), Secret("sgw_x".into()))]);
    }
}
