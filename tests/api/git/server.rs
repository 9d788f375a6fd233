//! Real servers for the git tests: `git http-backend` over HTTPS behind Basic auth (a
//! bare repository with two commits on `main` and a `feature` branch), and an HTTPS
//! server that records what arrives. Both present certificates of a test CA, both log
//! every request's headers to a file, and both die with the test.

use std::{
    io::BufRead,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use crate::helpers::tls::TestCa;

/// The user name and token the git server takes.
pub const GIT_USER: &str = "git-user";
/// The token: what must never be found inside a sandbox.
pub const GIT_TOKEN: &str = "glpat-SECRET-0b7d1c55e2a94e7f";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").current_dir(dir).args(args).output().expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A server process and the port it printed.
pub struct Served {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn start(script: &str, args: &[&str], dir: tempfile::TempDir, log: PathBuf) -> Served {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/").to_string() + script;
    let mut child = Command::new("python3").arg(path).args(args).stdout(Stdio::piped()).spawn().expect("python3");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().parse().expect("the server prints its port");
    Served { child, port, log, dir }
}

impl Served {
    /// The bare repository served as `/team/app.git`.
    pub fn bare(&self) -> PathBuf {
        self.dir.path().join("root/team/app.git")
    }

    /// `https://127.0.0.1:{port}/team/app.git`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/team/app.git", self.port)
    }

    /// The commit a branch of the bare repository points at.
    pub fn rev(&self, branch: &str) -> String {
        git(&self.bare(), &["rev-parse", branch])
    }

    /// The subject of the commit a branch of the bare repository points at.
    pub fn subject(&self, branch: &str) -> String {
        git(&self.bare(), &["log", "-1", "--format=%s", branch])
    }

    /// Every request line logged so far.
    pub fn requests(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The git server, with `main` (two commits) and `feature`.
pub fn git_server(ca: &TestCa) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("root/team/app.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--quiet", "--bare", "--initial-branch=main"]);
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("src")).unwrap();
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    let id = ["-c", "user.name=Seed", "-c", "user.email=seed@example.com"];
    std::fs::write(work.join("README.md"), "# app\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &[&id[..], &["commit", "--quiet", "-m", "first commit"]].concat());
    std::fs::write(work.join("src/app.txt"), "line one\nline two\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &[&id[..], &["commit", "--quiet", "-m", "add the app"]].concat());
    git(&work, &["branch", "feature"]);
    git(&work, &["push", "--quiet", bare.to_str().unwrap(), "main", "feature"]);
    let (cert, key) = ca.files(&["127.0.0.1"]);
    let log = dir.path().join("auth.log");
    let root = dir.path().join("root");
    let args = [
        root.to_str().unwrap(),
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
        GIT_USER,
        GIT_TOKEN,
        log.to_str().unwrap(),
    ];
    start("git-server.py", &args, dir, log.clone())
}

/// An HTTPS server recording each request's headers.
pub fn recorder(ca: &TestCa) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = ca.files(&["127.0.0.1"]);
    let log = dir.path().join("requests.log");
    start(
        "https-recorder.py",
        &[cert.to_str().unwrap(), key.to_str().unwrap(), log.to_str().unwrap()],
        dir,
        log.clone(),
    )
}
