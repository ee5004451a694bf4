//! Captcha challenges kept in the database when several instances share it
//! (PostgreSQL): a picture drawn by one instance can be answered on
//! another. Keyed by the SHA-256 of the challenge id; a check deletes the
//! entry whatever the outcome (single use). With redb, one process serves
//! the database and the challenges stay in its memory (`crate::captcha`).

use serde::{Deserialize, Serialize};

use super::{Result, Table, Tx, WriteTx};

pub const CAPTCHAS: Table<Challenge> = Table::new("captchas");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The normalised answer.
    pub answer: String,
    pub expires_at: i64,
}

fn key(id: &str) -> String {
    crate::util::sha256_hex(id.as_bytes())
}

pub fn put(w: &WriteTx, id: &str, c: &Challenge) -> Result<()> {
    CAPTCHAS.put(w, &key(id), c)
}

/// Removes and returns the challenge `id` (it is used up either way).
pub fn take(w: &WriteTx, id: &str) -> Result<Option<Challenge>> {
    let k = key(id);
    let c = CAPTCHAS.get(w, &k)?;
    if c.is_some() {
        CAPTCHAS.delete(w, &k)?;
    }
    Ok(c)
}

pub fn get(tx: &impl Tx, id: &str) -> Result<Option<Challenge>> {
    CAPTCHAS.get(tx, &key(id))
}

/// Forgets challenges that ran out; returns how many.
pub fn purge_expired(w: &WriteTx, now: i64) -> Result<usize> {
    let mut dead = vec![];
    CAPTCHAS.scan_all(w, false, |k, c| {
        if c.expires_at < now {
            dead.push(k.to_vec());
        }
        Ok(true)
    })?;
    for k in &dead {
        CAPTCHAS.delete(w, k.as_slice())?;
    }
    Ok(dead.len())
}
