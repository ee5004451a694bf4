//! Backups: a consistent copy of every table (from one read snapshot) plus
//! the uploaded files, in one redb database, sealed in an envelope
//! (`envelope`) with a checksum over the whole file and its sections, and
//! encrypted when a passphrase is given. `restore` checks everything (and
//! decrypts) into a new file before touching anything.

use std::io::Write;
use std::path::{Path, PathBuf};

pub mod envelope;

use crate::store::archive::{ArchiveReader, ArchiveWriter};
use crate::store::{SCHEMA_VERSION, Store, StoreError};

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
    #[error("{0}: {1}")]
    Envelope(PathBuf, envelope::EnvelopeError),
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
    passphrase: Option<&str>,
) -> Result<Summary, BackupError> {
    let raw = dest.with_extension("copying");
    let _ = std::fs::remove_file(&raw);
    let r = create_raw(store, uploads, &raw, progress).and_then(|summary| {
        let header = envelope::Header {
            format: 0,
            created_at: chrono::Utc::now().to_rfc3339(),
            schema_version: SCHEMA_VERSION,
            tool: concat!("motcua ", env!("CARGO_PKG_VERSION")).into(),
            payload_len: 0,
            payload_sha256: String::new(),
            encryption: None,
        };
        envelope::seal(&raw, dest, header, passphrase)
            .map_err(|e| BackupError::Envelope(dest.to_path_buf(), e))?;
        crate::store::restrict_permissions(dest);
        Ok(summary)
    });
    let _ = std::fs::remove_file(&raw);
    r
}

/// The database copy (tables + files) a backup seals.
fn create_raw(
    store: &Store,
    uploads: &Path,
    dest: &Path,
    progress: &Progress,
) -> Result<Summary, BackupError> {
    let (mut out, records) = ArchiveWriter::create(store, dest)?;
    let mut files = vec![];
    walk(uploads, &mut files);
    let mut summary = Summary {
        records,
        ..Default::default()
    };
    for (i, f) in files.iter().enumerate() {
        let rel = f
            .strip_prefix(uploads)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(f).map_err(|e| BackupError::Io(f.clone(), e))?;
        summary.bytes += bytes.len() as u64;
        out.add_file(&rel, &bytes)?;
        summary.files += 1;
        progress.update(i as u64 + 1, files.len() as u64);
    }
    let created = chrono::Utc::now().to_rfc3339();
    let version = SCHEMA_VERSION.to_string();
    out.finish(&[
        ("created_at", created.as_str()),
        ("schema_version", version.as_str()),
        ("tool", concat!("motcua ", env!("CARGO_PKG_VERSION"))),
    ])?;
    crate::store::restrict_permissions(dest);
    Ok(summary)
}

/// Checks that `file` is a backup this build can restore (its checksums,
/// its passphrase when encrypted, and the database inside); returns its
/// creation time and schema version. Nothing is written but a temporary
/// copy, removed again.
pub fn verify(file: &Path, passphrase: Option<&str>) -> Result<(String, u32), BackupError> {
    let tmp =
        std::env::temp_dir().join(format!("motcua-verify-{}.redb", crate::util::random_hex(8)));
    let r = unpack(file, &tmp, passphrase).and_then(|()| check_copy(file, &tmp));
    let _ = std::fs::remove_file(&tmp);
    r
}

/// Restores a backup made before backups carried a checksum (a bare redb
/// copy), at the operator's explicit request (`restore --unverified`).
pub fn restore_unverified(
    file: &Path,
    data_dir: &Path,
    progress: &Progress,
    database: Option<&Store>,
) -> Result<Summary, BackupError> {
    match envelope::header(file) {
        Err(envelope::EnvelopeError::Legacy) => {}
        Ok(_) => {
            return Err(BackupError::NotABackup(
                file.to_path_buf(),
                "it carries a checksum: restore it without --unverified".into(),
            ));
        }
        Err(e) => return Err(BackupError::Envelope(file.to_path_buf(), e)),
    }
    crate::util::private_dir(data_dir).map_err(|e| BackupError::Io(data_dir.to_path_buf(), e))?;
    check_copy(file, file)?;
    restore_copy(file, file, data_dir, progress, database)
}

