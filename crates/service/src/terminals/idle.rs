//! What keeps a terminal from living or typing forever: who is attached, when it was last
//! used, and the rate its input is taken at. A terminal nobody watches or types into for
//! `limits.terminalIdleSecs` is closed by the sweeper; input past
//! `limits.terminalInputBytesPerSec` waits (the websocket stops being read, so the
//! client's own socket pushes back) and nothing typed is dropped.

use std::{
    num::NonZeroU32,
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A terminal's use: attachments, last activity, input rate.
pub struct Activity {
    attached: AtomicUsize,
    last: Mutex<Instant>,
    input: DefaultDirectRateLimiter,
    burst: NonZeroU32,
}

/// Held while a client is attached; its drop counts as activity.
pub struct Attached<'a>(&'a Activity);

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.0.attached.fetch_sub(1, Ordering::AcqRel);
        self.0.touch();
    }
}

impl Activity {
    /// Just used, taking input at `bytes_per_sec` (at least 1).
    pub fn new(bytes_per_sec: u32) -> Self {
        let burst = NonZeroU32::new(bytes_per_sec).unwrap_or(NonZeroU32::MIN);
        Self {
            attached: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
            input: RateLimiter::direct(Quota::per_second(burst)),
            burst,
        }
    }

    /// Counts a client as attached until the guard drops.
    pub fn attach(&self) -> Attached<'_> {
        self.attached.fetch_add(1, Ordering::AcqRel);
        self.touch();
        Attached(self)
    }

    /// Marks it used now.
    pub fn touch(&self) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// Whether no client is attached and nothing happened for `idle`.
    pub fn idle_for(&self, idle: Duration) -> bool {
        self.attached.load(Ordering::Acquire) == 0
            && self.last.lock().unwrap_or_else(|p| p.into_inner()).elapsed() >= idle
    }

    /// Waits until `bytes` more input fits the rate (in pieces no larger than a burst).
    pub async fn admit(&self, bytes: usize) {
        self.touch();
        let mut left = bytes;
        while left > 0 {
            let piece = left.min(self.burst.get() as usize);
            let n = NonZeroU32::new(piece as u32).unwrap_or(NonZeroU32::MIN);
            // A piece never exceeds the burst, so capacity is never insufficient.
            let _ = self.input.until_n_ready(n).await;
            left -= piece;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_only_when_nobody_is_attached_and_time_passed() {
        let a = Activity::new(10);
        assert!(a.idle_for(Duration::ZERO));
        let guard = a.attach();
        assert!(!a.idle_for(Duration::ZERO), "an attached client keeps it alive");
        drop(guard);
        assert!(a.idle_for(Duration::ZERO));
        assert!(!a.idle_for(Duration::from_secs(60)), "detaching counts as use");
    }

    #[tokio::test]
    async fn input_past_the_rate_waits() {
        let a = Activity::new(1000);
        let t = Instant::now();
        a.admit(1000).await;
        assert!(t.elapsed() < Duration::from_millis(500), "a burst of one second's worth passes at once");
        a.admit(1500).await;
        assert!(t.elapsed() >= Duration::from_millis(1400), "the rest waits for the rate: {:?}", t.elapsed());
    }
}
