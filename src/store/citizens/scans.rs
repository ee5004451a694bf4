//! Stored scans and who holds them, pending requests awaiting clean-up,
//! and the rate limit of staff look-ups.

use crate::store::{Result, Tx, WriteTx, key};

use super::{LOOKUPS, PENDING, SCAN_REFS};

fn scan_ref_key(hash: &str, holder: &str) -> Vec<u8> {
    key(&[hash.as_bytes(), holder.as_bytes()])
}

pub fn add_scan_ref(w: &WriteTx, hash: &str, holder: &str) -> Result<()> {
    SCAN_REFS.put(w, &scan_ref_key(hash, holder), &())
}

/// Drops one holder of a scan; true when nobody holds it any more (the file
/// may be deleted once the transaction has committed).
pub fn drop_scan_ref(w: &WriteTx, hash: &str, holder: &str) -> Result<bool> {
    SCAN_REFS.delete(w, &scan_ref_key(hash, holder))?;
    scan_unreferenced(w, hash)
}

pub fn scan_unreferenced(tx: &impl Tx, hash: &str) -> Result<bool> {
    let mut prefix = hash.as_bytes().to_vec();
    prefix.push(0);
    let mut any = false;
    SCAN_REFS.scan_prefix(tx, &prefix, false, |_, ()| {
        any = true;
        Ok(false)
    })?;
    Ok(!any)
}

fn pending_key(expires_at: i64, request_id: &str) -> Vec<u8> {
    let mut k = (expires_at.max(0) as u64).to_be_bytes().to_vec();
    k.extend_from_slice(request_id.as_bytes());
    k
}

pub fn add_pending(w: &WriteTx, expires_at: i64, request_id: &str, hash: &str) -> Result<()> {
    PENDING.put(w, &pending_key(expires_at, request_id), &hash.to_string())
}

pub fn remove_pending(w: &WriteTx, expires_at: i64, request_id: &str) -> Result<()> {
    PENDING.delete(w, &pending_key(expires_at, request_id))?;
    Ok(())
}

/// Pending requests that expired before `now`: (expires_at, request id, scan hash).
pub fn expired_pending(tx: &impl Tx, now: i64, limit: usize) -> Result<Vec<(i64, String, String)>> {
    let mut out = vec![];
    PENDING.scan_all(tx, false, |k, hash| {
        let at = u64::from_be_bytes(k[..8].try_into().unwrap_or_default()) as i64;
        if at >= now || out.len() >= limit {
            return Ok(false);
        }
        out.push((at, String::from_utf8_lossy(&k[8..]).into_owned(), hash));
        Ok(true)
    })?;
    Ok(out)
}

/// Counts a look-up by `username` at `now` unless over the limits
/// (`per_window` in `window` seconds, `per_day` in 24 h); Err(seconds to wait).
pub fn note_lookup(
    w: &WriteTx,
    username: &str,
    now: i64,
    per_window: usize,
    window: i64,
    per_day: usize,
) -> Result<std::result::Result<(), i64>> {
    let mut times: Vec<i64> = LOOKUPS
        .get(w, username)?
        .unwrap_or_default()
        .into_iter()
        .filter(|t| now - t < 86_400)
        .collect();
    times.sort_unstable();
    let recent: Vec<i64> = times.iter().copied().filter(|t| now - t < window).collect();
    if recent.len() >= per_window {
        return Ok(Err(
            (recent[recent.len() - per_window] + window - now).max(1)
        ));
    }
    if times.len() >= per_day {
        return Ok(Err((times[times.len() - per_day] + 86_400 - now).max(1)));
    }
    times.push(now);
    LOOKUPS.put(w, username, &times)?;
    Ok(Ok(()))
}
