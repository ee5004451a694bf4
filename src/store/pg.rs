//! The PostgreSQL engine: the same byte-keyed tables as redb, kept in one
//! SQL table `motcua_kv (t, k, v)` with the primary key `(t, k)`. `bytea`
//! compares like redb's `&[u8]` keys (bytewise, shorter first on a tie), so
//! ordered range scans give the same order in both engines.
//!
//! Transactions keep redb's rules: a read is one `REPEATABLE READ READ
//! ONLY` snapshot; writes are serialised by locking the one row of
//! `motcua_writer` (`SELECT … FOR UPDATE`) before anything else, so two
//! instances sharing the database never interleave read-modify-write
//! sequences, and each statement after the lock sees every earlier commit.
//! The SQL is plain (no LISTEN/NOTIFY, advisory locks or extensions) so
//! engines that speak PostgreSQL's protocol can carry it. A transaction
//! whose pooled connection turns out dead at `BEGIN` starts again on a new
//! one (nothing was written yet); a transaction the database aborts as a
//! serialisation failure or deadlock (SQLSTATE 40001/40P01, which engines
//! that are always SERIALIZABLE report) runs again from the start
//! (`Store::write`).
//!
//! Connections come from a small pool of idle clients; a client whose
//! connection broke is dropped, so the instance recovers by itself when the
//! database returns. The connections' I/O runs on the pool's own one-thread
//! runtime; callers wait for an answer with `futures_executor::block_on`,
//! which (unlike a tokio `block_on`) works on any thread — the store's
//! pools, start-up, or the one point read `/healthz` makes on the runtime.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_executor::block_on;
use tokio_postgres::{Client, NoTls, Statement};

use super::{Result, StoreError, Visit};

/// Times a write transaction aborted as a serialisation failure (40001) or
/// deadlock (40P01) runs again.
pub const RETRIES: u32 = 8;

/// A short random pause before a retry, growing with each (1–4 ms, …).
pub fn retry_pause(attempt: u32) {
    let base = 1u64 << attempt.min(6);
    let jitter = u64::from(crate::util::random_below(1000)) * base / 1000;
    std::thread::sleep(Duration::from_millis(base + jitter));
}

/// Whether the database aborted the transaction so that running it again
/// may succeed.
pub(crate) fn is_conflict(e: &StoreError) -> bool {
    let StoreError::Engine(src) = e else {
        return false;
    };
    src.downcast_ref::<tokio_postgres::Error>()
        .and_then(|e| e.code())
        .is_some_and(|c| {
            *c == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                || *c == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
        })
}

