//! The store: typed tables over redb.
//!
//! Every table maps byte keys to postcard-encoded values. Typed access goes
//! through [`Table`], which fixes the key and value types of one table; the
//! repositories in the sub-modules build on it. Reads take a snapshot
//! ([`Store::read`]); writes run in one transaction that is durable before
//! the caller tells anybody it succeeded ([`Store::write`], group commit:
//! see `GroupCommit`). Both block the OS thread: call them from
//! `spawn_blocking` or a pool (see `App::db`, `App::db_heavy`,
//! `App::db_background`). The one exception is `/healthz`'s single point
//! read, which runs on the runtime (microseconds; see `web::healthz`).
//!
//! The interface (get / put / delete / ordered range scans over byte keys in
//! one transaction) is deliberately what any ordered transactional key-value
//! store offers, so a distributed one can sit behind the same repositories.

pub mod access_requests;
pub mod accounts;
pub mod archive;
pub mod audit;
pub mod citizens;
pub mod conversations;
pub mod counters;
pub mod faq;
pub mod flows;
pub mod lease;
pub mod meta;
pub mod outbox;
pub mod pg;
pub mod sessions;
pub mod sms;
pub mod sms_templates;
pub mod stats;
pub mod throttles;
pub mod units;

use std::marker::PhantomData;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, TableHandle,
    WriteTransaction,
};

/// A read snapshot: the store's own read transaction. Code outside
/// `store/` sees only this type (and [`Tx`]), never the engine's, so a
/// second storage engine can sit behind the same repositories.
pub struct ReadTx {
    inner: ReadInner,
}

enum ReadInner {
    Redb(ReadTransaction),
    Pg(pg::PgTx),
}

/// A write transaction: everything written through it commits together
/// or not at all (see [`Store::write`]).
pub struct WriteTx {
    inner: WriteInner,
}

// One per write transaction, on the stack: a box would only add an
// allocation per write.
#[allow(clippy::large_enum_variant)]
enum WriteInner {
    Redb(WriteTransaction),
    Pg(pg::PgTx),
}

impl ReadTx {
    /// A read snapshot of a redb database (the backup archive's).
    fn redb(inner: ReadTransaction) -> ReadTx {
        ReadTx {
            inner: ReadInner::Redb(inner),
        }
    }

    /// The redb transaction, when this snapshot is one (archives).
    fn as_redb(&self) -> Result<&ReadTransaction> {
        match &self.inner {
            ReadInner::Redb(t) => Ok(t),
            ReadInner::Pg(_) => Err(StoreError::Db("not a redb snapshot".into())),
        }
    }
}

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

impl WriteTx {
    fn redb(inner: WriteTransaction) -> WriteTx {
        WriteTx {
            inner: WriteInner::Redb(inner),
        }
    }

    fn put_raw(&self, table: &'static str, key: &[u8], value: &[u8]) -> Result<()> {
        match &self.inner {
            WriteInner::Redb(w) => {
                let mut t = w.open_table(Raw::new(table))?;
                t.insert(key, value)?;
                Ok(())
            }
            WriteInner::Pg(w) => w.put(table, key, value),
        }
    }

    fn delete_raw(&self, table: &'static str, key: &[u8]) -> Result<bool> {
        match &self.inner {
            WriteInner::Redb(w) => {
                let mut t = w.open_table(Raw::new(table))?;
                let existed = t.remove(key)?.is_some();
                Ok(existed)
            }
            WriteInner::Pg(w) => w.delete(table, key),
        }
    }

    /// The redb transaction of a test that builds an old database by hand.
    #[cfg(test)]
    fn redb_tx(&self) -> &WriteTransaction {
        match &self.inner {
            WriteInner::Redb(w) => w,
            WriteInner::Pg(_) => unreachable!("redb only"),
        }
    }

    #[cfg(test)]
    fn commit_redb(self) {
        if let WriteInner::Redb(w) = self.inner {
            w.commit().unwrap();
        }
    }

