//! What git operations take from a client, checked before any reaches git: an `https://`
//! URL without credentials in it, ref and remote names that cannot pass for options,
//! workspace-relative paths, and a commit author.

use crate::error::{AppError, AppResult};

/// What to clone.
#[derive(Debug, Clone)]
pub struct CloneSpec {
    /// `https://host/path` (the broker adds the account's credential for the host).
    pub url: String,
    /// A branch or tag to check out (default: the remote's default branch).
    pub reference: Option<String>,
    /// A shallow clone of this many commits.
    pub depth: Option<u32>,
}

impl CloneSpec {
    /// The spec with its URL, ref and depth checked.
    pub fn checked(self) -> AppResult<Self> {
        let rest = self
            .url
            .strip_prefix("https://")
            .ok_or_else(|| AppError::bad_input("git.url: an https:// URL (the broker speaks HTTPS only)"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') {
            return Err(AppError::bad_input(
                "git.url: a host without credentials in it (set them with setCredential instead)",
            ));
        }
        if self.url.len() > 2048 || self.url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AppError::bad_input("git.url: at most 2048 characters, no spaces"));
        }
        let reference = self.reference.map(|r| name(&r, "git.ref")).transpose()?;
        if self.depth == Some(0) {
            return Err(AppError::bad_input("git.depth: at least 1"));
        }
        Ok(Self { reference, ..self })
    }
}

/// Who a commit is by.
#[derive(Debug, Clone)]
pub struct Author {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

impl Author {
    /// The author with its fields checked (git rejects `<`, `>` and line breaks).
    pub fn checked(name: &str, email: &str) -> AppResult<Self> {
        let bad = |s: &str| s.is_empty() || s.len() > 256 || s.chars().any(|c| c.is_control() || c == '<' || c == '>');
        if bad(name.trim()) || bad(email.trim()) {
            return Err(AppError::bad_input(
                "author: a name and an email, 1 to 256 characters, no <, > or line breaks",
            ));
        }
        Ok(Self { name: name.trim().into(), email: email.trim().into() })
    }
}

/// A ref, branch or remote name that git cannot read as an option.
pub fn name(raw: &str, what: &str) -> AppResult<String> {
    let ok = !raw.is_empty()
        && raw.len() <= 255
        && !raw.starts_with('-')
        && !raw.contains("..")
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || "._/-+@".contains(c));
    if !ok {
        return Err(AppError::bad_input(format!("{what}: a branch, tag or commit name")));
    }
    Ok(raw.to_string())
}

/// A path relative to the workspace, not leaving it.
pub fn path(raw: &str) -> AppResult<String> {
    let p = raw.trim_start_matches("./");
    let ok = !p.is_empty()
        && !p.starts_with('/')
        && !p.starts_with('-')
        && !p.split('/').any(|s| s == "..")
        && !p.chars().any(|c| c == '\0');
    if !ok {
        return Err(AppError::bad_input(format!("path: {raw:?} is not a path in the workspace")));
    }
    Ok(p.to_string())
}

/// A commit message: not empty, within 64 KiB.
pub fn message(raw: &str) -> AppResult<String> {
    if raw.trim().is_empty() || raw.len() > 64 * 1024 || raw.contains('\0') {
        return Err(AppError::bad_input("message: 1 byte to 64 KiB"));
    }
    Ok(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_refs_and_paths_are_checked_before_git_sees_them() {
        let spec = |u: &str| CloneSpec { url: u.into(), reference: None, depth: None }.checked();
        assert!(spec("https://git.example.com/team/app.git").is_ok());
        for bad in ["http://x/y", "https://user:pw@x/y", "https:///y", "file:///etc", "https://x/a b", "-https://x"] {
            assert!(spec(bad).is_err(), "{bad}");
        }
        assert!(name("feature/x-1", "ref").is_ok());
        for bad in ["--upload-pack=x", "a..b", "", "a b", "x;y"] {
            assert!(name(bad, "ref").is_err(), "{bad}");
        }
        assert_eq!(path("./src/a.rs").unwrap(), "src/a.rs");
        for bad in ["/etc/passwd", "../x", "a/../../b", "-p"] {
            assert!(path(bad).is_err(), "{bad}");
        }
        assert!(Author::checked("Ann", "a@x").is_ok() && Author::checked("A<n>", "a@x").is_err());
    }
}
