//! The list/search screen: choosing the driving source, counting from the
//! partition counters, and reading one page (see the module's notes).

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;

use crate::store::{Result, StoreError, Tx};

use super::partition::{
    MAX_DAY, Part, count_key, day_of, entry_key, entry_tail, first_day_of_month, last_day_of_month,
    month_of, words,
};
use super::{COUNTS, POSTINGS, ROWS, Ref, Row, RowHead, UNITS_SEEN, creators, get};

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
