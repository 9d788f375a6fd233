//! Request rate per caller: a token bucket per account (per client address before sign-in)
//! on this instance. Over the rate, the answer is RATE_LIMITED with `retryAfterMs`.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{
    cache::Bounded,
    error::{AppError, AppResult},
};

/// Whose requests are counted together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A signed-in account.
    Account(uuid::Uuid),
    /// A client not signed in, by address.
    Address(std::net::IpAddr),
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets of every recent caller (a caller the cache forgot starts with a full
/// bucket again, which a caller quiet long enough to be forgotten has anyway).
pub struct RateLimiter {
    buckets: Bounded<Caller, Arc<Mutex<Bucket>>>,
    per_sec: f64,
    burst: f64,
}

impl RateLimiter {
    /// `per_sec` requests a second on average, bursts of `burst`; remembers at most
    /// `max_callers` buckets (full ones are forgotten first: they equal a new one).
    pub fn new(per_sec: u64, burst: u64, max_callers: usize) -> Self {
        Self {
            buckets: Bounded::by_count(max_callers, None),
            per_sec: per_sec.max(1) as f64,
            burst: burst.max(1) as f64,
        }
    }

    /// Takes `cost` tokens from the caller's bucket, or says when there will be enough.
    pub fn take(&self, caller: Caller, cost: u64) -> AppResult<()> {
        self.take_at(caller, cost as f64, Instant::now())
    }

    fn take_at(&self, caller: Caller, cost: f64, now: Instant) -> AppResult<()> {
        let bucket = self.buckets.get(&caller).unwrap_or_else(|| {
            let fresh = Arc::new(Mutex::new(Bucket { tokens: self.burst, at: now }));
            self.buckets.insert(caller, fresh.clone());
            fresh
        });
        let mut b = bucket.lock().unwrap_or_else(|p| p.into_inner());
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.per_sec).min(self.burst);
        b.at = now;
        if b.tokens >= cost {
            b.tokens -= cost;
            return Ok(());
        }
        let wait = Duration::from_secs_f64((cost.min(self.burst) - b.tokens) / self.per_sec);
        Err(AppError::rate_limited(
            format!("too many requests: this account may make {} a second", self.per_sec),
            wait.as_millis().max(1) as u64,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let r = RateLimiter::new(10, 3, 100);
        let a = Caller::Account(uuid::Uuid::nil());
        let t = Instant::now();
        for _ in 0..3 {
            r.take_at(a, 1.0, t).unwrap();
        }
        let e = r.take_at(a, 1.0, t).unwrap_err();
        assert_eq!(e.code(), "RATE_LIMITED");
        assert_eq!(e.retry_after_ms(), Some(100));
        r.take_at(a, 1.0, t + Duration::from_millis(100)).unwrap();
        let other = Caller::Address("127.0.0.1".parse().unwrap());
        r.take_at(other, 1.0, t).unwrap();
    }

    #[test]
    fn the_table_of_callers_stays_bounded() {
        let r = RateLimiter::new(10, 3, 4);
        let t = Instant::now();
        for i in 0..100u128 {
            r.take_at(Caller::Account(uuid::Uuid::from_u128(i)), 1.0, t).unwrap();
        }
        assert!(r.buckets.len() <= 4);
    }
}
