//! CPU-heavy work (walking big trees, hashing, building and parsing manifests, sorting)
//! runs here, off the async runtime and on a bounded number of threads, so one tenant's
//! 500 MB sync leaves cores for everybody else's requests.
//!
//! Every job gets a cancellation flag that is set when the caller stops waiting (its
//! request was dropped or timed out), so abandoned work stops at its next check instead
//! of running to the end.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use tokio::sync::Semaphore;

use crate::error::{AppError, AppResult};

/// A bounded pool of blocking threads for CPU-heavy jobs.
#[derive(Clone)]
pub struct CpuPool {
    permits: Arc<Semaphore>,
}

/// Sets the flag when dropped: the waiting future went away.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl CpuPool {
    /// A pool running at most `threads` jobs at once (at least one).
    pub fn new(threads: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(threads.max(1))) }
    }

    /// Runs `job` on a blocking thread once a slot is free. The job gets a flag that turns
    /// true when the caller stops waiting; long jobs check it and stop early.
    pub async fn run<T, F>(&self, job: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&AtomicBool) -> AppResult<T> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("cpu pool closed")))?;
        let cancel = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(cancel.clone());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job(&cancel)
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cpu job failed: {e}")))?
    }
}

/// Runs a short blocking job (one `stat`, one small read) off the runtime, unbounded by
/// the CPU pool, with the same cancellation flag.
pub async fn blocking<T, F>(job: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&AtomicBool) -> AppResult<T> + Send + 'static,
{
    let cancel = Arc::new(AtomicBool::new(false));
    let _guard = CancelOnDrop(cancel.clone());
    tokio::task::spawn_blocking(move || job(&cancel))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking job failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_dropped_caller_cancels_its_job() {
        let pool = CpuPool::new(1);
        let seen = Arc::new(AtomicBool::new(false));
        let s = seen.clone();
        let job = pool.run(move |cancel| {
            while !cancel.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
            }
            s.store(true, Ordering::Relaxed);
            Ok(())
        });
        assert!(tokio::time::timeout(Duration::from_millis(50), job).await.is_err());
        for _ in 0..100 {
            if seen.load(Ordering::Relaxed) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the job never saw its cancellation");
    }

    #[tokio::test]
    async fn jobs_beyond_the_pool_size_wait() {
        use std::sync::atomic::AtomicUsize;
        let pool = CpuPool::new(1);
        let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let job = |now: Arc<AtomicUsize>, max: Arc<AtomicUsize>| {
            move |_: &AtomicBool| {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(n, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        };
        let (a, b, c) = tokio::join!(
            pool.run(job(now.clone(), max.clone())),
            pool.run(job(now.clone(), max.clone())),
            pool.run(job(now.clone(), max.clone()))
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        assert_eq!(max.load(Ordering::SeqCst), 1);
    }
}
