//! Citizen accounts created by staff at the counter: one record per account,
//! and the indexes behind the list/search screen (Tạo tài khoản công dân).
//!
//! # How the list stays fast with a million accounts
//!
//! Every account is filed under a few *partitions*: all accounts, its unit,
//! its creating staff member, its phone, and — within its unit — each word,
//! each pair and each triple of adjacent words of its folded name. A
//! partition's entries are keyed `partition ‖ day ‖ seq`, so each partition
//! lists its accounts newest first and any date range is one key range.
//! Partitions keep counters in total, per month and (all, unit, creator) per
//! day; a partial month of the others is counted from its entries.
//!
//! A query names up to four *sources* (phone, creators, name, units), each a
//! union of partitions whose size in the date range the counters give
//! cheaply. Name partitions live inside units, so "these words in these
//! units" is one exact source. The smallest source drives:
//! - when it is exactly the answer (no other filter to check), the total comes
//!   from the counters and the page is found by walking the month and day
//!   counters down to the wanted offset, then reading one or two days;
//! - otherwise the driving source is read within the date range and each
//!   entry is checked against the other filters (its unit and creator travel
//!   in the entry; the unit partition carries the whole row).
//!
//! The only full reads are therefore of the most selective filter.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use super::WriteTx;
use serde::{Deserialize, Serialize};

use super::{Index, Result, StoreError, Table, Tx, key, meta};
use crate::domain::ScanKind;
use crate::domain::text;

/// id_number → the full record.
pub const RECORDS: Table<CitizenRecord> = Table::new("citizens");
/// seq (BE) → id_number.
pub const BY_SEQ: Table<String> = Table::new("citizens_by_seq");
/// `U ‖ unit ‖ day ‖ seq` → [`Row`]: the unit partition, carrying the row.
pub const ROWS: Table<Row> = Table::new("citizens_rows");
/// `partition ‖ day ‖ seq` → [`Ref`] for every other partition.
pub const POSTINGS: Table<Ref> = Table::new("citizens_postings");
/// `partition ‖ granularity ‖ bucket` → number of accounts.
pub const COUNTS: Table<u64> = Table::new("citizens_counts");
/// unit (BE) → () for every unit that has accounts.
pub const UNITS_SEEN: Index = Table::new("citizens_units");
/// creating staff username → [`Creator`].
pub const CREATORS: Table<Creator> = Table::new("citizens_creators");
/// `sha256 ‖ 0 ‖ holder` → () for every holder of a stored scan (a pending
/// request `req:<id>` or an account `acc:<id_number>`).
pub const SCAN_REFS: Index = Table::new("citizens_scan_refs");
/// `expires_at ‖ request id` → sha256 of its scan, for clean-up.
pub const PENDING: Table<String> = Table::new("citizens_pending");
/// staff username → times of recent look-ups (rate limit).
pub const LOOKUPS: Table<Vec<i64>> = Table::new("citizens_lookups");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRef {
    /// SHA-256 hex of the content (the storage address).
    pub hash: String,
    pub kind: ScanKind,
    pub size: u64,
    /// As sent by the browser, cleaned; for display only.
    pub file_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenRecord {
    pub seq: u64,
    pub id_number: String,
    pub full_name: String,
    /// dd/mm/yyyy
    pub birth_date: String,
    pub phone: String,
    pub email: Option<String>,
    pub unit: u64,
    pub unit_name: String,
    pub created_by: String,
    pub created_by_name: String,
    pub created_by_phone: String,
    pub created_at: i64,
    pub scan: ScanRef,
    /// The request this account came from (shown on the printed form).
    pub request_code: String,
}

/// One line of the list. The first three fields are read without decoding
/// the rest when filtering (see [`RowHead`]); keep them first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub creator: u32,
    pub folded: String,
    pub phone: String,
    pub seq: u64,
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub created_at: i64,
}

#[derive(Deserialize)]
struct RowHead<'a> {
    creator: u32,
    folded: &'a str,
    phone: &'a str,
}

/// The value of an entry outside the unit partition: enough to check the
/// unit and creator filters without reading the row (creator entries also
/// carry the folded name, for "this staff member, this name").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ref {
    pub unit: u64,
    pub creator: u32,
    pub folded: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    pub idx: u32,
    pub username: String,
    pub full_name: String,
    pub folded: String,
}

