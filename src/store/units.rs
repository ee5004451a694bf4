//! Organisation units.

use super::WriteTx;

use super::{Result, Table, Tx, meta};

pub const UNITS: Table<Unit> = Table::new("units");

pub use crate::domain::unit::Unit;

pub fn ensure_tables(w: &WriteTx) -> Result<()> {
    UNITS.ensure(w)
}

pub fn all(tx: &impl Tx) -> Result<Vec<Unit>> {
    UNITS.all(tx)
}

pub fn get(tx: &impl Tx, id: u64) -> Result<Option<Unit>> {
    UNITS.get(tx, &id)
}

pub fn insert(
    w: &WriteTx,
    code: Option<String>,
    name: &str,
    parent: Option<u64>,
    now: i64,
) -> Result<Unit> {
    let id = meta::next_id(w, "units")?;
    let u = Unit {
        id,
        code: code.unwrap_or_else(|| format!("U{id}")),
        name: name.to_string(),
        parent,
        created_at: now,
    };
    UNITS.put(w, &id, &u)?;
    Ok(u)
}

pub fn put(w: &WriteTx, u: &Unit) -> Result<()> {
    UNITS.put(w, &u.id, u)
}
