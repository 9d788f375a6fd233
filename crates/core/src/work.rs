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

use crate::error::{AppError, AppResult};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads for CPU-heavy jobs, running at a lower scheduling priority than
/// the threads that answer requests, so heavy work yields the CPU to them.
#[derive(Clone)]
pub struct CpuPool {
    jobs: std::sync::mpsc::Sender<Job>,
    job_threads: usize,
}

/// Sets the flag when dropped: the waiting future went away.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Lowers the calling thread's scheduling priority by `nice` (Linux: nice is per thread)
/// and, when `nice` is above 0, puts it in the idle scheduling class: a nice value only
/// shrinks a thread's share, and a running niced thread still keeps a woken request
/// thread waiting for the rest of its time slice (milliseconds, measured), where the
/// kernel preempts an idle-class thread as soon as a normal one wants the CPU. Threads
/// it starts (a parallel walk's) inherit both.
pub fn lower_priority(nice: i32) {
    // SAFETY: setpriority and sched_setscheduler on the calling thread (who/pid = 0) read
    // only the parameter passed; a failure only leaves the priority as it was.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
        if nice > 0 {
            let param = libc::sched_param { sched_priority: 0 };
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
        }
    }
}

impl CpuPool {
    /// A pool of `threads` threads (at least one) at priority `nice` (0 = unchanged).
    pub fn new(threads: usize, nice: i32) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("cpu-pool-{i}")).spawn(move || {
                lower_priority(nice);
                loop {
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a CPU pool thread");
            }
        }
        Self { jobs: tx, job_threads: threads.max(1) }
    }

    /// This pool letting one job that parallelises itself (a walk of a big tree) use up
    /// to `threads` threads (default: as many as the pool has).
    pub fn with_job_threads(mut self, threads: usize) -> Self {
        self.job_threads = threads.max(1);
        self
    }

    /// Threads one job may parallelise over.
    pub fn job_threads(&self) -> usize {
        self.job_threads
    }

    /// Runs `job` on a pool thread once one is free. The job gets a flag that turns true
    /// when the caller stops waiting; long jobs check it and stop early.
    pub async fn run<T, F>(&self, job: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&AtomicBool) -> AppResult<T> + Send + 'static,
    {
        let cancel = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(cancel.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let flag = cancel.clone();
        let boxed: Job = Box::new(move || {
            // A caller that already left is not worth starting for.
            let result = if flag.load(Ordering::Relaxed) {
                Err(AppError::Internal(anyhow::anyhow!("cpu job abandoned")))
            } else {
                job(&flag)
            };
            let _ = tx.send(result);
        });
        self.jobs.send(boxed).map_err(|_| AppError::Internal(anyhow::anyhow!("cpu pool stopped")))?;
        rx.await.map_err(|_| AppError::Internal(anyhow::anyhow!("cpu job failed")))?
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

/// Drops a large value (a walk of 100,000 entries, an evicted cache entry) on a blocking
/// thread: freeing it can take milliseconds that a runtime thread owes other requests.
pub fn drop_off_runtime<T: Send + 'static>(value: T) {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => {
            rt.spawn_blocking(move || drop(value));
        }
        Err(_) => drop(value),
    }
}

/// Runs work that must finish in its own task and waits for it: if the caller goes away
/// (a dropped client, a request timeout), the work still completes and leaves a
/// consistent state; only its answer is lost.
pub async fn detached<T, F>(work: F) -> AppResult<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = AppResult<T>> + Send + 'static,
{
    tokio::spawn(work).await.map_err(|e| AppError::Internal(anyhow::anyhow!("detached task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_dropped_caller_cancels_its_job() {
        let pool = CpuPool::new(1, 0);
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
        let pool = CpuPool::new(1, 0);
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