pub fn ensure_tables(w: &WriteTx) -> Result<()> {
    RECORDS.ensure(w)?;
    BY_SEQ.ensure(w)?;
    ROWS.ensure(w)?;
    POSTINGS.ensure(w)?;
    COUNTS.ensure(w)?;
    UNITS_SEEN.ensure(w)?;
    CREATORS.ensure(w)?;
    SCAN_REFS.ensure(w)?;
    PENDING.ensure(w)?;
    LOOKUPS.ensure(w)
}

// ---------------------------------------------------------------- days

const VN_OFFSET: i64 = 7 * 3600;
/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01.
const CE_TO_EPOCH: i32 = 719_163;
/// The last day a query may name (year 2243); later bounds are clamped.
const MAX_DAY: u32 = 100_000;

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

fn month_of(day: u32) -> u32 {
    use chrono::Datelike;
    let d = date_of(day);
    d.year().max(0) as u32 * 12 + d.month0()
}

fn first_day_of_month(month: u32) -> u32 {
    let (y, m) = ((month / 12) as i32, month % 12 + 1);
    chrono::NaiveDate::from_ymd_opt(y, m, 1)
        .map(day_of_date)
        .unwrap_or(0)
}

fn last_day_of_month(month: u32) -> u32 {
    first_day_of_month(month + 1).saturating_sub(1)
}

// ---------------------------------------------------------------- partitions

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
    fn prefix(&self) -> Vec<u8> {
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

    fn table(&self) -> &'static str {
        match self {
            Part::Unit(_) => ROWS.name,
            _ => POSTINGS.name,
        }
    }

    /// Which counters the partition keeps: (per month, per day). Every
    /// partition keeps its total. Name and phone partitions are many and
    /// small, so their partial months are counted from their entries.
    fn grains(&self) -> (bool, bool) {
        match self {
            Part::All | Part::Unit(_) | Part::Creator(_) => (true, true),
            Part::Words(..) => (true, false),
            Part::Phone(_) => (false, false),
        }
    }
}

fn entry_key(prefix: &[u8], day: u32, seq: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn count_key(prefix: &[u8], gran: u8, bucket: u32) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.push(gran);
    k.extend_from_slice(&bucket.to_be_bytes());
    k
}

