//! Growing waits after failed attempts and fixed-window caps, keyed by
//! anything (an IP, an account and a client). The counters live in the
//! store (`store::throttles`), so a restart does not reset them; each
//! counted event is one small write (group commit makes it cheap), checks are
//! reads. Expired counters are pruned by the clean-up worker. See
//! docs/design/throttles.md.

use crate::store::WriteTx;

use crate::store::throttles::{self, Counter};
use crate::store::{Store, Tx};

/// Failures allowed before the first wait.
pub const FREE_FAILURES: u32 = 5;
/// First wait in seconds; doubles with each further failure.
pub const BASE_WAIT: i64 = 30;
pub const MAX_WAIT: i64 = 3600;
/// A failure counter is forgotten this long after its last failure (once its
/// wait is over).
pub const FORGET_AFTER: i64 = 24 * 3600;

/// The wait after `failures` consecutive failures (0 while under the limit).
pub fn wait_after(failures: u32, free: u32) -> i64 {
    if failures < free {
        return 0;
    }
    let exp = (failures - free).min(10);
    (BASE_WAIT << exp).min(MAX_WAIT)
}

fn logged<T: Default>(r: crate::store::Result<T>) -> T {
    r.unwrap_or_else(|e| {
        tracing::error!(error = %e, "throttle counter not read or written");
        T::default()
    })
}

/// Failures per key with a growing wait once past `free`.
#[derive(Clone)]
pub struct Throttle {
    store: Store,
    name: &'static str,
    free: u32,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Throttle({}, {})", self.name, self.free)
    }
}

impl Throttle {
    /// `name` separates this throttle's keys from the others' in the table.
    pub fn new(store: Store, name: &'static str, free_failures: u32) -> Throttle {
        Throttle {
            store,
            name,
            free: free_failures,
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.name)
    }

    /// The counter of `key` (zero when none).
    pub fn counter_in(&self, tx: &impl Tx, key: &str) -> crate::store::Result<Counter> {
        Ok(throttles::get(tx, &self.key(key))?.unwrap_or_default())
    }

    /// Seconds the key must still wait (0 = may try now).
    pub fn blocked_for(&self, key: &str, now: i64) -> i64 {
        let c = logged(self.store.read(|r| self.counter_in(r, key)));
        (c.until - now).max(0)
    }

    /// Failures counted for `key` and not yet forgotten.
    pub fn failures(&self, key: &str, now: i64) -> u32 {
        let c = logged(self.store.read(|r| self.counter_in(r, key)));
        if c.expires < now { 0 } else { c.count }
    }

    /// Counts a failure inside `w`; returns the failures so far.
    pub fn fail_in(&self, w: &WriteTx, key: &str, now: i64) -> crate::store::Result<u32> {
        let k = self.key(key);
        let mut c = throttles::get(w, &k)?.unwrap_or_default();
        if c.expires < now {
            c = Counter::default();
        }
        c.count += 1;
        c.start = now;
        c.until = now + wait_after(c.count, self.free);
        c.expires = c.until.max(now) + FORGET_AFTER;
        throttles::put(w, &k, &c)?;
        Ok(c.count)
    }

    pub fn fail(&self, key: &str, now: i64) {
        logged(self.store.write(|w| self.fail_in(w, key, now).map(|_| ())));
    }

    /// Clears `key` inside `w` (no write when there is nothing to clear).
    pub fn succeed_in(&self, w: &WriteTx, key: &str) -> crate::store::Result<()> {
        let k = self.key(key);
        if throttles::get(w, &k)?.is_some() {
            throttles::delete(w, &k)?;
        }
        Ok(())
    }

    /// Clears `key`; only writes when there was a counter.
    pub fn succeed(&self, key: &str) {
        let k = self.key(key);
        if logged(self.store.read(|r| throttles::get(r, &k))).is_some() {
            logged(self.store.write(|w| throttles::delete(w, &k).map(|_| ())));
        }
    }
}

/// At most `limit` events per key in a fixed window of `window` seconds,
/// counted in the store. Used for the per-IP cap on OTP sends of anonymous
/// flows, the captcha budget and chat starts.
#[derive(Clone)]
pub struct WindowCap {
    store: Store,
    name: &'static str,
    limit: u32,
    window: i64,
}