/// Seals the database copy inside the plain backup `plain` again into
/// `dest`, encrypted with `passphrase` (for online backups, which the
/// server sends plain over loopback).
pub fn reseal(plain: &Path, dest: &Path, passphrase: &str) -> Result<(), BackupError> {
    let raw = dest.with_extension("copying");
    let r = unpack(plain, &raw, None).and_then(|()| {
        let mut h =
            envelope::header(plain).map_err(|e| BackupError::Envelope(plain.to_path_buf(), e))?;
        h.encryption = None;
        envelope::seal(&raw, dest, h, Some(passphrase))
            .map_err(|e| BackupError::Envelope(dest.to_path_buf(), e))
    });
    let _ = std::fs::remove_file(&raw);
    crate::store::restrict_permissions(dest);
    r
}

/// Whether `file` is sealed with a passphrase (`None`: not a readable backup).
pub fn is_encrypted(file: &Path) -> Option<bool> {
    envelope::header(file).ok().map(|h| h.encryption.is_some())
}

/// Checks the envelope of `file` and writes the database copy to `out`.
fn unpack(file: &Path, out: &Path, passphrase: Option<&str>) -> Result<(), BackupError> {
    if !file.is_file() {
        return Err(BackupError::NotABackup(
            file.to_path_buf(),
            "no such file".into(),
        ));
    }
    envelope::open(file, out, passphrase)
        .map(|_| ())
        .map_err(|e| match e {
            envelope::EnvelopeError::NotABackup => {
                BackupError::NotABackup(file.to_path_buf(), "it is not a motcua backup".into())
            }
            other => BackupError::Envelope(file.to_path_buf(), other),
        })
}

