//! The fake Modal's volume file API and token minting: `VolumeListFiles2` over a volume's
//! directory, `VolumeGetFile2` answering links to a small HTTP blob server (as Modal
//! answers signed URLs, one per 8 MiB block), and JWT-shaped tokens with an `exp` claim.

use std::{net::SocketAddr, path::Path};

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::IntoResponse,
};
use base64::Engine;
use sandboxql::backend::modal::proto::{
    FileEntry, VolumeGetFile2Request, VolumeGetFile2Response, VolumeListFiles2Request, VolumeListFiles2Response,
    file_entry::FileType,
};
use tonic::Status;

impl super::fake_modal::FakeModal {
    /// Refuses a listing call of the other VolumeFS version (`v2` for `VolumeListFiles2`).
    pub(super) fn listing_call(&self, volume_id: &str, v2: bool) -> Result<(), Status> {
        let st = self.st();
        if !st.volumes.contains_key(volume_id) {
            return Err(Status::not_found("no such volume"));
        }
        let is_v2 =
            st.volume_versions.get(volume_id) == Some(&(sandboxql::backend::modal::proto::VolumeFsVersion::V2 as i32));
        match (is_v2, v2) {
            (true, false) => Err(Status::failed_precondition("VolumeListFiles on a v2 volume: use VolumeListFiles2")),
            (false, true) => Err(Status::failed_precondition("VolumeListFiles2 on a v1 volume: use VolumeListFiles")),
            _ => Ok(()),
        }
    }
}

const BLOCK: u64 = 8 * 1024 * 1024;

/// A JWT-shaped token expiring at `exp` (unix seconds), unique by `n`.
pub fn jwt(exp: i64, n: usize) -> String {
    let enc = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let claims = serde_json::json!({"exp": exp, "n": n, "r": uuid::Uuid::new_v4().to_string()});
    format!("{}.{}.fakesig", enc(serde_json::json!({"alg": "HS256"})), enc(claims))
}

fn resolve(volumes: &Path, volume: &str, path: &str) -> Result<std::path::PathBuf, Status> {
    let rel = path.trim_start_matches('/');
    if rel.split('/').any(|c| c == "..") {
        return Err(Status::invalid_argument("bad path"));
    }
    Ok(volumes.join(volume).join(rel))
}

/// Entries under `path` (recursive or one level), paths relative to the volume root,
/// in pages of 100 as a stream of responses.
pub fn list(volumes: &Path, r: &VolumeListFiles2Request) -> Result<Vec<VolumeListFiles2Response>, Status> {
    let root = volumes.join(&r.volume_id);
    let start = resolve(volumes, &r.volume_id, &r.path)?;
    if !start.exists() {
        // A new volume's root exists before anything is written to it.
        if r.path.trim_matches('/').is_empty() {
            return Ok(Vec::new());
        }
        return Err(Status::not_found("no such path"));
    }
    let (mut entries, mut todo) = (Vec::new(), vec![start]);
    while let Some(dir) = todo.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else { continue };
        for e in read.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else { continue };
            let kind = if meta.file_type().is_symlink() {
                FileType::Symlink
            } else if meta.is_dir() {
                FileType::Directory
            } else {
                FileType::File
            };
            if kind == FileType::Directory && r.recursive {
                todo.push(e.path());
            }
            let rel = e.path().strip_prefix(&root).map(|p| p.display().to_string()).unwrap_or_default();
            let mtime = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            entries.push(FileEntry {
                path: rel,
                r#type: kind as i32,
                mtime: mtime.map_or(0, |d| d.as_secs()),
                size: meta.len(),
            });
        }
    }
    if let Some(max) = r.max_entries {
        entries.truncate(max as usize);
    }
    Ok(entries.chunks(100).map(|c| VolumeListFiles2Response { entries: c.to_vec() }).collect())
}

/// Links to the blocks of `[start, start+len)` of a file.
pub fn get_file(volumes: &Path, blobs: SocketAddr, r: VolumeGetFile2Request) -> Result<VolumeGetFile2Response, Status> {
    let file = resolve(volumes, &r.volume_id, &r.path)?;
    let meta = std::fs::metadata(&file).map_err(|_| Status::not_found("no such file"))?;
    if !meta.is_file() {
        return Err(Status::not_found("not a file"));
    }
    let size = meta.len();
    let start = r.start.min(size);
    let len = if r.len == 0 { size - start } else { r.len.min(size - start) };
    let mut urls = Vec::new();
    let mut at = start;
    while at < start + len {
        let n = BLOCK.min(start + len - at);
        let rel = urlencoding(&format!("{}/{}", r.volume_id, r.path.trim_start_matches('/')));
        urls.push(format!("http://{blobs}/blob?p={rel}&start={at}&len={n}"));
        at += n;
    }
    Ok(VolumeGetFile2Response { get_urls: urls, size, start, len })
}

fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(serde::Deserialize)]
struct BlobQuery {
    p: String,
    start: u64,
    len: u64,
}

async fn blob(State(volumes): State<std::path::PathBuf>, Query(q): Query<BlobQuery>) -> impl IntoResponse {
    use std::io::{Read, Seek};
    let Ok(path) = resolve(&volumes, "", &q.p) else { return (StatusCode::BAD_REQUEST, Vec::new()) };
    let Ok(mut f) = std::fs::File::open(path) else { return (StatusCode::NOT_FOUND, Vec::new()) };
    let mut buf = vec![0u8; q.len as usize];
    if f.seek(std::io::SeekFrom::Start(q.start)).is_err() || f.read_exact(&mut buf).is_err() {
        return (StatusCode::RANGE_NOT_SATISFIABLE, Vec::new());
    }
    (StatusCode::OK, buf)
}

/// Serves `/blob?p=<volume>/<path>&start=&len=` from the volumes directory.
pub async fn serve_blobs(volumes: std::path::PathBuf) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind blobs");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route("/blob", axum::routing::get(blob)).with_state(volumes);
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}