    /// Writes an entry into a table named at run time (copies between
    /// engines and restores).
    fn put_named(&self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        match &self.inner {
            WriteInner::Redb(w) => {
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(table);
                w.open_table(def)?.insert(key, value)?;
                Ok(())
            }
            WriteInner::Pg(w) => w.put(table, key, value),
        }
    }

    /// Removes every entry of every table (a restore replaces everything).
    fn clear_all(&self) -> Result<()> {
        match &self.inner {
            WriteInner::Redb(w) => {
                let names: Vec<String> = w.list_tables()?.map(|h| h.name().to_string()).collect();
                for name in names {
                    let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&name);
                    w.delete_table(def)?;
                }
                Ok(())
            }
            WriteInner::Pg(w) => w.clear_all(),
        }
    }

    fn ensure_raw(&self, table: &'static str) -> Result<()> {
        if let WriteInner::Redb(w) = &self.inner {
            w.open_table(Raw::new(table))?;
        }
        Ok(())
    }
}
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The schema version this build writes. Older databases are migrated on open
/// (see [`meta::migrate`]); newer ones are refused.
pub const SCHEMA_VERSION: u32 = 4;

/// redb's page cache. Its default (1 GiB) would let a long-running server
/// grow towards that size as staff search a large table; the operating
/// system's file cache keeps serving the pages beyond this. With 64 MiB the
/// RSS stays under 200 MB during the load test over 1,000,000 accounts.
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// How long a flush waits for writes already under way to join it.
pub const FLUSH_LINGER: std::time::Duration = std::time::Duration::from_millis(2);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the database {path} is in use by another process (is `motcua serve` running?)")]
    InUse { path: PathBuf },
    #[error("database error: {0}")]
    Db(String),
    /// The storage engine failed; the engine's own error is the source.
    #[error("database error")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database cannot be reached (a PostgreSQL server down or
    /// restarting): pages answer 503 and the instance recovers by itself.
    #[error("the database cannot be reached")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("corrupt value in table {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
    #[error(
        "the database was written by a newer motcua (schema {found}, this build knows {known})"
    )]
    TooNew { found: u32, known: u32 },
    #[error("io error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A visitor of raw entries; returns false to stop.
pub type Visit<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool> + 'a;
type RawItem<'a> = std::result::Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Engine(Box::new(e)) }
        }
    )*};
}
db_err!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

