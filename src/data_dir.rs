//! The data dir is the server's alone: it holds the SQLite database (every account's
//! tokens and runs), the blob store and every sandbox's files. Other local users may
//! pass through it (sandboxes' jails reach their own directories) but read nothing:
//! the dir is 0711, the database 0600, the blob store 0700. Each workspace is readable by
//! its sandbox's uid only (see the local backend).

use std::{os::unix::fs::PermissionsExt, path::Path};

use anyhow::Context;

use crate::config::StoreConfig;

/// Tightens the data dir, the SQLite files in it and the blob store (made if missing).
pub fn secure(store: &StoreConfig) -> anyhow::Result<()> {
    let dir = &store.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    chmod(dir, 0o711)?;
    for name in ["sandboxql.db", "sandboxql.db-wal", "sandboxql.db-shm"] {
        let p = dir.join(name);
        if p.exists() {
            chmod(&p, 0o600)?;
        }
    }
    let blobs = dir.join("blobs");
    std::fs::create_dir_all(&blobs).with_context(|| format!("creating {}", blobs.display()))?;
    chmod(&blobs, 0o700)
}

fn chmod(p: &Path, mode: u32) -> anyhow::Result<()> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).with_context(|| format!("chmod {}", p.display()))
}
