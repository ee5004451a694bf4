//! Backups: one redb file holding a consistent copy of every table (from one
//! read snapshot) plus the uploaded files, and the restore that checks it
//! first. A backup is itself a database, so `restore` can verify it before
//! touching anything.

use std::io::Write;
use std::path::{Path, PathBuf};

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableHandle,
};

use crate::store::{SCHEMA_VERSION, Store, StoreError, meta};

const FILES: TableDefinition<&str, &[u8]> = TableDefinition::new("__backup_files");
const INFO: TableDefinition<&str, &str> = TableDefinition::new("__backup_info");

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} is not a motcua backup: {1}")]
    NotABackup(PathBuf, String),
    #[error("io error on {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("database error: {0}")]
    Db(String),
}

fn db<E: std::fmt::Display>(e: E) -> BackupError {
    BackupError::Db(e.to_string())
}

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
}

/// Progress to stderr on a terminal-friendly single line.
pub struct Progress {
    label: String,
    quiet: bool,
}

impl Progress {
    pub fn new(label: &str, quiet: bool) -> Progress {
        Progress {
            label: label.into(),
            quiet,
        }
    }
    pub fn update(&self, done: u64, total: u64) {
        if self.quiet || total == 0 {
            return;
        }
        let width = 30usize;
        let filled = ((done.min(total) * width as u64) / total) as usize;
        eprint!(
            "\r{} [{}{}] {}/{}",
            self.label,
            "#".repeat(filled),
            "-".repeat(width - filled),
            done,
            total
        );
        if done >= total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

/// Writes a backup of `store` and the files under `uploads` into `dest`
/// (which must not exist).
pub fn create(
    store: &Store,
    uploads: &Path,
    dest: &Path,
    progress: &Progress,
) -> Result<Summary, BackupError> {
    let records = store.snapshot_to(dest)?;
    let out = Database::builder().create(dest).map_err(db)?;
    let mut files = vec![];
    walk(uploads, &mut files);
    let mut summary = Summary {
        records,
        ..Default::default()
    };
    let w = out.begin_write().map_err(db)?;
    {
        let mut t = w.open_table(FILES).map_err(db)?;
        for (i, f) in files.iter().enumerate() {
            let rel = f
                .strip_prefix(uploads)
                .unwrap_or(f)
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(f).map_err(|e| BackupError::Io(f.clone(), e))?;
            summary.bytes += bytes.len() as u64;
            t.insert(rel.as_str(), bytes.as_slice()).map_err(db)?;
            summary.files += 1;
            progress.update(i as u64 + 1, files.len() as u64);
        }
        let mut info = w.open_table(INFO).map_err(db)?;
        let created = chrono::Utc::now().to_rfc3339();
        let version = SCHEMA_VERSION.to_string();
        info.insert("created_at", created.as_str()).map_err(db)?;
        info.insert("schema_version", version.as_str())
            .map_err(db)?;
        info.insert("tool", concat!("motcua ", env!("CARGO_PKG_VERSION")))
            .map_err(db)?;
    }
    w.commit().map_err(db)?;
    drop(out);
    crate::store::restrict_permissions(dest);
    Ok(summary)
}

/// Checks that `file` is a backup this build can restore; returns its
/// creation time and schema version.
pub fn verify(file: &Path) -> Result<(String, u32), BackupError> {
    let not = |why: &str| BackupError::NotABackup(file.to_path_buf(), why.to_string());
    if !file.is_file() {
        return Err(not("no such file"));
    }
    let d = redb::ReadOnlyDatabase::open(file).map_err(|e| not(&e.to_string()))?;
    let r = d.begin_read().map_err(|e| not(&e.to_string()))?;
    let info = r
        .open_table(INFO)
        .map_err(|_| not("it has no backup header"))?;
    let created = info
        .get("created_at")
        .map_err(|e| not(&e.to_string()))?
        .map(|v| v.value().to_string())
        .ok_or_else(|| not("it has no creation time"))?;
    let version = meta::schema_version(&r)
        .map_err(|e| not(&e.to_string()))?
        .ok_or_else(|| not("it has no schema version"))?;
    if version > SCHEMA_VERSION {
        return Err(not(&format!(
            "it was written by a newer motcua (schema {version})"
        )));
    }
    Ok((created, version))
}

/// Restores `file` into `data_dir` (the server must be stopped). The current
/// database is kept beside it as `motcua.redb.before-restore-<time>`.
pub fn restore(file: &Path, data_dir: &Path, progress: &Progress) -> Result<Summary, BackupError> {
    verify(file)?;
    crate::util::private_dir(data_dir).map_err(|e| BackupError::Io(data_dir.to_path_buf(), e))?;
    let live = data_dir.join("motcua.redb");
    if live.exists() {
        // Refuses while a server holds the database.
        let s = Store::open(&live)?;
        drop(s);
    }
    let tmp = data_dir.join("motcua.redb.restoring");
    let _ = std::fs::remove_file(&tmp);
    let src = redb::ReadOnlyDatabase::open(file).map_err(db)?;
    let r = src.begin_read().map_err(db)?;
    let out = Database::builder().create(&tmp).map_err(db)?;
    let w = out.begin_write().map_err(db)?;
    let mut summary = Summary::default();
    let tables: Vec<String> = r
        .list_tables()
        .map_err(db)?
        .map(|h| h.name().to_string())
        .collect();
    for name in tables.iter().filter(|n| !n.starts_with("__backup")) {
        let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(name);
        let from = r.open_table(def).map_err(db)?;
        let mut to = w.open_table(def).map_err(db)?;
        for item in from.iter().map_err(db)? {
            let (k, v) = item.map_err(db)?;
            to.insert(k.value(), v.value()).map_err(db)?;
            summary.records += 1;
        }
    }
    w.commit().map_err(db)?;
    drop(out);
    let uploads = data_dir.join("uploads");
    let files = r.open_table(FILES).map_err(db)?;
    let total = files.len().map_err(db)?;
    for (i, item) in files.iter().map_err(db)?.enumerate() {
        let (k, v) = item.map_err(db)?;
        let rel = k.value();
        if rel.split('/').any(|p| p == ".." || p.is_empty()) {
            return Err(BackupError::NotABackup(
                file.to_path_buf(),
                format!("bad file name {rel}"),
            ));
        }
        let dest = uploads.join(rel);
        if let Some(parent) = dest.parent() {
            crate::util::private_dir(parent)
                .map_err(|e| BackupError::Io(parent.to_path_buf(), e))?;
        }
        std::fs::write(&dest, v.value()).map_err(|e| BackupError::Io(dest.clone(), e))?;
        crate::store::restrict_permissions(&dest);
        summary.files += 1;
        summary.bytes += v.value().len() as u64;
        progress.update(i as u64 + 1, total);
    }
    if live.exists() {
        let keep = data_dir.join(format!(
            "motcua.redb.before-restore-{}",
            chrono::Utc::now().format("%Y%m%d%H%M%S")
        ));
        std::fs::rename(&live, &keep).map_err(|e| BackupError::Io(live.clone(), e))?;
    }
    std::fs::rename(&tmp, &live).map_err(|e| BackupError::Io(tmp.clone(), e))?;
    crate::store::restrict_permissions(&live);
    // Opening migrates an older schema and proves the file is usable.
    drop(Store::open(&live)?);
    Ok(summary)
}

/// Scheduled backups: `<data dir>/backups/motcua-<time>.redb`, keeping the
/// newest `keep`.
pub fn scheduled(store: &Store, data_dir: &Path, keep: usize) -> Result<PathBuf, BackupError> {
    let dir = data_dir.join("backups");
    crate::util::private_dir(&dir).map_err(|e| BackupError::Io(dir.clone(), e))?;
    let dest = dir.join(format!(
        "motcua-{}.redb",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    ));
    create(
        store,
        &data_dir.join("uploads"),
        &dest,
        &Progress::new("", true),
    )?;
    let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| BackupError::Io(dir.clone(), e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("motcua-") && n.ends_with(".redb"))
        })
        .collect();
    all.sort();
    // Leftovers of online backups (where the file could not be unlinked
    // while streaming, e.g. on Windows).
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|d| d.as_secs() > 3600);
            if old && e.file_name().to_string_lossy().starts_with(".online-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    while all.len() > keep.max(1) {
        let old = all.remove(0);
        let _ = std::fs::remove_file(old);
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_then_restore_round_trips_tables_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Store::open(&data.join("motcua.redb")).unwrap();
        store
            .write(|w| meta::set_flag(w, "hello", b"world"))
            .unwrap();
        std::fs::create_dir_all(data.join("uploads/id-scans/ab")).unwrap();
        std::fs::write(data.join("uploads/id-scans/ab/abc.pdf"), b"%PDF-1.4 test").unwrap();
        let file = dir.path().join("b.redb");
        let s = create(
            &store,
            &data.join("uploads"),
            &file,
            &Progress::new("", true),
        )
        .unwrap();
        assert_eq!(s.files, 1);
        drop(store);
        verify(&file).unwrap();
        let target = dir.path().join("restored");
        restore(&file, &target, &Progress::new("", true)).unwrap();
        let s2 = Store::open(&target.join("motcua.redb")).unwrap();
        assert_eq!(
            s2.read(|r| meta::get_flag(r, "hello")).unwrap(),
            Some(b"world".to_vec())
        );
        assert_eq!(
            std::fs::read(target.join("uploads/id-scans/ab/abc.pdf")).unwrap(),
            b"%PDF-1.4 test"
        );
    }

    #[test]
    fn refuses_what_is_not_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"hello").unwrap();
        assert!(matches!(verify(&junk), Err(BackupError::NotABackup(..))));
        // A plain database is not a backup either.
        let plain = dir.path().join("plain.redb");
        drop(Store::open(&plain).unwrap());
        assert!(matches!(verify(&plain), Err(BackupError::NotABackup(..))));
        assert!(restore(&junk, &dir.path().join("x"), &Progress::new("", true)).is_err());
        assert!(!dir.path().join("x/motcua.redb").exists());
    }

    #[test]
    fn scheduled_backups_keep_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("motcua.redb")).unwrap();
        for _ in 0..3 {
            scheduled(&store, dir.path(), 2).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let n = std::fs::read_dir(dir.path().join("backups"))
            .unwrap()
            .count();
        assert_eq!(n, 2);
    }
}
