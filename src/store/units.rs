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
    bump_version(w)?;
    Ok(u)
}

pub fn put(w: &WriteTx, u: &Unit) -> Result<()> {
    UNITS.put(w, &u.id, u)?;
    bump_version(w)
}

/// The unit tree's version: raised by every unit write, so that processes
/// sharing a database (PostgreSQL) notice a change with one point read and
/// reload their cached tree (`App::reload_tree_if_changed`).
pub fn version(tx: &impl Tx) -> Result<u64> {
    Ok(meta::get_flag(tx, VERSION_FLAG)?
        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
        .map_or(0, u64::from_be_bytes))
}

const VERSION_FLAG: &str = "units_version";

fn bump_version(w: &WriteTx) -> Result<()> {
    let next = version(w)? + 1;
    meta::set_flag(w, VERSION_FLAG, &next.to_be_bytes())
}
