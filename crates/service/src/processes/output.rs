//! Replaying a process's output from any byte offset, then following it live until the
//! process has ended: exactly the stored bytes in order, with an explicit cut where
//! older output is no longer kept. Live output wakes replays on the instance running the
//! process at once; elsewhere they look again every `POLL`.

use std::time::Duration;

use futures::Stream;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{Processes, pump::FLUSH_BYTES};
use crate::{
    entity::{enums::ProcessStatus, process_output, sandbox_process},
    error::{AppError, AppResult},
};

/// How often a replay on another instance than the process's looks for more.
const POLL: Duration = Duration::from_millis(250);
/// Chunks read from the database at a time.
const CHUNKS_PER_READ: u64 = 16;

/// One piece of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputPiece {
    /// Bytes from `offset`.
    Data {
        /// Offset of the first byte.
        offset: i64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Output from `offset` on, `bytes` of it, is no longer kept.
    Cut {
        /// Where the gap starts.
        offset: i64,
        /// How long it is.
        bytes: i64,
    },
    /// The process has ended and everything it wrote was sent.
    Ended {
        /// The offset after its last byte.
        offset: i64,
        /// How it ended.
        status: ProcessStatus,
        /// Its exit code.
        exit_code: Option<i64>,
    },
}

impl Processes {
    /// Output of `process` (already visible to the caller) after `after` bytes.
    pub fn output(
        &self,
        process: sandbox_process::Model,
        after: i64,
    ) -> AppResult<impl Stream<Item = AppResult<OutputPiece>> + use<>> {
        if after < 0 {
            return Err(AppError::bad_input("afterOffset: 0 or more"));
        }
        let svc = self.clone();
        let id = process.id;
        Ok(async_stream::try_stream! {
            let mut cursor = after;
            loop {
                let mut end = svc.end_of(id);
                if let Some(rx) = end.as_mut() {
                    // From here on a change means output stored after this read.
                    rx.borrow_and_update();
                }
                let Some(row) = sandbox_process::Entity::find_by_id(id).one(&svc.db).await? else { break };
                if cursor < row.log_start {
                    yield OutputPiece::Cut { offset: cursor, bytes: row.log_start - cursor };
                    cursor = row.log_start;
                }
                let chunks = read(&svc, id, cursor).await?;
                let mut sent = false;
                for c in chunks {
                    let skip = (cursor - c.offset).max(0) as usize;
                    if skip >= c.data.len() {
                        continue;
                    }
                    cursor = c.offset + c.data.len() as i64;
                    sent = true;
                    yield OutputPiece::Data { offset: c.offset + skip as i64, bytes: c.data[skip..].to_vec() };
                }
                if sent {
                    continue;
                }
                if row.status != ProcessStatus::Running && cursor >= row.log_end {
                    yield OutputPiece::Ended { offset: cursor, status: row.status, exit_code: row.exit_code };
                    break;
                }
                match end.as_mut() {
                    Some(rx) => {
                        let _ = tokio::time::timeout(POLL * 4, rx.changed()).await;
                    }
                    None => tokio::time::sleep(POLL).await,
                }
            }
        })
    }
}

/// Chunks that may hold bytes at or after `cursor`, in order.
async fn read(svc: &Processes, id: Uuid, cursor: i64) -> AppResult<Vec<process_output::Model>> {
    Ok(process_output::Entity::find()
        .filter(process_output::Column::ProcessId.eq(id))
        .filter(process_output::Column::Offset.gt(cursor - FLUSH_BYTES as i64))
        .order_by_asc(process_output::Column::Offset)
        .limit(CHUNKS_PER_READ)
        .all(&svc.db)
        .await?)
}