/// (day, seq) from the tail of an entry key.
fn entry_tail(k: &[u8]) -> Option<(u32, u64)> {
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
fn name_tokens(words: &[String]) -> Vec<String> {
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

fn add_count(w: &WriteTx, prefix: &[u8], gran: u8, bucket: u32) -> Result<()> {
    let k = count_key(prefix, gran, bucket);
    let n = COUNTS.get(w, &k)?.unwrap_or(0);
    COUNTS.put(w, &k, &(n + 1))
}

// ---------------------------------------------------------------- writes

/// The creator entry of a staff member, created on first use.
fn creator_for(w: &WriteTx, username: &str, full_name: &str) -> Result<Creator> {
    let folded = words(full_name).join(" ");
    match CREATORS.get(w, username)? {
        Some(c) if c.full_name == full_name => Ok(c),
        Some(mut c) => {
            c.full_name = full_name.to_string();
            c.folded = folded;
            CREATORS.put(w, username, &c)?;
            Ok(c)
        }
        None => {
            let idx = u32::try_from(meta::next_id(w, "citizen_creator")?)
                .map_err(|_| StoreError::Db("too many creators".into()))?;
            let c = Creator {
                idx,
                username: username.to_string(),
                full_name: full_name.to_string(),
                folded,
            };
            CREATORS.put(w, username, &c)?;
            Ok(c)
        }
    }
}

/// Files a new account (its `seq` is assigned here) in every index.
pub fn insert(w: &WriteTx, rec: &mut CitizenRecord) -> Result<()> {
    rec.seq = meta::next_id(w, "citizen")?;
    let creator = creator_for(w, &rec.created_by, &rec.created_by_name)?;
    let day = day_of(rec.created_at);
    let month = month_of(day);
    let name_words = words(&rec.full_name);
    let row = Row {
        creator: creator.idx,
        folded: name_words.join(" "),
        phone: rec.phone.clone(),
        seq: rec.seq,
        id_number: rec.id_number.clone(),
        full_name: rec.full_name.clone(),
        birth_date: rec.birth_date.clone(),
        created_at: rec.created_at,
    };
    let r = Ref {
        unit: rec.unit,
        creator: creator.idx,
        folded: None,
    };
    let mut parts = vec![
        Part::All,
        Part::Unit(rec.unit),
        Part::Creator(creator.idx),
        Part::Phone(rec.phone.clone()),
    ];
    parts.extend(
        name_tokens(&name_words)
            .into_iter()
            .map(|t| Part::Words(rec.unit, t)),
    );
    for p in &parts {
        let prefix = p.prefix();
        let k = entry_key(&prefix, day, rec.seq);
        match p {
            Part::Unit(_) => ROWS.put(w, &k, &row)?,
            Part::Creator(_) => POSTINGS.put(
                w,
                &k,
                &Ref {
                    folded: Some(row.folded.clone()),
                    ..r.clone()
                },
            )?,
            _ => POSTINGS.put(w, &k, &r)?,
        }
        let (months, days) = p.grains();
        add_count(w, &prefix, b'T', 0)?;
        if months {
            add_count(w, &prefix, b'M', month)?;
        }
        if days {
            add_count(w, &prefix, b'D', day)?;
        }
    }
    UNITS_SEEN.put(w, &rec.unit, &())?;
    BY_SEQ.put(w, &rec.seq, &rec.id_number)?;
    RECORDS.put(w, &rec.id_number, rec)
}

pub fn get(tx: &impl Tx, id_number: &str) -> Result<Option<CitizenRecord>> {
    RECORDS.get(tx, id_number)
}

pub fn get_by_seq(tx: &impl Tx, seq: u64) -> Result<Option<CitizenRecord>> {
    match BY_SEQ.get(tx, &seq)? {
        Some(id) => get(tx, &id),
        None => Ok(None),
    }
}

pub fn creators(tx: &impl Tx) -> Result<Vec<Creator>> {
    CREATORS.all(tx)
}

// ---------------------------------------------------------------- scans and pending requests

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

// ---------------------------------------------------------------- search

/// A list/search query. Every filter is optional; all given ones must hold.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Words of the citizen name (see [`words`]): matched as a phrase of
    /// whole words, ignoring case and diacritics.
    pub name: Vec<String>,
    /// 0xxxxxxxxx
    pub phone: Option<String>,
    pub id_number: Option<String>,
    /// Text matched against the creating staff member's name or username.
    pub created_by: Option<String>,
    /// Units the account must belong to; `None` = any unit.
    pub units: Option<Vec<u64>>,
    pub day_from: Option<u32>,
    pub day_to: Option<u32>,
    pub offset: u64,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub unit: u64,
    pub row: Row,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPage {
    pub total: u64,
    pub items: Vec<Hit>,
}

/// Which filters a source answers exactly (no need to check them again).
#[derive(Debug, Clone, Copy, Default)]
struct Answers {
    units: bool,
    creator: bool,
    phone: bool,
    name: bool,
}

impl Answers {
    fn count(&self) -> u8 {
        self.units as u8 + self.creator as u8 + self.phone as u8 + self.name as u8
    }
}

struct Source {
    parts: Vec<Part>,
    answers: Answers,
    size: u64,
}

struct Checks<'q> {
    units: Option<HashSet<u64>>,
    creators: Option<HashSet<u32>>,
    phone: Option<&'q str>,
    phrase: Option<String>,
}

impl Checks<'_> {
    fn is_empty(&self) -> bool {
        self.units.is_none()
            && self.creators.is_none()
            && self.phone.is_none()
            && self.phrase.is_none()
    }
    fn phrase_ok(&self, folded: &str) -> bool {
        self.phrase
            .as_ref()
            .is_none_or(|ph| format!(" {folded} ").contains(ph.as_str()))
    }
    fn row_ok(&self, head: &RowHead<'_>) -> bool {
        self.creators
            .as_ref()
            .is_none_or(|c| c.contains(&head.creator))
            && self.phone.is_none_or(|p| p == head.phone)
            && self.phrase_ok(head.folded)
    }
    /// Checks an entry outside the unit partition, reading the row only when
    /// the entry does not carry what is needed.
    fn ref_ok(&self, tx: &impl Tx, r: &Ref, day: u32, seq: u64) -> Result<bool> {
        if !(self.units.as_ref().is_none_or(|u| u.contains(&r.unit))
            && self
                .creators
                .as_ref()
                .is_none_or(|c| c.contains(&r.creator)))
        {
            return Ok(false);
        }
        if let Some(folded) = &r.folded
            && !self.phrase_ok(folded)
        {
            return Ok(false);
        }
        let needs_row = self.phone.is_some() || (self.phrase.is_some() && r.folded.is_none());
        if !needs_row {
            return Ok(true);
        }
        let k = entry_key(&Part::Unit(r.unit).prefix(), day, seq);
        match tx.get_raw(ROWS.name, &k)? {
            Some(bytes) => {
                let head: RowHead = postcard::take_from_bytes(&bytes)
                    .map(|(h, _)| h)
                    .map_err(|e| corrupt(ROWS.name, e))?;
                Ok(self.row_ok(&head))
            }
            None => Ok(false),
        }
    }
}

