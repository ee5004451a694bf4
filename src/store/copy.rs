//! Whole-store copies: every entry of a snapshot into another store or a
//! backup file, across engines (backups, restores, `migrate --to`).

use std::ops::Bound;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use super::{Engine, ReadInner, ReadTx, Result, Store, StoreError, meta, restrict_permissions};

/// Visits every entry of every table of a snapshot (but the backup
/// archive's own `__backup*` tables), table by table in key order.
fn for_each_entry(tx: &ReadTx, mut f: impl FnMut(&str, &[u8], &[u8]) -> Result<()>) -> Result<()> {
    match &tx.inner {
        ReadInner::Redb(r) => {
            for handle in r.list_tables().map_err(StoreError::from)? {
                let name = handle.name().to_string();
                if name.starts_with("__backup") {
                    continue;
                }
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&name);
                for item in r.open_table(def)?.iter()? {
                    let (k, v) = item?;
                    f(&name, k.value(), v.value())?;
                }
            }
        }
        ReadInner::Pg(p) => {
            for name in p.tables()? {
                p.scan(
                    &name,
                    (Bound::Unbounded, Bound::Unbounded),
                    false,
                    &mut |k, v| {
                        f(&name, k, v)?;
                        Ok(true)
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// Entries per table of a snapshot (for progress bars).
fn count_entries(tx: &ReadTx) -> Result<u64> {
    let mut n = 0u64;
    match &tx.inner {
        ReadInner::Redb(r) => {
            for handle in r.list_tables().map_err(StoreError::from)? {
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(handle.name());
                if !handle.name().starts_with("__backup") {
                    n += redb::ReadableTableMetadata::len(&r.open_table(def)?)?;
                }
            }
        }
        ReadInner::Pg(p) => {
            for name in p.tables()? {
                n += p.len(&name)?;
            }
        }
    }
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
    let total = count_entries(from)?;
    target.write(|w| {
        w.clear_all()?;
        let mut n = 0u64;
        for_each_entry(from, |t, k, v| {
            w.put_named(t, k, v)?;
            n += 1;
            if n.is_multiple_of(1000) {
                progress(n, total);
            }
            Ok(())
        })?;
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
            let mut found = false;
            let tables: Vec<String> = match &r.inner {
                ReadInner::Redb(t) => t
                    .list_tables()
                    .map_err(StoreError::from)?
                    .map(|h| h.name().to_string())
                    .collect(),
                ReadInner::Pg(p) => p.tables()?,
            };
            for name in tables.iter().filter(|n| n.as_str() != meta::META.name) {
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(name);
                let n = match &r.inner {
                    ReadInner::Redb(t) => redb::ReadableTableMetadata::len(&t.open_table(def)?)?,
                    ReadInner::Pg(p) => p.len(name)?,
                };
                found |= n > 0;
            }
            Ok(found)
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
        let out = Database::builder()
            .create(dest)
            .map_err(|e| StoreError::Db(e.to_string()))?;
        let w = out.begin_write()?;
        let mut n = 0u64;
        match &self.engine {
            Engine::Redb { db, .. } => {
                let src = db.begin_read()?;
                for handle in src.list_tables().map_err(StoreError::from)? {
                    let name = handle.name().to_string();
                    let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&name);
                    let from = src.open_table(def)?;
                    let mut to = w.open_table(def)?;
                    for item in from.iter()? {
                        let (k, v) = item?;
                        to.insert(k.value(), v.value())?;
                        n += 1;
                    }
                }
            }
            Engine::Pg(pool) => {
                let src = pool.begin_read()?;
                for name in src.tables()? {
                    let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&name);
                    let mut to = w.open_table(def)?;
                    src.scan(
                        &name,
                        (Bound::Unbounded, Bound::Unbounded),
                        false,
                        &mut |k, v| {
                            to.insert(k, v)?;
                            n += 1;
                            Ok(true)
                        },
                    )?;
                }
                src.commit()?;
            }
        }
        w.commit()?;
        drop(out);
        restrict_permissions(dest);
        Ok(n)
    }
}
