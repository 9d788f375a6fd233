//! README and docs/ tell a newcomer the truth: the first screen of README is the
//! quickstart with the two commands; no sentence claims GraphiQL or the playground need a
//! CDN or internet access (both are embedded); every relative link stays inside the
//! repository and reaches a file that exists.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn documents() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    for e in std::fs::read_dir(root().join("docs")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            out.push(e.path());
        }
    }
    out
}

/// The targets of `](target)` links in `text`.
fn links(text: &str) -> Vec<String> {
    text.split("](").skip(1).filter_map(|rest| rest.split_once(')').map(|(t, _)| t.to_string())).collect()
}

#[test]
fn the_first_screen_of_the_readme_is_the_quickstart() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let first: String = readme.lines().take(30).collect::<Vec<_>>().join("\n");
    assert!(first.contains("## Quickstart"), "{first}");
    for needed in [
        "apt install bubblewrap",
        "npm install -g @anthropic-ai/claude-code",
        "ANTHROPIC_API_KEY",
        "serve",
        "scripts/test.sh",
        "http://127.0.0.1:8080/",
    ] {
        assert!(first.contains(needed), "the quickstart lacks {needed}");
    }
}

#[test]
fn no_stale_cdn_claim_and_no_link_leaves_the_repository() {
    let repo = std::fs::canonicalize(root()).unwrap();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        for line in text.lines() {
            let l = line.to_lowercase();
            let claims_cdn = (l.contains("cdn") && !l.contains("no cdn") && !l.contains("no build step and no cdn"))
                || l.contains("needs internet");
            assert!(!claims_cdn, "{}: {line}", doc.display());
        }
        for target in links(&text) {
            if target.starts_with("http://") || target.starts_with("https://") || target.starts_with('#') {
                continue;
            }
            let path = target.split('#').next().unwrap();
            let full = doc.parent().unwrap_or(Path::new(".")).join(path);
            let resolved = std::fs::canonicalize(&full)
                .unwrap_or_else(|_| panic!("{}: link to {target} reaches no file", doc.display()));
            assert!(resolved.starts_with(&repo), "{}: link {target} leaves the repository", doc.display());
        }
    }
}