/// Visits one index entry: (day, seq, value bytes); false stops.
type EntryVisitor<'a> = dyn FnMut(u32, u64, &[u8]) -> Result<bool> + 'a;

/// Entries of one partition in a day range, newest first, until `f` says stop.
fn scan_part(tx: &impl Tx, part: &Part, a: u32, b: u32, f: &mut EntryVisitor<'_>) -> Result<()> {
    let prefix = part.prefix();
    let lo = entry_key(&prefix, a, 0);
    let hi = entry_key(&prefix, b, u64::MAX);
    tx.scan_raw(
        part.table(),
        (
            Bound::Included(lo.as_slice()),
            Bound::Included(hi.as_slice()),
        ),
        true,
        &mut |k, v| match entry_tail(k) {
            Some((day, seq)) => f(day, seq, v),
            None => Ok(true),
        },
    )
}

/// Counter buckets of one partition: `gran` in `lo..=hi`.
fn buckets(tx: &impl Tx, part: &Part, gran: u8, lo: u32, hi: u32) -> Result<BTreeMap<u32, u64>> {
    let prefix = part.prefix();
    let lo_k = count_key(&prefix, gran, lo);
    let hi_k = count_key(&prefix, gran, hi);
    let mut out = BTreeMap::new();
    tx.scan_raw(
        COUNTS.name,
        (
            Bound::Included(lo_k.as_slice()),
            Bound::Included(hi_k.as_slice()),
        ),
        false,
        &mut |k, v| {
            let n = k.len();
            let bucket = u32::from_be_bytes(k[n - 4..].try_into().unwrap_or_default());
            let c: u64 = postcard::from_bytes(v).unwrap_or(0);
            out.insert(bucket, c);
            Ok(true)
        },
    )?;
    Ok(out)
}

/// Entries of one partition per bucket (`by` maps a day to its bucket) in
/// days `a..=b`, counted from the entries themselves.
fn counted(
    tx: &impl Tx,
    part: &Part,
    a: u32,
    b: u32,
    by: fn(u32) -> u32,
) -> Result<BTreeMap<u32, u64>> {
    let mut out: BTreeMap<u32, u64> = BTreeMap::new();
    scan_part(tx, part, a, b, &mut |day, _, _| {
        *out.entry(by(day)).or_default() += 1;
        Ok(true)
    })?;
    Ok(out)
}

/// Per-day counts of one partition in days `lo..=hi` (within one month).
fn days_in_range(tx: &impl Tx, part: &Part, lo: u32, hi: u32) -> Result<BTreeMap<u32, u64>> {
    if part.grains().1 {
        buckets(tx, part, b'D', lo, hi)
    } else {
        counted(tx, part, lo, hi, |d| d)
    }
}

fn total_of(tx: &impl Tx, part: &Part) -> Result<u64> {
    Ok(COUNTS
        .get(tx, &count_key(&part.prefix(), b'T', 0))?
        .unwrap_or(0))
}

/// Per-month counts of one partition within days `a..=b`; edge months that
/// are only partly inside are counted from their days.
fn months_in_range(tx: &impl Tx, part: &Part, a: u32, b: u32) -> Result<BTreeMap<u32, u64>> {
    if !part.grains().0 {
        return counted(tx, part, a, b, month_of);
    }
    let (ma, mb) = (month_of(a), month_of(b));
    let mut m = buckets(tx, part, b'M', ma, mb)?;
    let mut clip = |month: u32, lo: u32, hi: u32| -> Result<()> {
        if let Some(slot) = m.get_mut(&month) {
            *slot = days_in_range(tx, part, lo, hi)?.values().sum();
        }
        Ok(())
    };
    if ma == mb {
        if a > first_day_of_month(ma) || b < last_day_of_month(ma) {
            clip(ma, a, b)?;
        }
    } else {
        if a > first_day_of_month(ma) {
            clip(ma, a, last_day_of_month(ma))?;
        }
        if b < last_day_of_month(mb) {
            clip(mb, first_day_of_month(mb), b)?;
        }
    }
    m.retain(|_, n| *n > 0);
    Ok(m)
}

fn count_in_range(tx: &impl Tx, part: &Part, range: Option<(u32, u32)>) -> Result<u64> {
    match range {
        None => total_of(tx, part),
        Some((a, b)) => Ok(months_in_range(tx, part, a, b)?.values().sum()),
    }
}

