//! Days in Vietnam's time, the partitions an account is filed under, and
//! their entry and counter keys.

use crate::domain::text;
use crate::store::{Result, WriteTx};

use super::{COUNTS, POSTINGS, ROWS};

const VN_OFFSET: i64 = 7 * 3600;
/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const CE_TO_EPOCH: i32 = 719_163;
/// The last day a query may name (year 2243); later bounds are clamped.
pub(super) const MAX_DAY: u32 = 100_000;

/// The day (since 1970-01-01, Vietnam time) of a unix time.
pub fn day_of(ts: i64) -> u32 {
    (ts.max(0) + VN_OFFSET).div_euclid(86_400) as u32
}

fn date_of(day: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_num_days_from_ce_opt(day as i32 + CE_TO_EPOCH).unwrap_or_default()
}

fn day_of_date(d: chrono::NaiveDate) -> u32 {
    use chrono::Datelike;
    (d.num_days_from_ce() - CE_TO_EPOCH).max(0) as u32
}

/// The day of a dd/mm/yyyy date (Vietnam time).
pub fn parse_day(s: &str) -> Option<u32> {
    let s = s.trim();
    let d = chrono::NaiveDate::parse_from_str(s, "%d/%m/%Y")
        .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()?;
    Some(day_of_date(d))
}

pub(super) fn month_of(day: u32) -> u32 {
    use chrono::Datelike;
    let d = date_of(day);
    d.year().max(0) as u32 * 12 + d.month0()
}

pub(super) fn first_day_of_month(month: u32) -> u32 {
    let (y, m) = ((month / 12) as i32, month % 12 + 1);
    chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .map(day_of_date)
        .unwrap_or(0)
}

pub(super) fn last_day_of_month(month: u32) -> u32 {
    first_day_of_month(month + 1).saturating_sub(1)
}

/// One partition of the index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    All,
    Unit(u64),
    /// A word, pair or triple of adjacent words of the name, in one unit.
    Words(u64, String),
    Creator(u32),
    Phone(String),
}

impl Part {
    pub(super) fn prefix(&self) -> Vec<u8> {
        match self {
            Part::All => vec![b'A'],
            Part::Unit(u) => {
                let mut k = vec![b'U'];
                k.extend_from_slice(&u.to_be_bytes());
                k
            }
            Part::Words(u, w) => {
                let mut k = vec![b'W'];
                k.extend_from_slice(&u.to_be_bytes());
                k.extend_from_slice(w.as_bytes());
                k.push(0);
                k
            }
            Part::Creator(c) => {
                let mut k = vec![b'C'];
                k.extend_from_slice(&c.to_be_bytes());
                k
            }
            Part::Phone(p) => {
                let mut k = vec![b'P'];
                k.extend_from_slice(p.as_bytes());
                k.push(0);
                k
            }
        }
    }

    pub(super) fn table(&self) -> &'static str {
        match self {
            Part::Unit(_) => ROWS.name,
            _ => POSTINGS.name,
        }
    }

    /// Which counters the partition keeps: (per month, per day). Every
    /// partition keeps its total. Name and phone partitions are many and
    /// small, so their partial months are counted from their entries.
    pub(super) fn grains(&self) -> (bool, bool) {
        match self {
            Part::All | Part::Unit(_) | Part::Creator(_) => (true, true),
            Part::Words(..) => (true, false),
            Part::Phone(_) => (false, false),
        }
    }
}

pub(super) fn entry_key(prefix: &[u8], day: u32, seq: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(super) fn count_key(prefix: &[u8], gran: u8, bucket: u32) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.push(gran);
    k.extend_from_slice(&bucket.to_be_bytes());
    k
}

/// (day, seq) from the tail of an entry key.
pub(super) fn entry_tail(k: &[u8]) -> Option<(u32, u64)> {
    let n = k.len();
    if n < 12 {
        return None;
    }
    let day = u32::from_be_bytes(k[n - 12..n - 8].try_into().ok()?);
    let seq = u64::from_be_bytes(k[n - 8..].try_into().ok()?);
    Some((day, seq))
}

/// The words of a folded name or query: split on spaces, keeping letters,
/// digits, `'` and `-` (so "nguyễn, văn" and "Nguyễn Văn" agree).
pub fn words(s: &str) -> Vec<String> {
    text::fold(s)
        .split(' ')
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '\'' | '-'))
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The name tokens of an account: each word, adjacent pair and triple.
pub(super) fn name_tokens(words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for w in words {
        if !out.contains(w) {
            out.push(w.clone());
        }
    }
    for n in [2, 3] {
        for w in words.windows(n) {
            let t = w.join(" ");
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

pub(super) fn add_count(w: &WriteTx, prefix: &[u8], gran: u8, bucket: u32) -> Result<()> {
    let k = count_key(prefix, gran, bucket);
    let n = COUNTS.get(w, &k)?.unwrap_or(0);
    COUNTS.put(w, &k, &(n + 1))
}
