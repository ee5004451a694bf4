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

fn holder(name: &str, pid: u32) -> lease::Lease {
    lease::Lease {
        pid,
        ..lease::Lease::mine(name, 0)
    }
}

#[test]
fn sms_claims_keep_jobs_from_others_until_they_run_out_or_the_holder_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("db.redb")).unwrap();
    let msg = sms::Outgoing {
        to: "0912345678",
        text: "Ma OTP 123456",
        kind: "otp",
        initiator: crate::sms::template::Initiator::Citizen,
        segments: 1,
    };
    s.write(|w| {
        sms::enqueue(w, &msg, 100)?;
        sms::enqueue(w, &msg, 100)
    })
    .unwrap();
    let me = std::process::id();
    let (a, b) = (holder("a", me), holder("b", me));
    let claim = |h: &lease::Lease, now: i64| {
        s.write(|w| sms::claim(w, h, now, 10))
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(claim(&a, 100), vec![1, 2]);
    // b, on the same database, gets nothing while a's claim runs.
    assert!(claim(&b, 101).is_empty());
    // a settles one; the other's claim runs out and b takes it.
    s.write(|w| sms::mark_sent(w, 1, 102, true)).unwrap();
    assert!(claim(&b, 100 + sms::CLAIM_SECS - 1).is_empty());
    assert_eq!(claim(&b, 100 + sms::CLAIM_SECS), vec![2]);
    // A claim of a process that is gone on this host is taken at once.
    let dead = holder("c", u32::MAX - 7);
    s.write(|w| {
        sms::mark_sent(w, 2, 131, true)?;
        sms::enqueue(w, &msg, 200)?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    assert_eq!(claim(&dead, 200), vec![3]);
    assert_eq!(claim(&a, 201), vec![3]);
}

#[test]
fn chat_claims_keep_a_chat_in_order_on_one_holder() {
    use crate::domain::Channel;
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("db.redb")).unwrap();
    let job = |peer: &'static str| outbox::NewJob {
        channel: Channel::Telegram,
        peer,
        conversation: "c",
        text: "x",
        buttons: vec![],
        lang: "vi",
    };
    s.write(|w| {
        outbox::enqueue(w, job("p1"), 100)?;
        outbox::enqueue(w, job("p2"), 100)
    })
    .unwrap();
    let me = std::process::id();
    let (a, b) = (holder("a", me), holder("b", me));
    let claim = |h: &lease::Lease, now: i64| {
        s.write(|w| outbox::claim(w, Channel::Telegram, h, now, 10))
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(claim(&a, 100), vec![1, 2]);
    // A new message to p1 while a sends p1's first: b must not overtake.
    s.write(|w| outbox::enqueue(w, job("p1"), 101)).unwrap();
    assert!(claim(&b, 101).is_empty());
    // a is done with p1: its next message goes to whoever claims.
    s.write(|w| {
        outbox::mark_sent(w, 1, 102)?;
        outbox::release_chat(w, Channel::Telegram, "p1")
    })
    .unwrap();
    assert_eq!(claim(&b, 102), vec![3]);
    // a dies on this host with p2 claimed: taken over at once.
    let dead = holder("a", u32::MAX - 7);
    s.write(|w| {
        let k = {
            let mut k = vec![Channel::Telegram.byte()];
            k.extend_from_slice(b"p2");
            k
        };
        let mut c = outbox::CLAIMED_CHATS.get(w, &k)?.unwrap();
        c.by = lease::Lease {
            until: c.by.until,
            ..dead.clone()
        };
        outbox::CLAIMED_CHATS.put(w, &k, &c)
    })
    .unwrap();
    assert_eq!(claim(&b, 103), vec![2]);
}
