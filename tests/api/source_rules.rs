//! Rules of the source that Cargo cannot check: below the api crate, nothing depends on
//! async-graphql or axum (in the resolved dependency tree, not by reading imports), the
//! backend does not depend on the service layer; no source file is over 300 lines; no
//! limit constant lives outside `config` (every limit is a field of `Limits`). That
//! layers point down is Cargo's own rule now: a crate cannot use one it does not depend on.

use std::path::{Path, PathBuf};

/// The layer crates below the api, bottom first.
const BELOW_API: &[&str] = &[
    "sandboxql-core",
    "sandboxql-entity",
    "sandboxql-storage",
    "sandboxql-backend",
    "sandboxql-run",
    "sandboxql-service",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `src/` of the workspace: the binary's and each crate's.
fn source_roots() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![root.join("src")];
    for e in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        roots.push(e.path().join("src"));
    }
    roots
}

/// The normal (non-dev, non-build) dependencies of `package`, as `cargo tree` resolves them.
fn dependency_tree(package: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "-p", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree -p {package}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn below_the_api_nothing_knows_graphql_or_http_and_backends_know_no_service() {
    for package in BELOW_API {
        let tree = dependency_tree(package);
        for forbidden in ["async-graphql ", "async-graphql-axum ", "axum "] {
            assert!(!tree.lines().any(|l| l.starts_with(forbidden)), "{package} depends on {forbidden}:\n{tree}");
        }
    }
    let backend = dependency_tree("sandboxql-backend");
    for upper in ["sandboxql-run ", "sandboxql-service ", "sandboxql-api "] {
        assert!(!backend.lines().any(|l| l.starts_with(upper)), "the backend depends on {upper}");
    }
    assert!(dependency_tree("sandboxql-api").lines().any(|l| l.starts_with("async-graphql ")), "the check sees deps");
}

#[test]
fn no_source_file_is_over_300_lines() {
    let mut long = Vec::new();
    for root in source_roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        for f in files {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            if n > 300 {
                long.push(format!("{} has {n} lines", f.display()));
            }
        }
    }
    assert!(long.is_empty(), "{}", long.join("\n"));
}

/// Every limit lives in `config::Limits`: no `MAX_…`/`…_LIMIT`/`…_BOUND` constant elsewhere
/// (the kernel's PATH_MAX and NAME_MAX, facts of Linux rather than choices, excepted), and
/// every other numeric constant says why it is fixed in a doc comment right above it.
#[test]
fn no_limit_constant_outside_config() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/core/src/config");
    let mut found = Vec::new();
    for root in source_roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        for f in files.iter().filter(|f| !f.starts_with(&config)) {
            let text = std::fs::read_to_string(f).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let l = line.trim_start();
                let is_const =
                    ["const ", "pub const ", "pub(super) const ", "pub(crate) const "].iter().any(|p| l.starts_with(p));
                let name = l.split("const ").nth(1).unwrap_or("").split(':').next().unwrap_or("");
                let ty = l.split(':').nth(1).unwrap_or("").split('=').next().unwrap_or("").trim();
                let limit_like = name.starts_with("MAX_")
                    || name.ends_with("_LIMIT")
                    || name.ends_with("_CAPACITY")
                    || name.ends_with("_BOUND");
                if is_const && limit_like && !["MAX_PATH_BYTES", "MAX_NAME_BYTES"].contains(&name) {
                    found.push(format!("{}: {l}", f.display()));
                }
                let numeric = ["usize", "u64", "u32", "i64", "i32", "f64", "Duration"].contains(&ty);
                let documented = i > 0 && lines[i - 1].trim_start().starts_with("///");
                if is_const && numeric && !documented {
                    found.push(format!("{}: {l} (a fixed number needs a doc comment saying why)", f.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "limits outside config::Limits:\n{}", found.join("\n"));
}