/// Every unit that has accounts.
fn units_seen(tx: &impl Tx) -> Result<Vec<u64>> {
    let mut out = vec![];
    UNITS_SEEN.scan_all(tx, false, |k, ()| {
        if let Ok(b) = <[u8; 8]>::try_from(k) {
            out.push(u64::from_be_bytes(b));
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Runs a query: the total and one page, newest first.
pub fn search(tx: &impl Tx, q: &Query) -> Result<SearchPage> {
    let empty = SearchPage::default();
    let dated = q.day_from.is_some() || q.day_to.is_some();
    let a = q.day_from.unwrap_or(0).min(MAX_DAY);
    let b = q.day_to.unwrap_or(MAX_DAY).min(MAX_DAY);
    if a > b || q.units.as_ref().is_some_and(|u| u.is_empty()) {
        return Ok(empty);
    }
    let range = dated.then_some((a, b));
    let creators: Option<HashSet<u32>> = match q.created_by.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => {
            let needle = words(t).join(" ");
            let lower = t.to_lowercase();
            let set: HashSet<u32> = creators(tx)?
                .into_iter()
                .filter(|c| {
                    (!needle.is_empty() && c.folded.contains(&needle)) || c.username == lower
                })
                .map(|c| c.idx)
                .collect();
            if set.is_empty() {
                return Ok(empty);
            }
            Some(set)
        }
        _ => None,
    };
    let phrase = (!q.name.is_empty()).then(|| format!(" {} ", q.name.join(" ")));

    if let Some(id) = &q.id_number {
        return search_one(tx, q, id, a, b, creators.as_ref(), phrase.as_deref());
    }

    let mut sources: Vec<Source> = vec![];
    if let Some(p) = &q.phone {
        sources.push(Source {
            parts: vec![Part::Phone(p.clone())],
            answers: Answers {
                phone: true,
                ..Answers::default()
            },
            size: 0,
        });
    }
    if let Some(c) = &creators {
        let mut ids: Vec<u32> = c.iter().copied().collect();
        ids.sort_unstable();
        sources.push(Source {
            parts: ids.into_iter().map(Part::Creator).collect(),
            answers: Answers {
                creator: true,
                ..Answers::default()
            },
            size: 0,
        });
    }
    if !q.name.is_empty() {
        // Up to three words are one token; longer names are looked up by
        // each triple of adjacent words, the rarest driving.
        let tokens: Vec<String> = if q.name.len() <= 3 {
            vec![q.name.join(" ")]
        } else {
            q.name.windows(3).map(|w| w.join(" ")).collect()
        };
        let exact = q.name.len() <= 3;
        let units = match &q.units {
            Some(u) => u.clone(),
            None => units_seen(tx)?,
        };
        for t in tokens {
            sources.push(Source {
                parts: units.iter().map(|u| Part::Words(*u, t.clone())).collect(),
                answers: Answers {
                    units: true,
                    name: exact,
                    ..Answers::default()
                },
                size: 0,
            });
        }
    }
    match &q.units {
        Some(units) => sources.push(Source {
            parts: units.iter().map(|u| Part::Unit(*u)).collect(),
            answers: Answers {
                units: true,
                ..Answers::default()
            },
            size: 0,
        }),
        None if sources.is_empty() => sources.push(Source {
            parts: vec![Part::All],
            answers: Answers {
                units: true,
                ..Answers::default()
            },
            size: 0,
        }),
        None => {}
    }
    for s in &mut sources {
        // Partitions with nothing in the range drop out of the union.
        let mut kept = Vec::with_capacity(s.parts.len());
        for p in s.parts.drain(..) {
            let n = count_in_range(tx, &p, range)?;
            if n > 0 {
                s.size += n;
                kept.push(p);
            }
        }
        s.parts = kept;
        if s.size == 0 {
            return Ok(empty);
        }
    }
    // The smallest source drives; among equals, the one that answers most.
    let Some(best) = (0..sources.len()).min_by_key(|i| {
        (
            sources[*i].size,
            std::cmp::Reverse(sources[*i].answers.count()),
        )
    }) else {
        return Ok(empty);
    };
    let d = &sources[best];
    let checks = Checks {
        units: q
            .units
            .as_ref()
            .filter(|_| !d.answers.units)
            .map(|u| u.iter().copied().collect()),
        creators: creators.filter(|_| !d.answers.creator),
        phone: q.phone.as_deref().filter(|_| !d.answers.phone),
        phrase: phrase.filter(|_| !d.answers.name),
    };
    let limit = q.limit.max(1);
    if checks.is_empty() {
        let keys = page_by_counters(tx, &d.parts, a, b, q.offset, limit)?;
        return Ok(SearchPage {
            total: d.size,
            items: rows_for(tx, &keys)?,
        });
    }
    // Read the driving source, check the other filters.
    let mut matched: Vec<(u32, u64, u64)> = vec![];
    for part in &d.parts {
        let unit_of_part = match part {
            Part::Unit(u) => Some(*u),
            _ => None,
        };
        scan_part(tx, part, a, b, &mut |day, seq, v| {
            let (unit, ok) = match unit_of_part {
                Some(unit) => {
                    let head: RowHead = postcard::take_from_bytes(v)
                        .map(|(h, _)| h)
                        .map_err(|e| corrupt(ROWS.name, e))?;
                    (unit, checks.row_ok(&head))
                }
                None => {
                    let r: Ref = postcard::from_bytes(v).map_err(|e| corrupt(POSTINGS.name, e))?;
                    (r.unit, checks.ref_ok(tx, &r, day, seq)?)
                }
            };
            if ok {
                matched.push((day, seq, unit));
            }
            Ok(true)
        })?;
    }
    if d.parts.len() > 1 {
        matched.sort_unstable_by_key(|x| std::cmp::Reverse((x.0, x.1)));
    }
    let total = matched.len() as u64;
    let keys: Vec<(u32, u64, u64)> = matched
        .into_iter()
        .skip(q.offset.min(usize::MAX as u64) as usize)
        .take(limit)
        .collect();
    Ok(SearchPage {
        total,
        items: rows_for(tx, &keys)?,
    })
}

fn corrupt(table: &'static str, e: postcard::Error) -> StoreError {
    StoreError::Corrupt {
        table,
        message: e.to_string(),
    }
}

/// The ID number filter: at most one account.
fn search_one(
    tx: &impl Tx,
    q: &Query,
    id: &str,
    a: u32,
    b: u32,
    creators: Option<&HashSet<u32>>,
    phrase: Option<&str>,
) -> Result<SearchPage> {
    let Some(rec) = get(tx, id)? else {
        return Ok(SearchPage::default());
    };
    let day = day_of(rec.created_at);
    let key = entry_key(&Part::Unit(rec.unit).prefix(), day, rec.seq);
    let Some(row) = ROWS.get(tx, &key)? else {
        return Ok(SearchPage::default());
    };
    let ok = (a..=b).contains(&day)
        && q.units.as_ref().is_none_or(|u| u.contains(&rec.unit))
        && q.phone.as_ref().is_none_or(|p| *p == row.phone)
        && creators.is_none_or(|c| c.contains(&row.creator))
        && phrase.is_none_or(|ph| format!(" {} ", row.folded).contains(ph));
    if !ok {
        return Ok(SearchPage::default());
    }
    Ok(SearchPage {
        total: 1,
        items: if q.offset == 0 {
            vec![Hit {
                unit: rec.unit,
                row,
            }]
        } else {
            vec![]
        },
    })
}

fn rows_for(tx: &impl Tx, keys: &[(u32, u64, u64)]) -> Result<Vec<Hit>> {
    let mut out = Vec::with_capacity(keys.len());
    for (day, seq, unit) in keys {
        if let Some(row) = ROWS.get(tx, &entry_key(&Part::Unit(*unit).prefix(), *day, *seq))? {
            out.push(Hit { unit: *unit, row });
        }
    }
    Ok(out)
}

/// One page of a union of partitions that is exactly the answer: walks the
/// month and day counts down to `offset`, then reads the days it needs.
/// Without a date filter `a..=b` is every day; only months with data count.
fn page_by_counters(
    tx: &impl Tx,
    parts: &[Part],
    a: u32,
    b: u32,
    offset: u64,
    limit: usize,
) -> Result<Vec<(u32, u64, u64)>> {
    let per_part_months: Vec<BTreeMap<u32, u64>> = parts
        .iter()
        .map(|p| months_in_range(tx, p, a, b))
        .collect::<Result<_>>()?;
    let mut months: BTreeMap<u32, u64> = BTreeMap::new();
    for m in &per_part_months {
        for (k, v) in m {
            *months.entry(*k).or_default() += v;
        }
    }
    let mut skip = offset;
    let mut out: Vec<(u32, u64, u64)> = vec![];
    for (month, count) in months.iter().rev() {
        if skip >= *count {
            skip -= count;
            continue;
        }
        let lo = a.max(first_day_of_month(*month));
        let hi = b.min(last_day_of_month(*month));
        // Day counts of the partitions that have data this month.
        let mut per_part_days: Vec<(usize, BTreeMap<u32, u64>)> = vec![];
        for (i, p) in parts.iter().enumerate() {
            if per_part_months[i].get(month).copied().unwrap_or(0) > 0 {
                per_part_days.push((i, days_in_range(tx, p, lo, hi)?));
            }
        }
        let mut days: BTreeMap<u32, u64> = BTreeMap::new();
        for (_, m) in &per_part_days {
            for (k, v) in m {
                *days.entry(*k).or_default() += v;
            }
        }
        for (day, count) in days.iter().rev() {
            if skip >= *count {
                skip -= count;
                continue;
            }
            let mut entries: Vec<(u32, u64, u64)> = vec![];
            for (i, m) in &per_part_days {
                if m.get(day).copied().unwrap_or(0) == 0 {
                    continue;
                }
                let part = &parts[*i];
                let unit_of_part = match part {
                    Part::Unit(u) => Some(*u),
                    _ => None,
                };
                scan_part(tx, part, *day, *day, &mut |d, seq, v| {
                    let unit = match unit_of_part {
                        Some(u) => u,
                        None => {
                            postcard::from_bytes::<Ref>(v)
                                .map_err(|e| corrupt(POSTINGS.name, e))?
                                .unit
                        }
                    };
                    entries.push((d, seq, unit));
                    Ok(true)
                })?;
            }
            entries.sort_unstable_by_key(|x| std::cmp::Reverse(x.1));
            for e in entries.into_iter().skip(skip as usize) {
                out.push(e);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            skip = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn rec(id: &str, name: &str, phone: &str, unit: u64, by: &str, at: i64) -> CitizenRecord {
        CitizenRecord {
            seq: 0,
            id_number: id.into(),
            full_name: name.into(),
            birth_date: "01/01/1990".into(),
            phone: phone.into(),
            email: None,
            unit,
            unit_name: format!("Đơn vị {unit}"),
            created_by: by.into(),
            created_by_name: match by {
                "ha" => "Phạm Thị Thúy Hà".into(),
                "lan" => "Trần Thị Lan".into(),
                _ => "Lê Văn Nam".into(),
            },
            created_by_phone: "0912000000".into(),
            created_at: at,
            scan: ScanRef {
                hash: "0".repeat(64),
                kind: ScanKind::Pdf,
                size: 1,
                file_name: "a.pdf".into(),
            },
            request_code: "X".into(),
        }
    }

    #[test]
    fn days_and_months() {
        let t = crate::util::parse_day_start("26/11/2026").unwrap();
        let d = day_of(t);
        assert_eq!(parse_day("26/11/2026"), Some(d));
        assert_eq!(parse_day("2026-11-26"), Some(d));
        assert_eq!(day_of(t + 86_399), d);
        assert_eq!(day_of(t + 86_400), d + 1);
        let m = month_of(d);
        assert_eq!(first_day_of_month(m), parse_day("01/11/2026").unwrap());
        assert_eq!(last_day_of_month(m), parse_day("30/11/2026").unwrap());
        assert_eq!(
            last_day_of_month(month_of(parse_day("10/02/2028").unwrap())),
            parse_day("29/02/2028").unwrap()
        );
        assert_eq!(parse_day("31/02/2026"), None);
    }

    #[test]
    fn words_fold_and_split() {
        assert_eq!(words("  Nguyễn   Văn A "), vec!["nguyen", "van", "a"]);
        assert_eq!(words("nguyễn, VĂN"), vec!["nguyen", "van"]);
        assert_eq!(
            name_tokens(&words("Lê Lê Na")),
            vec!["le", "na", "le le", "le na", "le le na"]
        );
    }

    /// Random accounts and queries, checked against a plain filter.
    #[test]
    fn search_agrees_with_brute_force() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        let mut rng: u64 = 42;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let family = ["Nguyễn", "Trần", "Lê", "Phạm"];
        let middle = ["Văn", "Thị", "Đức", "Thị Thu"];
        let given = ["An", "Bình", "Hà", "Lan", "A"];
        let creators = ["ha", "lan", "nam"];
        let base = crate::util::parse_day_start("20/10/2026").unwrap();
        let mut all = vec![];
        s.write(|w| {
            ensure_tables(w)?;
            for i in 0..1200u64 {
                let name = format!(
                    "{} {} {}",
                    family[next(4) as usize],
                    middle[next(4) as usize],
                    given[next(5) as usize]
                );
                let phone = format!("09120000{:02}", next(40));
                let unit = 1 + next(5);
                let by = creators[next(3) as usize];
                // ~70 days, several accounts a day, in time order.
                let at = base + (i as i64) * 4000;
                let mut r = rec(
                    &format!("{:09}", 100_000_000 + i),
                    &name,
                    &phone,
                    unit,
                    by,
                    at,
                );
                insert(w, &mut r)?;
                all.push(r);
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
        // Newest first.
        all.reverse();
        let day = |ts: i64| day_of(ts);
        let d0 = day(base);
        let name_queries: Vec<Vec<String>> = vec![
            vec![],
            words("nguyen"),
            words("thi"),
            words("Thị Thu"),
            words("nguyen thi thu ha"),
            words("thi thu ha"),
            words("le van"),
            words("van a"),
            words("le van a"),
            words("zzz"),
        ];
        for round in 0..300 {
            let q = Query {
                name: name_queries[round % name_queries.len()].clone(),
                phone: (next(4) == 0).then(|| format!("09120000{:02}", next(40))),
                id_number: (next(12) == 0).then(|| format!("{:09}", 100_000_000 + next(1600))),
                created_by: match next(6) {
                    0 => Some("Thúy Hà".into()),
                    1 => Some("lan".into()),
                    2 => Some("thi".into()),
                    _ => None,
                },
                units: match next(4) {
                    0 => Some(vec![1 + next(5)]),
                    1 => Some(vec![1, 3, 5]),
                    _ => None,
                },
                day_from: (next(3) == 0).then(|| d0 + next(40) as u32),
                day_to: (next(3) == 0).then(|| d0 + 20 + next(60) as u32),
                offset: [0, 0, 5, 37, 200][next(5) as usize],
                limit: 20,
            };
            let want: Vec<&CitizenRecord> = all
                .iter()
                .filter(|r| {
                    let folded = format!(" {} ", words(&r.full_name).join(" "));
                    let cb = q.created_by.as_deref().map(|c| {
                        let n = words(c).join(" ");
                        words(&r.created_by_name).join(" ").contains(&n) || r.created_by == c
                    });
                    (q.name.is_empty() || folded.contains(&format!(" {} ", q.name.join(" "))))
                        && q.phone.as_ref().is_none_or(|p| *p == r.phone)
                        && q.id_number.as_ref().is_none_or(|i| *i == r.id_number)
                        && cb.unwrap_or(true)
                        && q.units.as_ref().is_none_or(|u| u.contains(&r.unit))
                        && q.day_from.is_none_or(|f| day(r.created_at) >= f)
                        && q.day_to.is_none_or(|t| day(r.created_at) <= t)
                })
                .collect();
            let got = s.read(|r| search(r, &q)).unwrap();
            assert_eq!(got.total, want.len() as u64, "total for {q:?}");
            let want_ids: Vec<&str> = want
                .iter()
                .skip(q.offset as usize)
                .take(20)
                .map(|r| r.id_number.as_str())
                .collect();
            let got_ids: Vec<&str> = got.items.iter().map(|h| h.row.id_number.as_str()).collect();
            assert_eq!(got_ids, want_ids, "page for {q:?}");
        }
    }

    #[test]
    fn scan_refs_and_pending() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        s.write(|w| {
            ensure_tables(w)?;
            add_scan_ref(w, "h1", "req:a")?;
            add_scan_ref(w, "h1", "req:b")?;
            assert!(!drop_scan_ref(w, "h1", "req:a")?);
            assert!(drop_scan_ref(w, "h1", "req:b")?);
            add_pending(w, 100, "a", "h1")?;
            add_pending(w, 300, "b", "h2")?;
            assert_eq!(
                expired_pending(w, 200, 10)?,
                vec![(100, "a".to_string(), "h1".to_string())]
            );
            remove_pending(w, 100, "a")?;
            assert!(expired_pending(w, 200, 10)?.is_empty());
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }

    #[test]
    fn lookups_are_limited() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        s.write(|w| {
            for i in 0..3 {
                assert_eq!(note_lookup(w, "ha", 1000 + i, 3, 600, 10)?, Ok(()));
            }
            assert_eq!(note_lookup(w, "ha", 1003, 3, 600, 10)?, Err(597));
            assert_eq!(note_lookup(w, "lan", 1003, 3, 600, 10)?, Ok(()));
            assert_eq!(note_lookup(w, "ha", 1600, 3, 600, 10)?, Ok(()));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    }
}
