//! Growing waits after failed attempts, keyed by anything (an IP, a phone).
//! In memory: a restart forgets them, which is acceptable for IP keys; the
//! per-account lockout lives in the account record instead.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures allowed before the first wait.
pub const FREE_FAILURES: u32 = 5;
/// First wait in seconds; doubles with each further failure.
pub const BASE_WAIT: i64 = 30;
pub const MAX_WAIT: i64 = 3600;

/// The wait after `failures` consecutive failures (0 while under the limit).
pub fn wait_after(failures: u32, free: u32) -> i64 {
    if failures < free {
        return 0;
    }
    let exp = (failures - free).min(10);
    (BASE_WAIT << exp).min(MAX_WAIT)
}

#[derive(Debug, Default)]
pub struct Throttle {
    free: u32,
    map: Mutex<HashMap<String, (u32, i64)>>,
}

impl Throttle {
    pub fn new(free_failures: u32) -> Throttle {
        Throttle {
            free: free_failures,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds the key must still wait (0 = may try now).
    pub fn blocked_for(&self, key: &str, now: i64) -> i64 {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).map_or(0, |(_, until)| (until - now).max(0))
    }

    pub fn fail(&self, key: &str, now: i64) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, until)| *until > now);
        }
        let e = map.entry(key.to_string()).or_insert((0, 0));
        e.0 += 1;
        e.1 = now + wait_after(e.0, self.free);
    }

    pub fn succeed(&self, key: &str) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(key);
    }
}

/// At most `limit` events per key in a fixed window of `window` seconds
/// (in memory, like [`Throttle`]). Used for the per-IP cap on OTP sends of
/// anonymous flows.
#[derive(Debug)]
pub struct WindowCap {
    limit: u32,
    window: i64,
    map: Mutex<HashMap<String, (i64, u32)>>,
}

impl WindowCap {
    pub fn new(limit: u32, window: i64) -> WindowCap {
        WindowCap {
            limit,
            window,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key`; `Err(seconds)` (nothing counted) when the
    /// key is over its limit until the window ends.
    pub fn take(&self, key: &str, now: i64) -> Result<(), i64> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (start, _)| now - *start < window);
        }
        let e = map.entry(key.to_string()).or_insert((now, 0));
        if now - e.0 >= self.window {
            *e = (now, 0);
        }
        if e.1 >= self.limit {
            return Err((e.0 + self.window - now).max(1));
        }
        e.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let t = Throttle::new(2);
        t.fail("ip", 100);
        assert_eq!(t.blocked_for("ip", 100), 0);
        t.fail("ip", 100);
        assert_eq!(t.blocked_for("ip", 100), 30);
        assert_eq!(t.blocked_for("ip", 131), 0);
        t.succeed("ip");
        assert_eq!(t.blocked_for("ip", 100), 0);
    }

    #[test]
    fn window_cap_refuses_over_the_limit_until_the_window_ends() {
        let c = WindowCap::new(2, 100);
        assert_eq!(c.take("ip", 0), Ok(()));
        assert_eq!(c.take("ip", 10), Ok(()));
        assert_eq!(c.take("ip", 20), Err(80));
        assert_eq!(c.take("other", 20), Ok(()));
        assert_eq!(c.take("ip", 100), Ok(()));
    }
}
