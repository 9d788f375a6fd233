//! What one tenant may use of an instance, whatever it sends: caps on its concurrent
//! expensive operations (syncs, restores, deep walks; here) and on its request rate
//! ([`rate`]). Over either, the answer is RATE_LIMITED with a hint when to retry, never a
//! queue that grows. (Spending and runs at once are the account's budget, in
//! [`billing::budgets`](crate::billing::budgets), because they are stored and shared by
//! every instance.)

pub mod rate;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use uuid::Uuid;

use crate::{
    config::Limits,
    error::{AppError, AppResult},
};

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expensive {
    /// Taking a snapshot.
    Sync,
    /// Restoring a snapshot into a new sandbox.
    Restore,
    /// A recursive listing or a tree.
    Walk,
}

impl Expensive {
    fn name(self) -> &'static str {
        match self {
            Expensive::Sync => "syncs",
            Expensive::Restore => "restores",
            Expensive::Walk => "recursive listings",
        }
    }
}

/// In-flight expensive operations per account on this instance.
#[derive(Clone)]
pub struct Quotas {
    running: Arc<Mutex<HashMap<(Uuid, Expensive), u64>>>,
    limits: Arc<Limits>,
}

/// A slot; dropping it frees the slot.
pub struct Slot {
    running: Arc<Mutex<HashMap<(Uuid, Expensive), u64>>>,
    key: (Uuid, Expensive),
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

impl Quotas {
    /// Caps from `limits`.
    pub fn new(limits: Arc<Limits>) -> Self {
        Self { running: Arc::default(), limits }
    }

    fn cap(&self, what: Expensive) -> u64 {
        match what {
            Expensive::Sync => self.limits.max_concurrent_syncs_per_account,
            Expensive::Restore => self.limits.max_concurrent_restores_per_account,
            Expensive::Walk => self.limits.max_concurrent_walks_per_account,
        }
    }

    /// Takes a slot for `account`, or RATE_LIMITED when it already runs its cap.
    pub fn acquire(&self, account: Uuid, what: Expensive) -> AppResult<Slot> {
        let cap = self.cap(what);
        let mut map = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry((account, what)).or_insert(0);
        if *n >= cap {
            return Err(AppError::rate_limited(
                format!("this account already runs {cap} {} at once; retry when one finishes", what.name()),
                1000,
            ));
        }
        *n += 1;
        Ok(Slot { running: self.running.clone(), key: (account, what) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotas() -> Quotas {
        use clap::Parser;
        #[derive(Parser)]
        struct L {
            #[command(flatten)]
            l: Limits,
        }
        Quotas::new(Arc::new(L::parse_from(["x", "--max-concurrent-syncs-per-account", "2"]).l))
    }

    #[test]
    fn an_account_gets_its_cap_and_no_more_and_slots_come_back() {
        let q = quotas();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let s1 = q.acquire(a, Expensive::Sync).unwrap();
        let _s2 = q.acquire(a, Expensive::Sync).unwrap();
        let e = q.acquire(a, Expensive::Sync).err().unwrap();
        assert_eq!((e.code(), e.retry_after_ms()), ("RATE_LIMITED", Some(1000)));
        assert!(q.acquire(b, Expensive::Sync).is_ok(), "another account is not affected");
        assert!(q.acquire(a, Expensive::Walk).is_ok(), "another kind is counted apart");
        drop(s1);
        assert!(q.acquire(a, Expensive::Sync).is_ok());
    }
}
