//! The queue between a connection's operations and its socket, bounded in bytes.
//!
//! Producers wait when the queue holds the configured number of bytes, so a client that
//! does not read costs a bounded amount of memory: its operations stop pulling events
//! (which then lag and are re-read from the database later) until the writer gives up on
//! the socket.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::protocol::Frame;

/// Bytes are counted in units of this size (a semaphore holds at most u32::MAX permits).
const UNIT: usize = 1024;

/// One outgoing frame and the room it holds in the queue until sent.
pub struct Queued {
    /// The frame.
    pub frame: Frame,
    _room: OwnedSemaphorePermit,
}

/// The sending half; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Queued>,
    room: Arc<Semaphore>,
    capacity: u32,
}

/// A queue of at most `bytes` bytes (a single larger frame takes the whole queue).
pub fn outbox(bytes: usize) -> (Outbox, mpsc::UnboundedReceiver<Queued>) {
    let capacity = (bytes / UNIT).clamp(1, u32::MAX as usize) as u32;
    let (tx, rx) = mpsc::unbounded_channel();
    (Outbox { tx, room: Arc::new(Semaphore::new(capacity as usize)), capacity }, rx)
}

impl Outbox {
    /// Queues a frame, waiting for room; false when the connection is gone.
    pub async fn send(&self, frame: Frame) -> bool {
        let units = (frame.queued_bytes().div_ceil(UNIT)).clamp(1, self.capacity as usize) as u32;
        let Ok(room) = self.room.clone().acquire_many_owned(units).await else { return false };
        self.tx.send(Queued { frame, _room: room }).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn of(bytes: usize) -> Frame {
        Frame::Next { id: String::new(), payload: "a".repeat(bytes), seq: None }
    }

    #[tokio::test]
    async fn a_full_queue_makes_producers_wait_until_frames_leave() {
        let (out, mut rx) = outbox(4 * UNIT);
        assert!(out.send(of(3 * UNIT)).await);
        let blocked = tokio::time::timeout(Duration::from_millis(50), out.send(of(2 * UNIT))).await;
        assert!(blocked.is_err(), "no room for 2 more units");
        let first = rx.recv().await.unwrap();
        assert_eq!(first.frame.queued_bytes(), 3 * UNIT);
        drop(first);
        assert!(out.send(of(2 * UNIT)).await);
        drop(rx.recv().await.unwrap());
        assert!(out.send(of(UNIT * 40)).await, "an oversized frame takes the whole queue");
        drop(rx);
        assert!(!out.send(Frame::Pong).await, "the connection is gone");
    }
}
