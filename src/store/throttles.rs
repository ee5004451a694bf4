//! Counters of the rate limits and throttles (see `auth::throttle`), kept in
//! the store so that a restart, or a crash an attacker provokes, does not
//! reset them. Keyed by `<limit name>:<key>`.

use serde::{Deserialize, Serialize};

use super::{Result, Table, Tx};

pub const THROTTLES: Table<Counter> = Table::new("throttles");

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// Failures (throttles) or events in the window (caps).
    pub count: u32,
    /// Start of the window (caps) or time of the last failure (throttles).
    pub start: i64,
    /// Blocked until (throttles); unused by caps.
    pub until: i64,
    /// The entry may be forgotten after this time.
    pub expires: i64,
}

pub fn get(tx: &impl Tx, key: &str) -> Result<Option<Counter>> {
    THROTTLES.get(tx, key)
}

pub fn put(w: &crate::store::WriteTx, key: &str, c: &Counter) -> Result<()> {
    THROTTLES.put(w, key, c)
}

pub fn delete(w: &crate::store::WriteTx, key: &str) -> Result<bool> {
    THROTTLES.delete(w, key)
}

/// Removes counters that no longer matter; returns how many.
pub fn purge_expired(w: &crate::store::WriteTx, now: i64) -> Result<usize> {
    let mut dead = vec![];
    THROTTLES.scan_all(w, false, |k, c| {
        if c.expires < now {
            dead.push(k.to_vec());
        }
        Ok(true)
    })?;
    for k in &dead {
        THROTTLES.delete(w, k.as_slice())?;
    }
    Ok(dead.len())
}
