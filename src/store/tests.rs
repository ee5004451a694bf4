use std::sync::Arc;

use super::table::prefix_end;
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
