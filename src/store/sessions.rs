//! Sign-in sessions, keyed by the SHA-256 of the token (the token itself is
//! never stored).

use serde::{Deserialize, Serialize};

use super::{Result, Table};

pub const SESSIONS: Table<Session> = Table::new("sessions");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub username: String,
    pub created_at: i64,
    pub last_seen: i64,
    /// The account's session epoch when the session began; a bump ends it.
    pub epoch: u32,
    /// Console (staff) session, as opposed to a portal (citizen) one.
    pub console: bool,
    /// Issued as a bearer token to an API client (no cookie).
    pub bearer: bool,
}

pub fn purge_expired(
    w: &crate::store::WriteTx,
    idle_before: i64,
    created_before: i64,
) -> Result<usize> {
    let mut dead = vec![];
    SESSIONS.scan_all(w, false, |k, s| {
        if s.last_seen < idle_before || s.created_at < created_before {
            dead.push(k.to_vec());
        }
        Ok(true)
    })?;
    for k in &dead {
        SESSIONS.delete(w, k)?;
    }
    Ok(dead.len())
}