/// Checks the database copy `copy` unpacked from `file`.
fn check_copy(file: &Path, copy: &Path) -> Result<(String, u32), BackupError> {
    let not = |why: &str| BackupError::NotABackup(file.to_path_buf(), why.to_string());
    let d = ArchiveReader::open(copy).map_err(|e| not(&e))?;
    if !d.has_header() {
        return Err(not("it has no backup header"));
    }
    let created = d
        .info("created_at")
        .map_err(|e| not(&e.to_string()))?
        .ok_or_else(|| not("it has no creation time"))?;
    let version = d
        .schema_version()
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
/// With `database` (PostgreSQL), the tables go there instead, replacing
/// everything in one transaction; uploads still go to `data_dir`.
pub fn restore(
    file: &Path,
    data_dir: &Path,
    progress: &Progress,
    passphrase: Option<&str>,
    database: Option<&Store>,
) -> Result<Summary, BackupError> {
    crate::util::private_dir(data_dir).map_err(|e| BackupError::Io(data_dir.to_path_buf(), e))?;
    // Everything is checked (and decrypted) into a new file first.
    let unpacked = data_dir.join("motcua.redb.unpacking");
    let _ = std::fs::remove_file(&unpacked);
    unpack(file, &unpacked, passphrase)?;
    let r = check_copy(file, &unpacked)
        .and_then(|_| restore_copy(&unpacked, file, data_dir, progress, database));
    let _ = std::fs::remove_file(&unpacked);
    r
}

/// Restores from a checked database copy.
fn restore_copy(
    copy: &Path,
    file: &Path,
    data_dir: &Path,
    progress: &Progress,
    database: Option<&Store>,
) -> Result<Summary, BackupError> {
    let live = data_dir.join("motcua.redb");
    if database.is_none() && live.exists() {
        // Refuses while a server holds the database.
        let s = Store::open(&live)?;
        drop(s);
    }
    let tmp = data_dir.join("motcua.redb.restoring");
    let _ = std::fs::remove_file(&tmp);
    let src = ArchiveReader::open(copy).map_err(BackupError::Db)?;
    let records = match database {
        Some(db) => src.restore_into(db, |_, _| {})?,
        None => src.restore_tables(&tmp)?,
    };
    let mut summary = Summary {
        records,
        ..Default::default()
    };
    let uploads = data_dir.join("uploads");
    let total = src.file_count()?;
    let mut i = 0;
    src.for_each_file(|rel, bytes| {
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
        std::fs::write(&dest, bytes).map_err(|e| BackupError::Io(dest.clone(), e))?;
        crate::store::restrict_permissions(&dest);
        summary.files += 1;
        summary.bytes += bytes.len() as u64;
        i += 1;
        progress.update(i, total);
        Ok(())
    })?;
    if let Some(db) = database {
        publish_faq_file(db, data_dir)?;
        return Ok(summary);
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
    let restored = Store::open(&live)?;
    publish_faq_file(&restored, data_dir)?;
    drop(restored);
    Ok(summary)
}

/// `faq match` reads the published knowledge-base version from a file that
/// `serve` keeps; make it the restored one.
fn publish_faq_file(restored: &Store, data_dir: &Path) -> Result<(), BackupError> {
    let (version, overlay) = match restored.read(crate::store::faq::latest)? {
        Some(v) => (v.version, v.overlay().unwrap_or_default()),
        None => (0, Default::default()),
    };
    crate::app::write_published_file(data_dir, version, &overlay);
    Ok(())
}

/// Scheduled backups: `<data dir>/backups/motcua-<time>.redb`, keeping the
/// newest `keep`.
pub fn scheduled(
    store: &Store,
    data_dir: &Path,
    keep: usize,
    passphrase: Option<&str>,
) -> Result<PathBuf, BackupError> {
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
        passphrase,
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
    use crate::store::meta;

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
            None,
        )
        .unwrap();
        assert_eq!(s.files, 1);
        drop(store);
        verify(&file, None).unwrap();
        let target = dir.path().join("restored");
        restore(&file, &target, &Progress::new("", true), None, None).unwrap();
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

    /// The probe's case: one changed byte in a backup (here: in every
    /// eighth position of the database copy's region) is refused before the
    /// data dir is touched; an encrypted backup restores with its passphrase
    /// only.
    #[test]
    fn a_changed_byte_is_refused_and_nothing_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = Store::open(&data.join("motcua.redb")).unwrap();
        store
            .write(|w| meta::set_flag(w, "who", b"an account"))
            .unwrap();
        let plain = dir.path().join("plain.bak");
        let sealed = dir.path().join("sealed.bak");
        create(
            &store,
            &data.join("uploads"),
            &plain,
            &Progress::new("", true),
            None,
        )
        .unwrap();
        create(
            &store,
            &data.join("uploads"),
            &sealed,
            &Progress::new("", true),
            Some("long passphrase 2026"),
        )
        .unwrap();
        drop(store);
        let target = dir.path().join("live");
        restore(&plain, &target, &Progress::new("", true), None, None).unwrap();
        let before = std::fs::read(target.join("motcua.redb")).unwrap();
        let good = std::fs::read(&plain).unwrap();
        for pos in (0..good.len()).step_by((good.len() / 40).max(1)) {
            let mut bad = good.clone();
            bad[pos] = bad[pos].wrapping_add(1);
            let f = dir.path().join("bad.bak");
            std::fs::write(&f, &bad).unwrap();
            assert!(verify(&f, None).is_err(), "byte {pos}");
            assert!(
                restore(&f, &target, &Progress::new("", true), None, None).is_err(),
                "byte {pos}"
            );
            assert_eq!(std::fs::read(target.join("motcua.redb")).unwrap(), before);
        }
        assert!(restore(&sealed, &target, &Progress::new("", true), None, None).is_err());
        assert!(
            restore(
                &sealed,
                &target,
                &Progress::new("", true),
                Some("wrong passphrase x"),
                None,
            )
            .is_err()
        );
        assert_eq!(std::fs::read(target.join("motcua.redb")).unwrap(), before);
        restore(
            &sealed,
            &target,
            &Progress::new("", true),
            Some("long passphrase 2026"),
            None,
        )
        .unwrap();
        let s = Store::open(&target.join("motcua.redb")).unwrap();
        assert_eq!(
            s.read(|r| meta::get_flag(r, "who")).unwrap(),
            Some(b"an account".to_vec())
        );
    }

    #[test]
    fn refuses_what_is_not_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"hello").unwrap();
        assert!(matches!(
            verify(&junk, None),
            Err(BackupError::NotABackup(..))
        ));
        // A plain database is not a backup either.
        let plain = dir.path().join("plain.redb");
        drop(Store::open(&plain).unwrap());
        assert!(verify(&plain, None).is_err());
        assert!(
            restore(
                &junk,
                &dir.path().join("x"),
                &Progress::new("", true),
                None,
                None
            )
            .is_err()
        );
        assert!(!dir.path().join("x/motcua.redb").exists());
    }

    #[test]
    fn scheduled_backups_keep_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("motcua.redb")).unwrap();
        for _ in 0..3 {
            scheduled(&store, dir.path(), 2, None).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let n = std::fs::read_dir(dir.path().join("backups"))
            .unwrap()
            .count();
        assert_eq!(n, 2);
    }
}