type Raw = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// Read access shared by read and write transactions.
pub trait Tx {
    fn get_raw(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Visits entries in key order (or reverse) within bounds until `f` returns false.
    fn scan_raw(
        &self,
        table: &'static str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        f: &mut Visit<'_>,
    ) -> Result<()>;
    fn len_raw(&self, table: &'static str) -> Result<u64>;
}

fn scan_table<T: ReadableTable<&'static [u8], &'static [u8]>>(
    t: &T,
    range: (Bound<&[u8]>, Bound<&[u8]>),
    reverse: bool,
    f: &mut Visit<'_>,
) -> Result<()> {
    let iter = t.range::<&[u8]>(range)?;
    let mut visit = |item: RawItem<'_>| {
        let (k, v) = item?;
        f(k.value(), v.value())
    };
    if reverse {
        for item in iter.rev() {
            if !visit(item)? {
                break;
            }
        }
    } else {
        for item in iter {
            if !visit(item)? {
                break;
            }
        }
    }
    Ok(())
}

impl Tx for ReadTx {
    fn get_raw(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let r = match &self.inner {
            ReadInner::Redb(r) => r,
            ReadInner::Pg(p) => return p.get(table, key),
        };
        let t = match r.open_table(Raw::new(table)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(t.get(key)?.map(|v| v.value().to_vec()))
    }
    fn scan_raw(
        &self,
        table: &'static str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        f: &mut Visit<'_>,
    ) -> Result<()> {
        let r = match &self.inner {
            ReadInner::Redb(r) => r,
            ReadInner::Pg(p) => return p.scan(table, range, reverse, f),
        };
        match r.open_table(Raw::new(table)) {
            Ok(t) => scan_table(&t, range, reverse, f),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
    fn len_raw(&self, table: &'static str) -> Result<u64> {
        let r = match &self.inner {
            ReadInner::Redb(r) => r,
            ReadInner::Pg(p) => return p.len(table),
        };
        match r.open_table(Raw::new(table)) {
            Ok(t) => Ok(redb::ReadableTableMetadata::len(&t)?),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

impl Tx for WriteTx {
    fn get_raw(&self, table: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match &self.inner {
            WriteInner::Redb(w) => {
                let t = w.open_table(Raw::new(table))?;
                Ok(t.get(key)?.map(|v| v.value().to_vec()))
            }
            WriteInner::Pg(p) => p.get(table, key),
        }
    }
    fn scan_raw(
        &self,
        table: &'static str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        f: &mut Visit<'_>,
    ) -> Result<()> {
        match &self.inner {
            WriteInner::Redb(w) => {
                let t = w.open_table(Raw::new(table))?;
                scan_table(&t, range, reverse, f)
            }
            WriteInner::Pg(p) => p.scan(table, range, reverse, f),
        }
    }
    fn len_raw(&self, table: &'static str) -> Result<u64> {
        match &self.inner {
            WriteInner::Redb(w) => {
                let t = w.open_table(Raw::new(table))?;
                Ok(redb::ReadableTableMetadata::len(&t)?)
            }
            WriteInner::Pg(p) => p.len(table),
        }
    }
}

/// A key that encodes to bytes whose order is the key's order.
pub trait KeyEnc {
    fn enc(&self) -> Vec<u8>;
}
impl KeyEnc for str {
    fn enc(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl KeyEnc for String {
    fn enc(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl KeyEnc for u64 {
    fn enc(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
}
impl KeyEnc for [u8] {
    fn enc(&self) -> Vec<u8> {
        self.to_vec()
    }
}
impl KeyEnc for Vec<u8> {
    fn enc(&self) -> Vec<u8> {
        self.clone()
    }
}

/// One table with a fixed value type.
pub struct Table<V> {
    pub name: &'static str,
    _v: PhantomData<fn() -> V>,
}

impl<V: Serialize + DeserializeOwned> Table<V> {
    pub const fn new(name: &'static str) -> Self {
        Table {
            name,
            _v: PhantomData,
        }
    }

    fn decode(&self, bytes: &[u8]) -> Result<V> {
        postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt {
            table: self.name,
            message: e.to_string(),
        })
    }

    pub fn get<K: KeyEnc + ?Sized>(&self, tx: &impl Tx, key: &K) -> Result<Option<V>> {
        tx.get_raw(self.name, &key.enc())?
            .map(|b| self.decode(&b))
            .transpose()
    }

    pub fn put<K: KeyEnc + ?Sized>(&self, w: &WriteTx, key: &K, value: &V) -> Result<()> {
        let bytes = postcard::to_stdvec(value).map_err(|e| StoreError::Corrupt {
            table: self.name,
            message: e.to_string(),
        })?;
        w.put_raw(self.name, &key.enc(), &bytes)
    }

    pub fn delete<K: KeyEnc + ?Sized>(&self, w: &WriteTx, key: &K) -> Result<bool> {
        w.delete_raw(self.name, &key.enc())
    }

    /// Visits values whose key starts with `prefix`, in key order or reverse.
    pub fn scan_prefix(
        &self,
        tx: &impl Tx,
        prefix: &[u8],
        reverse: bool,
        mut f: impl FnMut(&[u8], V) -> Result<bool>,
    ) -> Result<()> {
        let end = prefix_end(prefix);
        let range = (
            Bound::Included(prefix),
            match &end {
                Some(e) => Bound::Excluded(e.as_slice()),
                None => Bound::Unbounded,
            },
        );
        tx.scan_raw(self.name, range, reverse, &mut |k, v| f(k, self.decode(v)?))
    }

    /// Visits every entry.
    pub fn scan_all(
        &self,
        tx: &impl Tx,
        reverse: bool,
        f: impl FnMut(&[u8], V) -> Result<bool>,
    ) -> Result<()> {
        self.scan_prefix(tx, &[], reverse, f)
    }

    pub fn all(&self, tx: &impl Tx) -> Result<Vec<V>> {
        let mut out = Vec::new();
        self.scan_all(tx, false, |_, v| {
            out.push(v);
            Ok(true)
        })?;
        Ok(out)
    }

    pub fn len(&self, tx: &impl Tx) -> Result<u64> {
        tx.len_raw(self.name)
    }

    /// Makes sure the table exists (so that read snapshots can open it).
    pub fn ensure(&self, w: &WriteTx) -> Result<()> {
        w.ensure_raw(self.name)
    }
}

/// Index tables map a composite key to nothing.
pub type Index = Table<()>;

fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Builds composite keys: parts are joined with 0x00 so that prefixes of
/// whole parts scan correctly (strings never contain 0x00 here).
pub fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

/// The opened database.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
    path: PathBuf,
}

/// The storage engine behind a store: the embedded redb file (the default)
/// or a PostgreSQL database (`MOTCUA_DATABASE_URL`, see `pg.rs`).
#[derive(Clone)]
enum Engine {
    Redb {
        db: Arc<Database>,
        commits: Arc<GroupCommit>,
    },
    Pg(Arc<pg::Pool>),
}

/// Group commit. Each write transaction commits without flushing
/// (`Durability::None`, which redb keeps in memory and makes durable with the
/// next durable commit) and takes a sequence number; then its caller waits
/// until some flush covers that number. One caller at a time flushes: an
/// empty `Durability::Immediate` transaction, which persists every commit
/// before it. Callers that finished while a flush ran are covered by the
/// next one, so under concurrency one flush serves many writes, and nobody
/// returns before its own data is on disk. A flush holds redb's write lock,
/// so before flushing, the flusher lets the writers that had already begun
/// finish (for at most [`FLUSH_LINGER`]): they ride on this flush instead of
/// each paying for their own. (Other readers may see a write a
/// moment before it is durable; a crash in that moment loses only writes
/// that were never acknowledged.)
#[derive(Default)]
struct GroupCommit {
    /// Write transactions begun and ended (committed or aborted).
    begun: std::sync::atomic::AtomicU64,
    ended: std::sync::atomic::AtomicU64,
    /// A flusher waiting for writes under way sleeps here; set while it waits.
    lingering: std::sync::atomic::AtomicBool,
    linger: std::sync::Mutex<()>,
    wake: std::sync::Condvar,
    /// The number of the last write transaction (taken inside it).
    seq: std::sync::atomic::AtomicU64,
    /// The highest number known to be durable; its lock is the flush lock.
    durable: std::sync::Mutex<u64>,
    /// Flushes done, for the unit test of batching.
    flushes: std::sync::atomic::AtomicU64,
}

/// Counts a write transaction as ended when dropped (commit, abort, error).
struct Ended<'a>(&'a GroupCommit);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        self.0.ended.fetch_add(1, Ordering::SeqCst);
        if self.0.lingering.load(Ordering::SeqCst) {
            // Taking the lock orders this after the flusher's check.
            let _g = self.0.linger.lock().unwrap_or_else(|e| e.into_inner());
            self.0.wake.notify_all();
        }
    }
}

impl Store {
    /// Opens (or creates) the database at `path`, restricts it to the owner,
    /// and migrates it to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            crate::util::private_dir(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let db = match Database::builder().set_cache_size(CACHE_BYTES).create(path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::InUse {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(StoreError::Db(e.to_string())),
        };
        restrict_permissions(path);
        let store = Store {
            engine: Engine::Redb {
                db: Arc::new(db),
                commits: Arc::default(),
            },
            path: path.to_path_buf(),
        };
        store.write(meta::migrate)?;
        Ok(store)
    }

    /// Opens a PostgreSQL database (`postgres://user:pass@host:port/db`),
    /// creates its tables when missing and migrates it to
    /// [`SCHEMA_VERSION`] under the same rule as redb (older migrated,
    /// newer refused). `path` is where the redb file would be: backups and
    /// uploads still live beside it in the data dir.
    pub fn open_postgres(url: &str, path: &Path) -> Result<Store> {
        let store = Store {
            engine: Engine::Pg(Arc::new(pg::Pool::open(url)?)),
            path: path.to_path_buf(),
        };
        store.write(meta::migrate)?;
        Ok(store)
    }

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

    /// Opens the configured engine: PostgreSQL when `database_url` is set,
    /// else the redb file at `path`.
    pub fn open_at(path: &Path, database_url: Option<&str>) -> Result<Store> {
        match database_url {
            Some(url) => Store::open_postgres(url, path),
            None => Store::open(path),
        }
    }

    /// The engine's name, for logs and `/healthz`.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Redb { .. } => "redb",
            Engine::Pg(_) => "postgres",
        }
    }

    /// Whether the engine may be used from several processes at once.
    pub fn is_shared(&self) -> bool {
        matches!(self.engine, Engine::Pg(_))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn read<T>(&self, f: impl FnOnce(&ReadTx) -> Result<T>) -> Result<T> {
        let inner = match &self.engine {
            Engine::Redb { db, .. } => ReadInner::Redb(db.begin_read()?),
            Engine::Pg(pool) => ReadInner::Pg(pool.begin_read()?),
        };
        let tx = ReadTx { inner };
        let out = f(&tx)?;
        if let ReadInner::Pg(p) = &tx.inner {
            p.commit()?;
        }
        Ok(out)
    }

    /// Runs `f` in one write transaction and commits durably (see
    /// [`GroupCommit`]): when this returns `Ok`, the writes are on disk. If
    /// `f` fails, nothing is written.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&WriteTx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        use std::sync::atomic::Ordering;
        let (db, commits) = match &self.engine {
            Engine::Redb { db, commits } => (db, commits),
            Engine::Pg(pool) => {
                // PostgreSQL commits durably itself (synchronous_commit).
                let tx = WriteTx {
                    inner: WriteInner::Pg(pool.begin_write()?),
                };
                let v = f(&tx)?;
                if let WriteInner::Pg(p) = &tx.inner {
                    p.commit()?;
                }
                return Ok(v);
            }
        };
        commits.begun.fetch_add(1, Ordering::SeqCst);
        let _ended = Ended(commits);
        let mut inner = db.begin_write().map_err(StoreError::from)?;
        inner
            .set_durability(redb::Durability::None)
            .map_err(StoreError::from)?;
        let tx = WriteTx::redb(inner);
        let result = f(&tx);
        let WriteInner::Redb(inner) = tx.inner else {
            return result;
        };
        match result {
            Ok(v) => {
                // Numbered while this transaction holds the write lock, so
                // numbers follow commit order.
                let seq = commits.seq.fetch_add(1, Ordering::SeqCst) + 1;
                inner.commit().map_err(StoreError::from)?;
                drop(_ended);
                Self::sync(db, commits, seq)?;
                Ok(v)
            }
            Err(e) => {
                let _ = inner.abort();
                Err(e)
            }
        }
    }

    /// Returns once write number `seq` is durable, flushing if needed.
    fn sync(db: &Database, c: &GroupCommit, seq: u64) -> Result<()> {
        use std::sync::atomic::Ordering;
        let mut durable = c.durable.lock().unwrap_or_else(|e| e.into_inner());
        if *durable >= seq {
            return Ok(());
        }
        // Let the writes already begun commit first, and cover them too.
        let begun = c.begun.load(Ordering::SeqCst);
        if c.ended.load(Ordering::SeqCst) < begun {
            let deadline = std::time::Instant::now() + FLUSH_LINGER;
            c.lingering.store(true, Ordering::SeqCst);
            let mut g = c.linger.lock().unwrap_or_else(|e| e.into_inner());
            while c.ended.load(Ordering::SeqCst) < begun {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                g = match c.wake.wait_timeout(g, left) {
                    Ok((g, _)) => g,
                    Err(e) => e.into_inner().0,
                };
            }
            drop(g);
            c.lingering.store(false, Ordering::SeqCst);
        }
        // Every transaction numbered up to here has committed or is about
        // to: the flush's begin_write waits for it.
        let upto = c.seq.load(Ordering::SeqCst);
        let tx = db.begin_write()?; // Durability::Immediate
        tx.commit()?;
        c.flushes.fetch_add(1, Ordering::Relaxed);
        *durable = upto;
        Ok(())
    }

    /// The group commit of a redb store (tests).
    #[cfg(test)]
    fn commits(&self) -> &GroupCommit {
        match &self.engine {
            Engine::Redb { commits, .. } => commits,
            Engine::Pg(_) => unreachable!("redb only"),
        }
    }

    /// How many flushes have run (tests of the group commit).
    #[cfg(test)]
    fn flush_count(&self) -> u64 {
        self.commits()
            .flushes
            .load(std::sync::atomic::Ordering::Relaxed)
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

#[cfg(unix)]
pub fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(path = %path.display(), error = %e, "cannot restrict file permissions");
    }
}

#[cfg(not(unix))]
pub fn restrict_permissions(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Table<String> = Table::new("t");

    #[test]
    fn write_then_read_and_scan() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        s.write(|w| {
            for (k, v) in [("a:1", "x"), ("a:2", "y"), ("b:1", "z")] {
                T.put(w, k, &v.to_string())?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let got = s.read(|r| T.get(r, "a:2")).unwrap();
        assert_eq!(got.as_deref(), Some("y"));
        let mut seen = vec![];
        s.read(|r| {
            T.scan_prefix(r, b"a:", true, |_, v| {
                seen.push(v);
                Ok(true)
            })
        })
        .unwrap();
        assert_eq!(seen, vec!["y".to_string(), "x".to_string()]);
    }

    #[test]
    fn failed_write_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        let r: std::result::Result<(), StoreError> = s.write(|w| {
            T.put(w, "k", &"v".to_string())?;
            Err(StoreError::Db("boom".into()))
        });
        assert!(r.is_err());
        assert_eq!(s.read(|r| T.get(r, "k")).unwrap(), None);
    }

    #[test]
    fn one_flush_serves_the_writes_that_waited_for_it() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db.redb");
        let s = Arc::new(Store::open(&p).unwrap());
        let before = s.flush_count();
        let base = s.commits().seq.load(Ordering::SeqCst);
        // Hold the flush lock, as a flush in progress would.
        let held = s.commits().durable.lock().unwrap();
        let writers: Vec<_> = (0..5)
            .map(|i| {
                let s = s.clone();
                std::thread::spawn(move || {
                    s.write(|w| T.put(w, &format!("k{i}"), &format!("v{i}")))
                        .unwrap();
                })
            })
            .collect();
        // All five have committed (without flushing) and now wait.
        while s.commits().seq.load(Ordering::SeqCst) < base + 5 {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            writers.iter().all(|w| !w.is_finished()),
            "returned before durable"
        );
        drop(held);
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(s.flush_count() - before, 1);
        drop(s);
        let s = Store::open(&p).unwrap();
        for i in 0..5 {
            assert_eq!(
                s.read(|r| T.get(r, &format!("k{i}"))).unwrap(),
                Some(format!("v{i}"))
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn database_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db.redb");
        let _s = Store::open(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn second_open_reports_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("db.redb");
        let _s = Store::open(&p).unwrap();
        assert!(matches!(Store::open(&p), Err(StoreError::InUse { .. })));
    }

    #[test]
    fn prefix_end_handles_ff() {
        assert_eq!(prefix_end(b"a"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
