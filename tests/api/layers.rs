//! The layers point down only: nothing under `run/`, `backend/`, `storage/`, `entity/` or
//! `auth/` may use `service`, `graphql` or `http`, in any spelling of the import
//! (`crate::service::x`, `use crate::{service, …}`, nested groups, `super::super::…`).

use std::path::{Path, PathBuf};

const LOWER: &[&str] = &["run", "backend", "storage", "entity", "auth"];
const UPPER: &[&str] = &["service", "graphql", "http", "gateway"];

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

/// Every crate-root module a piece of source refers to through `crate::`, expanding
/// grouped imports: `crate::{a, b::{c}}` names `a` and `b`.
fn crate_modules(src: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let rest_trim = rest.trim_start();
        if let Some(group) = rest_trim.strip_prefix('{') {
            // Top-level names of the group, skipping nested braces.
            let (mut depth, mut name) = (0usize, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push(std::mem::take(&mut name));
                    }
                    c if depth == 0 => name.push(c),
                    _ => {}
                }
            }
            found.push(name);
        } else {
            found.push(rest_trim.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
        }
    }
    found
        .iter()
        .map(|n| n.trim().split("::").next().unwrap_or("").trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// `super::` chains that climb out of a lower layer into the crate root and then name a
/// module (`super::super::service`).
fn climbs_to(src: &str, file: &Path, src_root: &Path) -> Vec<String> {
    let depth = file.strip_prefix(src_root).unwrap().components().count() - 1;
    let is_mod = file.file_name().is_some_and(|n| n == "mod.rs");
    let levels_to_root = if is_mod { depth } else { depth + 1 };
    let up = "super::".repeat(levels_to_root);
    src.match_indices(&up)
        .map(|(i, _)| src[i + up.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
        .collect()
}

#[test]
fn the_parser_sees_every_import_form() {
    let src = "use crate::{\n    error::AppError,\n    service::{a, b},\n};\nfn f() { crate::graphql::x(); }";
    let mods = crate_modules(src);
    assert!(mods.contains(&"service".to_string()) && mods.contains(&"graphql".to_string()), "{mods:?}");
    assert!(mods.contains(&"error".to_string()));
}

#[test]
fn lower_layers_never_import_upper_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    for layer in LOWER {
        let mut files = Vec::new();
        rust_files(&root.join(layer), &mut files);
        if let Ok(single) = std::fs::metadata(root.join(format!("{layer}.rs"))) {
            assert!(single.is_file());
            files.push(root.join(format!("{layer}.rs")));
        }
        assert!(!files.is_empty(), "no files under src/{layer}");
        for file in files {
            let src = std::fs::read_to_string(&file).unwrap();
            let used = crate_modules(&src).into_iter().chain(climbs_to(&src, &file, &root));
            for m in used.filter(|m| UPPER.contains(&m.as_str())) {
                offences.push(format!("{} uses {m}", file.strip_prefix(&root).unwrap().display()));
            }
        }
    }
    assert!(offences.is_empty(), "upward imports:\n{}", offences.join("\n"));
}

#[test]
fn no_source_file_is_over_300_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > 300).then(|| format!("{} has {n} lines", f.strip_prefix(&root).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

/// Every limit lives in `config::Limits`: no `MAX_…`/`…_LIMIT` constant elsewhere (the
/// kernel's PATH_MAX and NAME_MAX, facts of Linux rather than choices, excepted).
#[test]
fn no_limit_constant_outside_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut found = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(root.join("config"))) {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let l = line.trim_start();
            let is_const = l.starts_with("const ") || l.starts_with("pub const ") || l.starts_with("pub(super) const ");
            let name = l.split("const ").nth(1).unwrap_or("").split(':').next().unwrap_or("");
            let limit_like = name.starts_with("MAX_") || name.ends_with("_LIMIT") || name.ends_with("_CAPACITY");
            if is_const && limit_like && !["MAX_PATH_BYTES", "MAX_NAME_BYTES"].contains(&name) {
                found.push(format!("{}: {l}", f.strip_prefix(&root).unwrap().display()));
            }
        }
    }
    assert!(found.is_empty(), "limits outside config::Limits:\n{}", found.join("\n"));
}
