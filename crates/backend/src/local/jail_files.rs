//! The files a jail is made of: the host's system directories, the sandbox's identity
//! (`passwd`, `group`), and where a program and its files are found.

use std::path::{Path, PathBuf};

/// `/bin`, `/lib`… as on the host: symlinks into `/usr` on merged-usr systems, read-only
/// binds otherwise.
pub(super) fn system_dirs() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["bin", "lib", "lib32", "lib64", "sbin"] {
        let host = format!("/{dir}");
        match std::fs::read_link(&host) {
            Ok(target) => out.extend(["--symlink".to_string(), target.display().to_string(), host]),
            Err(_) => out.extend(["--ro-bind-try".to_string(), host.clone(), host]),
        }
    }
    out
}

/// A passwd and group file naming the jail's uid with its HOME (`home`, as seen inside),
/// so tools that look the user up work.
pub(super) fn write_identity(sandbox_dir: &Path, uid: u32, home: &str) -> std::io::Result<(String, String)> {
    let passwd = sandbox_dir.join("passwd");
    let group = sandbox_dir.join("group");
    std::fs::write(
        &passwd,
        format!("root:x:0:0:root:/root:/bin/sh\nsandbox:x:{uid}:{uid}:sandbox:{home}:/bin/bash\n"),
    )?;
    std::fs::write(&group, format!("root:x:0:\nsandbox:x:{uid}:\n"))?;
    Ok((passwd.display().to_string(), group.display().to_string()))
}

pub(super) fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// The program as an absolute, canonical path (symlinks resolved), if it can be found.
pub fn resolve_program(program: &str) -> Option<PathBuf> {
    let p = if program.contains('/') { PathBuf::from(program) } else { find_on_path(program)? };
    std::fs::canonicalize(p).ok()
}

/// The directory to expose so the program and its files are visible: its `node_modules`
/// for npm packages, otherwise its own directory.
pub(super) fn program_root(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "node_modules"))
        .or(path.parent())
        .map(Path::to_path_buf)
}