impl std::fmt::Debug for WindowCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WindowCap({}, {}/{}s)",
            self.name, self.limit, self.window
        )
    }
}

impl WindowCap {
    pub fn new(store: Store, name: &'static str, limit: u32, window: i64) -> WindowCap {
        WindowCap {
            store,
            name,
            limit,
            window,
        }
    }

    /// Counts one event for `key` inside `w`; `Err(seconds)` (nothing
    /// counted) when the key is over its limit until the window ends.
    pub fn take_in(
        &self,
        w: &WriteTx,
        key: &str,
        now: i64,
    ) -> crate::store::Result<Result<(), i64>> {
        let k = format!("{}:{key}", self.name);
        let mut c = throttles::get(w, &k)?.unwrap_or_default();
        if c.count == 0 || now - c.start >= self.window {
            c = Counter {
                count: 0,
                start: now,
                until: 0,
                expires: now + self.window,
            };
        }
        if c.count >= self.limit {
            return Ok(Err((c.start + self.window - now).max(1)));
        }
        c.count += 1;
        throttles::put(w, &k, &c)?;
        Ok(Ok(()))
    }

    /// [`WindowCap::take_in`] in its own write transaction.
    pub fn take(&self, key: &str, now: i64) -> Result<(), i64> {
        match self.store.write(|w| self.take_in(w, key, now)) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cap counter not written");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("t.redb")).unwrap();
        (dir, s)
    }

    #[test]
    fn waits_grow() {
        assert_eq!(wait_after(4, 5), 0);
        assert_eq!(wait_after(5, 5), 30);
        assert_eq!(wait_after(6, 5), 60);
        assert_eq!(wait_after(7, 5), 120);
        assert_eq!(wait_after(40, 5), MAX_WAIT);
    }

    #[test]
    fn throttle_blocks_then_clears() {
        let (_d, s) = store();
        let t = Throttle::new(s.clone(), "t", 2);
        t.fail("ip", 100);
        assert_eq!(t.blocked_for("ip", 100), 0);
        t.fail("ip", 100);
        assert_eq!(t.blocked_for("ip", 100), 30);
        assert_eq!(t.blocked_for("ip", 131), 0);
        assert_eq!(
            Throttle::new(s.clone(), "other", 2).blocked_for("ip", 100),
            0,
            "names separate throttles"
        );
        t.succeed("ip");
        assert_eq!(t.blocked_for("ip", 100), 0);
        assert_eq!(t.failures("ip", 100), 0);
    }

    #[test]
    fn counters_survive_reopening_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        {
            let s = Store::open(&path).unwrap();
            let t = Throttle::new(s.clone(), "t", 1);
            t.fail("ip", 100);
            let c = WindowCap::new(s, "c", 1, 100);
            assert_eq!(c.take("ip", 0), Ok(()));
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(Throttle::new(s.clone(), "t", 1).blocked_for("ip", 100), 30);
        assert_eq!(WindowCap::new(s, "c", 1, 100).take("ip", 10), Err(90));
    }

    #[test]
    fn window_cap_refuses_over_the_limit_until_the_window_ends() {
        let (_d, s) = store();
        let c = WindowCap::new(s, "c", 2, 100);
        assert_eq!(c.take("ip", 0), Ok(()));
        assert_eq!(c.take("ip", 10), Ok(()));
        assert_eq!(c.take("ip", 20), Err(80));
        assert_eq!(c.take("other", 20), Ok(()));
        assert_eq!(c.take("ip", 100), Ok(()));
    }

    #[test]
    fn expired_counters_are_purged() {
        let (_d, s) = store();
        let c = WindowCap::new(s.clone(), "c", 2, 100);
        assert_eq!(c.take("ip", 0), Ok(()));
        let t = Throttle::new(s.clone(), "t", 2);
        t.fail("ip", 0);
        assert_eq!(s.write(|w| throttles::purge_expired(w, 50)).unwrap(), 0);
        assert_eq!(s.write(|w| throttles::purge_expired(w, 101)).unwrap(), 1);
        assert_eq!(
            s.write(|w| throttles::purge_expired(w, FORGET_AFTER + 1))
                .unwrap(),
            1
        );
    }
}
