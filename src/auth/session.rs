//! Sessions: a random 256-bit token in an HttpOnly SameSite=Strict cookie (or
//! a bearer header for API clients); only its SHA-256 is stored. Idle timeout
//! 30 minutes, absolute 12 hours; a new token at every sign-in; bumping the
//! account's session epoch ends all its sessions. See docs/design/sessions.md.

use crate::store::WriteTx;

use crate::store::accounts::{self, Account};
use crate::store::sessions::{SESSIONS, Session};
use crate::store::{Result, Store};
use crate::util;

pub const IDLE_SECS: i64 = 30 * 60;
pub const ABSOLUTE_SECS: i64 = 12 * 3600;
/// last_seen is written at most this often (saves a write per request).
const TOUCH_EVERY: i64 = 60;

pub const COOKIE: &str = "mc_session";

fn key(token: &str) -> String {
    util::sha256_hex(token.as_bytes())
}

pub fn create(w: &WriteTx, a: &Account, console: bool, bearer: bool, now: i64) -> Result<String> {
    let token = util::random_token();
    SESSIONS.put(
        w,
        &key(&token),
        &Session {
            username: a.username.clone(),
            created_at: now,
            last_seen: now,
            epoch: a.session_epoch,
            console,
            bearer,
        },
    )?;
    Ok(token)
}

pub fn end(w: &WriteTx, token: &str) -> Result<()> {
    SESSIONS.delete(w, &key(token))?;
    Ok(())
}

/// The live session and its account for a token, refreshing last_seen.
pub fn resolve(store: &Store, token: &str, now: i64) -> Result<Option<(Session, Account)>> {
    if token.len() > 100 {
        return Ok(None);
    }
    let k = key(token);
    let found = store.read(|r| {
        let Some(s) = SESSIONS.get(r, &k)? else {
            return Ok(None);
        };
        let a = accounts::get(r, &s.username)?;
        Ok(a.map(|a| (s, a)))
    })?;
    let Some((mut s, a)) = found else {
        return Ok(None);
    };
    let dead = now - s.last_seen > IDLE_SECS
        || now - s.created_at > ABSOLUTE_SECS
        || s.epoch != a.session_epoch
        || a.disabled;
    if dead {
        store.write(|w| SESSIONS.delete(w, &k).map(|_| ()))?;
        return Ok(None);
    }
    if now - s.last_seen >= TOUCH_EVERY {
        s.last_seen = now;
        let s2 = s.clone();
        store.write(|w| SESSIONS.put(w, &k, &s2))?;
    }
    Ok(Some((s, a)))
}

/// The username of a stored session (no liveness check, no write).
pub fn username_of(store: &Store, token: &str) -> Result<Option<String>> {
    let k = key(token);
    store.read(|r| Ok(SESSIONS.get(r, &k)?.map(|s| s.username)))
}