/// How many entries one round trip of a range scan fetches.
const PAGE: i64 = 256;
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 16;
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS motcua_kv (
    t text NOT NULL,
    k bytea NOT NULL,
    v bytea NOT NULL,
    PRIMARY KEY (t, k)
);
CREATE TABLE IF NOT EXISTS motcua_writer (id integer PRIMARY KEY);
INSERT INTO motcua_writer (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
";

/// A connection that failed or closed, or the server going away (SQLSTATE
/// classes 08 and 57P), is "unavailable"; anything else an engine error.
fn engine(e: tokio_postgres::Error) -> StoreError {
    let unreachable = match e.code() {
        None => e.as_db_error().is_none(),
        Some(c) => c.code().starts_with("08") || c.code().starts_with("57P"),
    };
    if unreachable || e.is_closed() {
        StoreError::Unavailable(Box::new(e))
    } else {
        StoreError::Engine(Box::new(e))
    }
}

/// One connection with its prepared statements.
struct Conn {
    client: Client,
    stmts: HashMap<String, Statement>,
}

impl Conn {
    fn stmt(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.stmts.get(sql) {
            return Ok(s.clone());
        }
        let s = block_on(self.client.prepare(sql)).map_err(engine)?;
        self.stmts.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

/// The connection pool of one store.
pub(crate) struct Pool {
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Conn>>,
    /// Drives the connections (taken and shut down in the background when
    /// dropped: dropping a runtime may happen inside another one).
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The URL with its password hidden, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Pool {
    /// Connects once (so a wrong URL fails at start, with the reason) and
    /// creates the tables when they are missing.
    pub fn open(url: &str) -> Result<Pool> {
        let mut config: tokio_postgres::Config =
            url.parse().map_err(|e: tokio_postgres::Error| {
                StoreError::Db(format!("MOTCUA_DATABASE_URL: {e}"))
            })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("motcua");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("motcua-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Engine(Box::new(e)))?;
        let pool = Pool {
            config,
            idle: Mutex::new(Vec::new()),
            rt: Some(rt),
        };
        let mut c = pool.take()?;
        // Two instances starting together may race on CREATE TABLE; the
        // loser's error is a unique violation and a second try finds them.
        if block_on(c.client.batch_execute(SCHEMA)).is_err() {
            c = pool.take()?;
            block_on(c.client.batch_execute(SCHEMA)).map_err(engine)?;
        }
        pool.give(c);
        Ok(pool)
    }

    fn take(&self) -> Result<Conn> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(c) = idle
            && !c.client.is_closed()
        {
            return Ok(c);
        }
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| StoreError::Db("the database pool is closed".into()))?;
        let config = self.config.clone();
        let connecting = rt.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "PostgreSQL connection ended");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = block_on(connecting)
            .map_err(|e| StoreError::Engine(Box::new(e)))?
            .map_err(engine)?;
        Ok(Conn {
            client,
            stmts: HashMap::new(),
        })
    }

    fn give(&self, c: Conn) {
        if c.client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(c);
        }
    }

    /// Begins a read snapshot.
    pub fn begin_read(self: &Arc<Self>) -> Result<PgTx> {
        self.begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    }

    /// Begins a write transaction holding the writer lock.
    pub fn begin_write(self: &Arc<Self>) -> Result<PgTx> {
        self.begin("BEGIN; SELECT id FROM motcua_writer WHERE id = 1 FOR UPDATE")
    }

    /// Begins a transaction. A pooled connection that turns out to be dead
    /// (the server restarted or failed over since it was last used) is
    /// dropped with every other idle one, and the transaction begins on a
    /// new connection: the first request after a restart succeeds instead
    /// of meeting a 503. Nothing has been written at this point, so trying
    /// again is always safe.
    fn begin(self: &Arc<Self>, sql: &str) -> Result<PgTx> {
        let mut attempt = 0;
        loop {
            let c = self.take()?;
            match block_on(c.client.batch_execute(sql)).map_err(engine) {
                Ok(()) => {
                    return Ok(PgTx {
                        pool: self.clone(),
                        conn: RefCell::new(Some(c)),
                        puts: RefCell::new(Puts::default()),
                        conflict: std::cell::Cell::new(false),
                    });
                }
                Err(StoreError::Unavailable(_)) if attempt == 0 => {
                    attempt += 1;
                    self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A transaction on one pooled connection.
pub(crate) struct PgTx {
    pool: Arc<Pool>,
    conn: RefCell<Option<Conn>>,
    /// Writes not sent yet: they go in one statement per [`FLUSH_ROWS`]
    /// instead of one round trip each.
    puts: RefCell<Puts>,
    /// The database aborted this transaction as a serialisation failure.
    conflict: std::cell::Cell<bool>,
}

/// Puts buffered in a write transaction, the last one per key.
#[derive(Default)]
struct Puts {
    rows: std::collections::BTreeMap<(String, Vec<u8>), Vec<u8>>,
    bytes: usize,
}

/// Buffered puts are sent once this many are waiting (or these many bytes).
const FLUSH_ROWS: usize = 1000;
const FLUSH_BYTES: usize = 8 << 20;

impl PgTx {
    /// Runs `f` on the connection after sending the buffered puts, so it
    /// sees this transaction's writes.
    fn with<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        self.flush()?;
        self.with_conn(f)
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut g = self.conn.borrow_mut();
        let c = g
            .as_mut()
            .ok_or_else(|| StoreError::Db("transaction already ended".into()))?;
        self.note(f(c))
    }

    /// Remembers a serialisation failure (see [`PgTx::conflicted`]).
    fn note<T>(&self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && is_conflict(e)
        {
            self.conflict.set(true);
        }
        r
    }

    /// Whether the database aborted this transaction as a serialisation
    /// failure or deadlock: running it again may succeed.
    pub fn conflicted(&self) -> bool {
        self.conflict.get()
    }

    /// Sends the buffered puts in one `INSERT … SELECT FROM unnest(…)` (one
    /// key at most once in it, as `ON CONFLICT DO UPDATE` requires; the
    /// buffer keeps the last).
    fn flush(&self) -> Result<()> {
        let rows = {
            let mut p = self.puts.borrow_mut();
            if p.rows.is_empty() {
                return Ok(());
            }
            p.bytes = 0;
            std::mem::take(&mut p.rows)
        };
        self.with_conn(|c| {
            let s = c.stmt(
                "INSERT INTO motcua_kv (t, k, v) \
                 SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) \
                 ON CONFLICT (t, k) DO UPDATE SET v = excluded.v",
            )?;
            let mut ts: Vec<&str> = Vec::with_capacity(rows.len());
            let mut ks: Vec<&[u8]> = Vec::with_capacity(rows.len());
            let mut vs: Vec<&[u8]> = Vec::with_capacity(rows.len());
            for ((t, k), v) in &rows {
                ts.push(t);
                ks.push(k);
                vs.push(v);
            }
            block_on(c.client.execute(&s, &[&ts, &ks, &vs])).map_err(engine)?;
            Ok(())
        })
    }

    /// Lists the tables that hold entries.
    pub fn tables(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let s = c.stmt("SELECT DISTINCT t FROM motcua_kv ORDER BY t")?;
            let rows = block_on(c.client.query(&s, &[])).map_err(engine)?;
            Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
        })
    }

    pub fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // A key written in this transaction is answered from the buffer;
        // any other is unaffected by it, so nothing needs sending first.
        if let Some(v) = self
            .puts
            .borrow()
            .rows
            .get(&(table.to_string(), key.to_vec()))
        {
            return Ok(Some(v.clone()));
        }
        self.with_conn(|c| {
            let s = c.stmt("SELECT v FROM motcua_kv WHERE t = $1 AND k = $2")?;
            let row = block_on(c.client.query_opt(&s, &[&table, &key])).map_err(engine)?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    pub fn len(&self, table: &str) -> Result<u64> {
        self.with(|c| {
            let s = c.stmt("SELECT count(*) FROM motcua_kv WHERE t = $1")?;
            let row = block_on(c.client.query_one(&s, &[&table])).map_err(engine)?;
            Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
        })
    }

    pub fn put(&self, table: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let full = {
            let mut p = self.puts.borrow_mut();
            p.bytes += key.len() + value.len();
            p.rows
                .insert((table.to_string(), key.to_vec()), value.to_vec());
            p.rows.len() >= FLUSH_ROWS || p.bytes >= FLUSH_BYTES
        };
        if full {
            self.flush()?;
        }
        Ok(())
    }

    pub fn delete(&self, table: &str, key: &[u8]) -> Result<bool> {
        self.with(|c| {
            let s = c.stmt("DELETE FROM motcua_kv WHERE t = $1 AND k = $2")?;
            let n = block_on(c.client.execute(&s, &[&table, &key])).map_err(engine)?;
            Ok(n > 0)
        })
    }

    /// Removes every entry (a restore replaces everything).
    pub fn clear_all(&self) -> Result<()> {
        self.with(|c| {
            block_on(c.client.batch_execute("DELETE FROM motcua_kv")).map_err(engine)?;
            Ok(())
        })
    }

    /// Visits entries within bounds in key order (or reverse), a page at a
    /// time, until `f` returns false.
    pub fn scan(
        &self,
        table: &str,
        range: (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        f: &mut Visit<'_>,
    ) -> Result<()> {
        let (mut lo, mut hi): (Bound<Vec<u8>>, Bound<Vec<u8>>) =
            (range.0.map(<[u8]>::to_vec), range.1.map(<[u8]>::to_vec));
        loop {
            let page = self.page(table, &lo, &hi, reverse)?;
            let full = page.len() as i64 == PAGE;
            let mut last = None;
            for (k, v) in &page {
                if !f(k, v)? {
                    return Ok(());
                }
                last = Some(k);
            }
            match (full, last) {
                (true, Some(k)) if reverse => hi = Bound::Excluded(k.clone()),
                (true, Some(k)) => lo = Bound::Excluded(k.clone()),
                _ => return Ok(()),
            }
        }
    }

    fn page(
        &self,
        table: &str,
        lo: &Bound<Vec<u8>>,
        hi: &Bound<Vec<u8>>,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut sql = String::from("SELECT k, v FROM motcua_kv WHERE t = $1");
        let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&table];
        for (b, incl, excl) in [(lo, ">=", ">"), (hi, "<=", "<")] {
            let (op, v) = match b {
                Bound::Included(v) => (incl, v),
                Bound::Excluded(v) => (excl, v),
                Bound::Unbounded => continue,
            };
            args.push(v);
            sql.push_str(&format!(" AND k {op} ${}", args.len()));
        }
        sql.push_str(if reverse {
            " ORDER BY k DESC"
        } else {
            " ORDER BY k"
        });
        sql.push_str(&format!(" LIMIT {PAGE}"));
        self.with(|c| {
            let s = c.stmt(&sql)?;
            let rows = block_on(c.client.query(&s, &args)).map_err(engine)?;
            Ok(rows
                .iter()
                .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
                .collect())
        })
    }

    /// Commits and returns the connection to the pool.
    pub fn commit(&self) -> Result<()> {
        self.flush()?;
        let c = self.conn.borrow_mut().take();
        if let Some(c) = c {
            self.note(block_on(c.client.batch_execute("COMMIT")).map_err(engine))?;
            self.pool.give(c);
        }
        Ok(())
    }

    /// Rolls back (also done when dropped unfinished).
    pub fn rollback(&self) {
        let c = self.conn.borrow_mut().take();
        if let Some(c) = c
            && block_on(c.client.batch_execute("ROLLBACK")).is_ok()
        {
            self.pool.give(c);
        }
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        self.rollback();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://motcua:s3cret@db.local:5432/motcua"),
            "postgres://motcua:***@db.local:5432/motcua"
        );
        assert_eq!(
            redact("postgres://db.local/motcua"),
            "postgres://db.local/motcua"
        );
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
    }
}
