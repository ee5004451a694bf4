//! The backup file's database: a copy of every table from one read snapshot
//! plus named files (the uploads) and a small header table. `backup/` seals
//! it in an envelope and decides where files go; this module is the only
//! place that knows the archive is a redb database.

use std::path::Path;

use redb::{
    Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, WriteTransaction,
};

use super::{ReadTx, Result, Store, StoreError, meta};

const FILES: TableDefinition<&str, &[u8]> = TableDefinition::new("__backup_files");
const INFO: TableDefinition<&str, &str> = TableDefinition::new("__backup_info");

fn db<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

/// An archive being written: tables first ([`ArchiveWriter::create`]), then
/// files, then the header ([`ArchiveWriter::finish`]), in one transaction.
pub struct ArchiveWriter {
    w: WriteTransaction,
    _db: Database,
}

impl ArchiveWriter {
    /// Copies every table of `store` (one snapshot) into a new archive at
    /// `dest`; returns the writer and the number of records copied.
    pub fn create(store: &Store, dest: &Path) -> Result<(ArchiveWriter, u64)> {
        let records = store.snapshot_to(dest)?;
        let out = Database::builder().create(dest).map_err(db)?;
        let w = out.begin_write()?;
        Ok((ArchiveWriter { w, _db: out }, records))
    }

    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.w.open_table(FILES)?.insert(name, bytes)?;
        Ok(())
    }

    /// Writes the header entries and commits.
    pub fn finish(self, info: &[(&str, &str)]) -> Result<()> {
        {
            let mut t = self.w.open_table(INFO)?;
            for (k, v) in info {
                t.insert(*k, *v)?;
            }
            // An archive without files still has the table.
            self.w.open_table(FILES)?;
        }
        self.w.commit()?;
        Ok(())
    }
}

/// An archive opened for reading.
pub struct ArchiveReader {
    r: ReadTx,
    _db: ReadOnlyDatabase,
}

impl ArchiveReader {
    /// Opens an archive; the error says why the file is not one.
    pub fn open(path: &Path) -> std::result::Result<ArchiveReader, String> {
        let d = ReadOnlyDatabase::open(path).map_err(|e| e.to_string())?;
        let inner = d.begin_read().map_err(|e| e.to_string())?;
        Ok(ArchiveReader {
            r: ReadTx::redb(inner),
            _db: d,
        })
    }

    /// A header entry (`None` when the archive has no header at all or
    /// not this entry).
    pub fn info(&self, key: &str) -> Result<Option<String>> {
        let t = match self.r.as_redb()?.open_table(INFO) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(t.get(key)?.map(|v| v.value().to_string()))
    }

    pub fn has_header(&self) -> bool {
        self.r.as_redb().is_ok_and(|r| r.open_table(INFO).is_ok())
    }

    pub fn schema_version(&self) -> Result<Option<u32>> {
        meta::schema_version(&self.r)
    }

    /// Writes the archive's tables (not its files or header) into a new
    /// database at `dest`; returns the number of records.
    pub fn restore_tables(&self, dest: &Path) -> Result<u64> {
        super::copy::copy_to_file(&self.r, dest)
    }

    /// Replaces everything in `target` (a running engine, e.g. PostgreSQL)
    /// with the archive's tables, in one transaction; returns the number of
    /// records.
    pub fn restore_into(&self, target: &Store, progress: impl FnMut(u64, u64)) -> Result<u64> {
        super::replace_all(&self.r, target, progress)
    }

    pub fn file_count(&self) -> Result<u64> {
        Ok(self.r.as_redb()?.open_table(FILES)?.len()?)
    }

    /// Visits every file with its name, in name order.
    pub fn for_each_file<E: From<StoreError>>(
        &self,
        mut f: impl FnMut(&str, &[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let files = self
            .r
            .as_redb()?
            .open_table(FILES)
            .map_err(StoreError::from)?;
        for item in files.iter().map_err(StoreError::from)? {
            let (k, v) = item.map_err(StoreError::from)?;
            f(k.value(), v.value())?;
        }
        Ok(())
    }
}
