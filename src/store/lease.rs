//! Leases: one holder at a time for a named duty among processes that
//! share a database (PostgreSQL). A holder renews its lease before it runs
//! out; another process takes it over once it has run out, or at once when
//! the holder was a process on the same host that no longer exists (a
//! restart after a crash need not wait).
//!
//! Leases taken today: `telegram-poll` (one instance long-polls the Bot
//! API at a time: two `getUpdates` callers would take each other's
//! updates). Other shared duties need no lease: jobs are claimed one by one
//! (`sms::claim`, `outbox::claim`) and a scheduled backup by its period
//! ([`claim_period`]).

use serde::{Deserialize, Serialize};

use super::{Result, Table, WriteTx};

pub const LEASES: Table<Lease> = Table::new("leases");

/// How long a lease lasts without renewal.
pub const TTL_SECS: i64 = 15;
/// How often a holder renews.
pub const RENEW_SECS: u64 = 5;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Lease {
    /// A random id per process.
    pub holder: String,
    pub host: String,
    pub pid: u32,
    /// Unix seconds when it runs out.
    pub until: i64,
}

impl Lease {
    /// This process's lease, running out `TTL_SECS` after `now`.
    pub fn mine(holder: &str, now: i64) -> Lease {
        Lease {
            holder: holder.to_string(),
            host: host_name(),
            pid: std::process::id(),
            until: now + TTL_SECS,
        }
    }

    /// This holder's lease (or claim) running out at `until`.
    pub fn until(&self, until: i64) -> Lease {
        Lease {
            until,
            ..self.clone()
        }
    }

    /// Whether another holder may take this over from `me` at `now`: it
    /// has run out, or its holder was a process on `me`'s host that no
    /// longer exists (a restart after a crash need not wait).
    pub fn is_free_for(&self, me: &Lease, now: i64) -> bool {
        let other = self.holder != me.holder;
        let running = self.until > now;
        let gone_here = self.host == me.host && !pid_alive(self.pid);
        !other || !running || gone_here
    }

    /// Whether this is another holder's and `me` may take it over now
    /// (what a job claim left behind by a dead or stalled holder is).
    pub fn is_left_for(&self, me: &Lease, now: i64) -> bool {
        self.holder != me.holder && self.is_free_for(me, now)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Whether a process with this id runs on this host (Linux: `/proc`; other
/// systems are assumed to have it).
fn pid_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Takes or renews the lease `name` for `me`; `Err(holder)` when another
/// live holder has it.
pub fn take(
    w: &WriteTx,
    name: &str,
    me: &Lease,
    now: i64,
) -> Result<std::result::Result<(), Lease>> {
    if let Some(cur) = LEASES.get(w, name)?
        && !cur.is_free_for(me, now)
    {
        return Ok(Err(cur));
    }
    LEASES.put(w, name, me)?;
    Ok(Ok(()))
}

/// Gives the lease up (when this holder has it).
pub fn release(w: &WriteTx, name: &str, holder: &str) -> Result<()> {
    if LEASES.get(w, name)?.is_some_and(|l| l.holder == holder) {
        LEASES.delete(w, name)?;
    }
    Ok(())
}

/// Claims the periodic duty `name` (e.g. the scheduled backup) for the
/// period that starts at `now`: true when the last claim is at least
/// `every` seconds old, in which case the caller does the work. The first
/// call only starts the clock. Writes are serialised, so among instances
/// sharing the database exactly one claim of a period succeeds.
pub fn claim_period(w: &WriteTx, name: &str, every: i64, now: i64) -> Result<bool> {
    let key = format!("period:{name}");
    let last = super::meta::get_flag(w, &key)?
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes);
    let due = match last {
        None => false,
        Some(t) => now - t >= every,
    };
    if last.is_none() || due {
        super::meta::set_flag(w, &key, &now.to_be_bytes())?;
    }
    Ok(due)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreError};

    fn lease(holder: &str, pid: u32, until: i64) -> Lease {
        Lease {
            holder: holder.into(),
            host: host_name(),
            pid,
            until,
        }
    }

    #[test]
    fn a_live_holder_keeps_it_until_it_runs_out_or_its_process_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        let t = |l: Lease, now: i64| {
            s.write(|w| Ok::<_, StoreError>(take(w, "serve", &l, now)?.is_ok()))
                .unwrap()
        };
        let me = std::process::id();
        assert!(t(lease("a", me, 115), 100));
        // Another holder is refused while a's process lives and the lease runs.
        assert!(!t(lease("b", me, 120), 105));
        // a renews; b takes it once it has run out.
        assert!(t(lease("a", me, 125), 110));
        assert!(t(lease("b", me, 140), 126));
        // A holder whose process is gone on this host is taken over at once.
        s.write(|w| LEASES.put(w, "serve", &lease("c", u32::MAX - 7, 200)))
            .unwrap();
        assert!(t(lease("d", me, 210), 131));
        // Releasing by someone else does nothing; by the holder frees it.
        s.write(|w| release(w, "serve", "x")).unwrap();
        assert!(!t(lease("e", me, 220), 132));
        s.write(|w| release(w, "serve", "d")).unwrap();
        assert!(t(lease("e", me, 220), 133));
    }

    #[test]
    fn a_period_is_claimed_once_and_the_first_call_only_starts_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        let c = |now: i64| s.write(|w| claim_period(w, "backup", 100, now)).unwrap();
        assert!(!c(1000));
        assert!(!c(1050));
        assert!(c(1100));
        // A second instance asking in the same period gets nothing.
        assert!(!c(1101));
        assert!(!c(1199));
        assert!(c(1250));
    }
}
