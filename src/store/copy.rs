//! Whole-store copies: every entry of a snapshot into another store or a
//! backup file, across engines (backups, restores, `migrate --to`).

use std::ops::Bound;
use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition, TableHandle};

use super::{ReadInner, ReadTx, Result, Store, StoreError, meta, restrict_permissions};

/// The tables of a snapshot that hold entries of the store (not the backup
/// archive's own `__backup*` tables).
fn table_names(tx: &ReadTx) -> Result<Vec<String>> {
    let names = match &tx.inner {
        ReadInner::Redb(r) => r
            .list_tables()
            .map_err(StoreError::from)?
            .map(|h| h.name().to_string())
            .collect(),
        ReadInner::Pg(p) => p.tables()?,
    };
    Ok(names
        .into_iter()
        .filter(|n: &String| !n.starts_with("__backup"))
        .collect())
}

fn table_len(tx: &ReadTx, name: &str) -> Result<u64> {
    match &tx.inner {
        ReadInner::Redb(r) => Ok(redb::ReadableTableMetadata::len(&r.open_table(raw(name))?)?),
        ReadInner::Pg(p) => p.len(name),
    }
}

/// Visits every entry of one table in key order.
fn for_each_in(
    tx: &ReadTx,
    name: &str,
    mut f: impl FnMut(&[u8], &[u8]) -> Result<()>,
) -> Result<()> {
    match &tx.inner {
        ReadInner::Redb(r) => {
            for item in r.open_table(raw(name))?.iter()? {
                let (k, v) = item?;
                f(k.value(), v.value())?;
            }
            Ok(())
        }
        ReadInner::Pg(p) => p.scan(
            name,
            (Bound::Unbounded, Bound::Unbounded),
            false,
            &mut |k, v| {
                f(k, v)?;
                Ok(true)
            },
        ),
    }
}

fn raw(name: &str) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
    TableDefinition::new(name)
}

/// Copies every table of the snapshot `from` into a new redb file at
/// `dest` (a backup archive, or the database a restore unpacks); returns
/// the number of entries.
pub(super) fn copy_to_file(from: &ReadTx, dest: &Path) -> Result<u64> {
    let out = Database::builder()
        .create(dest)
        .map_err(|e| StoreError::Db(e.to_string()))?;
    let w = out.begin_write()?;
    let mut n = 0u64;
    for name in table_names(from)? {
        let mut to = w.open_table(raw(&name))?;
        for_each_in(from, &name, |k, v| {
            to.insert(k, v)?;
            n += 1;
            Ok(())
        })?;
    }
    w.commit()?;
    Ok(n)
}

/// Replaces everything in `target` with every entry of the snapshot `from`,
/// in one write transaction (all or nothing); `progress(done, total)` is
/// called every 1,000 entries. Returns the number of entries.
pub(crate) fn replace_all(
    from: &ReadTx,
    target: &Store,
    mut progress: impl FnMut(u64, u64),
) -> Result<u64> {
    let names = table_names(from)?;
    let mut total = 0;
    for name in &names {
        total += table_len(from, name)?;
    }
    target.write(|w| {
        w.clear_all()?;
        let mut n = 0u64;
        for name in &names {
            for_each_in(from, name, |k, v| {
                w.put_raw(name, k, v)?;
                n += 1;
                if n.is_multiple_of(1000) {
                    progress(n, total);
                }
                Ok(())
            })?;
        }
        progress(n, total);
        meta::migrate(w)?;
        Ok::<_, StoreError>(n)
    })
}

impl Store {
    /// Whether anything but the schema version is stored (a target that
    /// `migrate --to` refuses).
    pub fn holds_data(&self) -> Result<bool> {
        self.read(|r| {
            for name in table_names(r)? {
                if name != meta::META.name && table_len(r, &name)? > 0 {
                    return Ok(true);
                }
            }
            Ok(false)
        })
    }

    /// Copies everything in this store into `target`, replacing what it
    /// held, in one transaction of the target (`motcua migrate --to`).
    pub fn copy_into(&self, target: &Store, progress: impl FnMut(u64, u64)) -> Result<u64> {
        self.read(|r| replace_all(r, target, progress))
    }

    /// Copies every table from one read snapshot into a new database file:
    /// a consistent backup while the store is in use.
    pub fn snapshot_to(&self, dest: &Path) -> Result<u64> {
        let n = self.read(|r| copy_to_file(r, dest))?;
        restrict_permissions(dest);
        Ok(n)
    }
}
