//! Taking a checkpoint: the workspace against the previous checkpoint (or the newest
//! snapshot), the session transcript as it stands, one row — inside the account's blob
//! gate, so nothing it references is reclaimed before the row names it.

use std::sync::Arc;

use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;

use super::{Checkpoints, session};
use crate::{
    auth::Viewer,
    entity::{
        change_log::{self, Change},
        checkpoint::{self, Changes},
        new_id, now,
    },
    error::AppResult,
    lifecycle::leases::LeaseKind,
    sandboxes::VisibleSandbox,
    snapshots::{VisibleSnapshot, manifest::Manifest, storage_error, sync::previous::Previous},
    storage, work,
};

/// Where the conversation stood when a checkpoint is taken.
#[derive(Debug, Clone, Default)]
pub struct Point {
    /// The run whose turn ended (None: on demand).
    pub run_id: Option<Uuid>,
    /// Which turn of it.
    pub turn: Option<i64>,
    /// Claude's session.
    pub session_id: Option<String>,
    /// The message to resume at (None: the transcript's last assistant message).
    pub resume_at: Option<String>,
}

/// The uuid of the last assistant message of a spooled transcript.
fn last_assistant(path: &std::path::Path) -> Option<String> {
    use std::io::BufRead;
    let file = std::io::BufReader::new(std::fs::File::open(path).ok()?);
    let mut last = None;
    for line in file.lines().map_while(Result::ok) {
        if let Some(u) = crate::run::turns::assistant_uuid(&line) {
            last = Some(u);
        }
    }
    last
}

impl Checkpoints {
    /// A checkpoint taken now, on demand: one at a time per sandbox with its other long
    /// work (the sandbox lease), in its own task.
    pub async fn checkpoint(&self, viewer: &Viewer, sb: &VisibleSandbox) -> AppResult<checkpoint::Model> {
        viewer.require_writer()?;
        let (this, viewer, sb) = (self.clone(), viewer.clone(), sb.clone());
        work::detached(async move {
            let sb = this.sync.waker.awake(&sb).await?;
            let lease = this.sync.leases.acquire(sb.id, LeaseKind::Checkpoint).await?;
            let point = Point {
                session_id: sb.claude_session_id.clone(),
                resume_at: sb.claude_resume_at.clone(),
                ..Point::default()
            };
            let taken = this.take(&sb, point).await;
            lease.release().await;
            let row = taken?;
            let change =
                Change { actor: Some(viewer.account_id), entity: "sandboxes", entity_id: sb.id, action: "checkpoint" };
            change_log::record(&this.db, change, None::<&()>, Some(&row)).await?;
            Ok(row)
        })
        .await
    }

    /// Takes a checkpoint of `sb` at `point`.
    pub(crate) async fn take(&self, sb: &VisibleSandbox, point: Point) -> AppResult<checkpoint::Model> {
        let started = std::time::Instant::now();
        let inside = self.sync.gate.enter(sb.account_id).await?;
        let max_listed = self.limits.checkpoints.checkpoint_max_listed_changes as usize;
        let previous = match self.latest(sb.id).await? {
            Some(cp) => self.sync.snapshots.cursor(&VisibleSnapshot::of_checkpoint(&cp)).await?,
            None => match self.sync.snapshots.latest(sb).await? {
                Some(snap) => self.sync.snapshots.cursor(&snap).await?,
                None => Previous::none(),
            },
        };
        let (id, t) = (new_id(), now());
        let keep = self.sync.snapshots.cacheable_entries();
        let pass = self.sync.pass(sb, previous.tracking(max_listed), t, keep).await?;
        let blobs = &self.sync.snapshots.blobs;
        let key = storage::checkpoint_key(sb.account_id, sb.id, id, "files");
        let w = &pass.written;
        let body = Box::pin(tokio::fs::File::open(&w.path).await?);
        blobs.put_verified(&key, body, w.size, &w.sha256).await.map_err(storage_error)?;
        let (mut session_key, mut session_path, mut resume_at) = (None, None, point.resume_at.clone());
        if let Some(sid) = point.session_id.as_deref() {
            let ext = sb.external_id()?;
            let max = self.limits.checkpoints.checkpoint_session_max_bytes;
            if let Some(saved) = session::save(self.backend.as_ref(), &ext, sid, max).await? {
                let k = storage::checkpoint_key(sb.account_id, sb.id, id, "session");
                let body = Box::pin(tokio::fs::File::open(&saved.file).await?);
                blobs.put_verified(&k, body, saved.size, &saved.sha256).await.map_err(storage_error)?;
                if resume_at.is_none() {
                    let file = saved.file.to_path_buf();
                    resume_at = work::blocking(move |_| Ok(last_assistant(&file))).await?;
                }
                (session_key, session_path) = (Some(k), Some(saved.path.clone()));
            }
        }
        let changes = pass.changes.unwrap_or_default();
        let row = checkpoint::ActiveModel {
            id: Set(id),
            sandbox_id: Set(sb.id),
            account_id: Set(sb.account_id),
            run_id: Set(point.run_id),
            turn: Set(point.turn),
            session_id: Set(point.session_id.clone()),
            resume_at: Set(resume_at),
            session_key: Set(session_key),
            session_path: Set(session_path),
            manifest_key: Set(key),
            file_count: Set(pass.totals.files),
            total_bytes: Set(pass.totals.bytes),
            bytes_stored: Set(pass.totals.transferred as i64),
            changes_total: Set(changes.total as i64),
            changes: Set(Changes(changes.listed)),
            created_at: Set(t),
            updated_at: Set(t),
        }
        .insert(&self.db)
        .await?;
        if let Some(entries) = pass.entries {
            let m = Manifest { version: 2, sandbox_id: sb.id, created_at: t, entries };
            self.sync.snapshots.remember(id, Arc::new(m));
        }
        inside.leave().await;
        self.prune(sb).await?;
        crate::metrics::checkpoint(started.elapsed());
        Ok(row)
    }
}
