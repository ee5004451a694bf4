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
pub mod captchas;
pub mod citizens;
pub mod conversations;
mod copy;
pub mod counters;
pub mod faq;
pub mod flows;
pub mod lease;
pub mod meta;
pub mod outbox;
pub mod pg;
pub mod scans;
pub mod sessions;
pub mod sms;
pub mod sms_templates;
pub mod stats;
mod table;
pub mod throttles;
pub mod units;

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

impl WriteTx {
    fn redb(inner: WriteTransaction) -> WriteTx {
        WriteTx {
            inner: WriteInner::Redb(inner),
        }
    }

    /// Writes an entry (the table may be named at run time: copies between
    /// engines and restores).
    fn put_raw(&self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        match &self.inner {
            WriteInner::Redb(w) => {
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(table);
                let mut t = w.open_table(def)?;
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
pub(crate) use copy::replace_all;
pub use table::{Index, KeyEnc, Table, key};

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
    /// `f` fails, nothing is written. On PostgreSQL a transaction the
    /// database aborted as a serialisation failure or deadlock (SQLSTATE
    /// 40001, 40P01: engines that are always SERIALIZABLE report them) is
    /// run again from the start, up to [`pg::RETRIES`] times — so `f` may
    /// run more than once and must not have effects outside the
    /// transaction.
    pub fn write<T, E: From<StoreError>>(
        &self,
        mut f: impl FnMut(&WriteTx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        use std::sync::atomic::Ordering;
        let (db, commits) = match &self.engine {
            Engine::Redb { db, commits } => (db, commits),
            Engine::Pg(pool) => {
                let mut attempt = 0;
                loop {
                    // PostgreSQL commits durably itself (synchronous_commit).
                    let began = match pool.begin_write() {
                        Err(e) if pg::is_conflict(&e) && attempt < pg::RETRIES => {
                            attempt += 1;
                            pg::retry_pause(attempt);
                            continue;
                        }
                        r => r?,
                    };
                    let tx = WriteTx {
                        inner: WriteInner::Pg(began),
                    };
                    let r = f(&tx).and_then(|v| match &tx.inner {
                        WriteInner::Pg(p) => p.commit().map(|()| v).map_err(E::from),
                        WriteInner::Redb(_) => Ok(v),
                    });
                    let conflict = matches!(&tx.inner, WriteInner::Pg(p) if p.conflicted());
                    match r {
                        Err(_) if conflict && attempt < pg::RETRIES => {
                            attempt += 1;
                            drop(tx); // rolls back
                            pg::retry_pause(attempt);
                        }
                        r => return r,
                    }
                }
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
mod tests;
