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

mod partition;
mod scans;
mod search;
#[cfg(test)]
mod tests;

pub use partition::{Part, day_of, parse_day, words};
pub use scans::{
    add_pending, add_scan_ref, drop_scan_ref, expired_pending, note_lookup, remove_pending,
    scan_unreferenced,
};
pub use search::{Hit, Query, SearchPage, search};

use serde::{Deserialize, Serialize};

use crate::domain::ScanKind;
use crate::store::{Index, Result, StoreError, Table, Tx, WriteTx, meta};

use partition::{add_count, entry_key, month_of, name_tokens};

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
