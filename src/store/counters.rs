//! Counters kept in step with the records they count, per unit: what a
//! page shows as a number (the console menu's "new requests" badges) is a
//! few point reads, not a scan of the records.

use super::{Result, Table, Tx, WriteTx, key};

pub const COUNTERS: Table<u64> = Table::new("counters");

/// Support tickets with status "new", by handling unit.
pub const TICKETS_NEW: &str = "tickets_new";
/// Staff access requests waiting for a decision, by requested unit.
pub const ACCESS_PENDING: &str = "access_pending";

fn counter_key(name: &str, unit: u64) -> Vec<u8> {
    key(&[name.as_bytes(), &unit.to_be_bytes()])
}

/// Adds `delta` to counter `name` of `unit` (never below zero; a zero
/// counter is removed).
pub fn add(w: &WriteTx, name: &str, unit: u64, delta: i64) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let k = counter_key(name, unit);
    let cur = COUNTERS.get(w, &k)?.unwrap_or(0);
    let next = cur.saturating_add_signed(delta);
    if next == 0 {
        COUNTERS.delete(w, &k)?;
        Ok(())
    } else {
        COUNTERS.put(w, &k, &next)
    }
}

/// The non-zero counts of counter `name`, by unit.
pub fn by_unit(tx: &impl Tx, name: &str) -> Result<Vec<(u64, u64)>> {
    let mut prefix = name.as_bytes().to_vec();
    prefix.push(0);
    let mut out = vec![];
    COUNTERS.scan_prefix(tx, &prefix, false, |k, n| {
        if let Ok(b) = <[u8; 8]>::try_from(&k[prefix.len()..]) {
            out.push((u64::from_be_bytes(b), n));
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Recounts counter `name` from `(unit, counted)` pairs of every record.
pub fn rebuild(w: &WriteTx, name: &str, units: impl IntoIterator<Item = u64>) -> Result<()> {
    for (unit, _) in by_unit(w, name)? {
        COUNTERS.delete(w, &counter_key(name, unit))?;
    }
    for unit in units {
        add(w, name, unit, 1)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreError};

    #[test]
    fn counts_go_up_and_down_per_unit() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        s.write(|w| {
            add(w, TICKETS_NEW, 7, 1)?;
            add(w, TICKETS_NEW, 7, 1)?;
            add(w, TICKETS_NEW, 9, 1)?;
            add(w, ACCESS_PENDING, 7, 1)?;
            add(w, TICKETS_NEW, 9, -1)?;
            add(w, TICKETS_NEW, 9, -1)?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(s.read(|r| by_unit(r, TICKETS_NEW)).unwrap(), vec![(7, 2)]);
        assert_eq!(
            s.read(|r| by_unit(r, ACCESS_PENDING)).unwrap(),
            vec![(7, 1)]
        );
        s.write(|w| rebuild(w, TICKETS_NEW, [3, 3, 4])).unwrap();
        assert_eq!(
            s.read(|r| by_unit(r, TICKETS_NEW)).unwrap(),
            vec![(3, 2), (4, 1)]
        );
    }
}
