//! Daily counters for the statistics page, bumped inside the transaction of
//! the event they count (so they agree with the data).

use super::WriteTx;

use super::{Result, Table, Tx, key};

/// (metric, day yyyymmdd, dimension) → count
pub const DAILY: Table<u64> = Table::new("stats_daily");

/// The day (Vietnam time) of a unix time, as yyyymmdd.
pub fn day_of(ts: i64) -> String {
    use chrono::TimeZone;
    let tz = chrono::FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| unreachable!());
    tz.timestamp_opt(ts, 0)
        .single()
        .map(|t| t.format("%Y%m%d").to_string())
        .unwrap_or_default()
}

pub fn bump(w: &WriteTx, at: i64, metric: &str, dim: &str) -> Result<()> {
    bump_by(w, at, metric, dim, 1)
}

pub fn bump_by(w: &WriteTx, at: i64, metric: &str, dim: &str, n: u64) -> Result<()> {
    let k = key(&[metric.as_bytes(), day_of(at).as_bytes(), dim.as_bytes()]);
    let cur = DAILY.get(w, &k)?.unwrap_or(0);
    DAILY.put(w, &k, &(cur + n))
}

/// The counter of `metric`/`dim` on the local day of `at`.
pub fn get(tx: &impl Tx, at: i64, metric: &str, dim: &str) -> Result<u64> {
    let k = key(&[metric.as_bytes(), day_of(at).as_bytes(), dim.as_bytes()]);
    Ok(DAILY.get(tx, &k)?.unwrap_or(0))
}

/// One counter row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub day: String,
    pub dim: String,
    pub count: u64,
}

/// Counters of `metric` for days in `from..=to` (yyyymmdd).
pub fn range(tx: &impl Tx, metric: &str, from: &str, to: &str) -> Result<Vec<Row>> {
    let mut prefix = metric.as_bytes().to_vec();
    prefix.push(0);
    let mut out = vec![];
    DAILY.scan_prefix(tx, &prefix, false, |k, count| {
        let rest = &k[prefix.len()..];
        let mut parts = rest.splitn(2, |b| *b == 0);
        let day = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        let dim = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        if day.as_str() > to {
            return Ok(false);
        }
        if day.as_str() >= from {
            out.push(Row { day, dim, count });
        }
        Ok(true)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreError};

    #[test]
    fn counts_by_day_and_dimension() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        let day1 = 1_764_118_800; // 26/11/2025 08:00 Vietnam time
        s.write(|w| {
            bump(w, day1, "otp_sent", "")?;
            bump(w, day1 + 60, "otp_sent", "")?;
            bump(w, day1 + 86_400, "otp_sent", "")?;
            bump(w, day1, "accounts_created_unit", "7")?;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let rows = s
            .read(|r| range(r, "otp_sent", "20251126", "20251126"))
            .unwrap();
        assert_eq!(
            rows,
            vec![Row {
                day: "20251126".into(),
                dim: String::new(),
                count: 2
            }]
        );
        let rows = s
            .read(|r| range(r, "otp_sent", "20251101", "20251231"))
            .unwrap();
        assert_eq!(rows.len(), 2);
        let rows = s
            .read(|r| range(r, "accounts_created_unit", "20250101", "20251231"))
            .unwrap();
        assert_eq!(rows[0].dim, "7");
    }
}
