use crate::domain::ScanKind;
use crate::store::{Store, StoreError};

use super::partition::{
    day_of, first_day_of_month, last_day_of_month, month_of, name_tokens, parse_day, words,
};
use super::scans::{
    add_pending, add_scan_ref, drop_scan_ref, expired_pending, note_lookup, remove_pending,
};
use super::search::{Query, search};
use super::{CitizenRecord, ScanRef, ensure_tables, insert};

fn rec(id: &str, name: &str, phone: &str, unit: u64, by: &str, at: i64) -> CitizenRecord {
    CitizenRecord {
        seq: 0,
        id_number: id.into(),
        full_name: name.into(),
        birth_date: "01/01/1990".into(),
        phone: phone.into(),
        email: None,
        unit,
        unit_name: format!("Đơn vị {unit}"),
        created_by: by.into(),
        created_by_name: match by {
            "ha" => "Phạm Thị Thúy Hà".into(),
            "lan" => "Trần Thị Lan".into(),
            _ => "Lê Văn Nam".into(),
        },
        created_by_phone: "0912000000".into(),
        created_at: at,
        scan: ScanRef {
            hash: "0".repeat(64),
            kind: ScanKind::Pdf,
            size: 1,
            file_name: "a.pdf".into(),
        },
        request_code: "X".into(),
    }
}

#[test]
fn days_and_months() {
    let t = crate::util::parse_day_start("26/11/2026").unwrap();
    let d = day_of(t);
    assert_eq!(parse_day("26/11/2026"), Some(d));
    assert_eq!(parse_day("2026-11-26"), Some(d));
    assert_eq!(day_of(t + 86_399), d);
    assert_eq!(day_of(t + 86_400), d + 1);
    let m = month_of(d);
    assert_eq!(first_day_of_month(m), parse_day("01/11/2026").unwrap());
    assert_eq!(last_day_of_month(m), parse_day("30/11/2026").unwrap());
    assert_eq!(
        last_day_of_month(month_of(parse_day("10/02/2028").unwrap())),
        parse_day("29/02/2028").unwrap()
    );
    assert_eq!(parse_day("31/02/2026"), None);
}

#[test]
fn words_fold_and_split() {
    assert_eq!(words("  Nguyễn   Văn A "), vec!["nguyen", "van", "a"]);
    assert_eq!(words("nguyễn, VĂN"), vec!["nguyen", "van"]);
    assert_eq!(
        name_tokens(&words("Lê Lê Na")),
        vec!["le", "na", "le le", "le na", "le le na"]
    );
}

/// Random accounts and queries, checked against a plain filter.
#[test]
fn search_agrees_with_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("db.redb")).unwrap();
    let mut rng: u64 = 42;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let family = ["Nguyễn", "Trần", "Lê", "Phạm"];
    let middle = ["Văn", "Thị", "Đức", "Thị Thu"];
    let given = ["An", "Bình", "Hà", "Lan", "A"];
    let creators = ["ha", "lan", "nam"];
    let base = crate::util::parse_day_start("20/10/2026").unwrap();
    let mut all = vec![];
    s.write(|w| {
        ensure_tables(w)?;
        for i in 0..1200u64 {
            let name = format!(
                "{} {} {}",
                family[next(4) as usize],
                middle[next(4) as usize],
                given[next(5) as usize]
            );
            let phone = format!("09120000{:02}", next(40));
            let unit = 1 + next(5);
            let by = creators[next(3) as usize];
            // ~70 days, several accounts a day, in time order.
            let at = base + (i as i64) * 4000;
            let mut r = rec(
                &format!("{:09}", 100_000_000 + i),
                &name,
                &phone,
                unit,
                by,
                at,
            );
            insert(w, &mut r)?;
            all.push(r);
        }
        Ok::<_, StoreError>(())
    })
    .unwrap();
    // Newest first.
    all.reverse();
    let day = |ts: i64| day_of(ts);
    let d0 = day(base);
    let name_queries: Vec<Vec<String>> = vec![
        vec![],
        words("nguyen"),
        words("thi"),
        words("Thị Thu"),
        words("nguyen thi thu ha"),
        words("thi thu ha"),
        words("le van"),
        words("van a"),
        words("le van a"),
        words("zzz"),
    ];
    for round in 0..300 {
        let q = Query {
            name: name_queries[round % name_queries.len()].clone(),
            phone: (next(4) == 0).then(|| format!("09120000{:02}", next(40))),
            id_number: (next(12) == 0).then(|| format!("{:09}", 100_000_000 + next(1600))),
            created_by: match next(6) {
                0 => Some("Thúy Hà".into()),
                1 => Some("lan".into()),
                2 => Some("thi".into()),
                _ => None,
            },
            units: match next(4) {
                0 => Some(vec![1 + next(5)]),
                1 => Some(vec![1, 3, 5]),
                _ => None,
            },
            day_from: (next(3) == 0).then(|| d0 + next(40) as u32),
            day_to: (next(3) == 0).then(|| d0 + 20 + next(60) as u32),
            offset: [0, 0, 5, 37, 200][next(5) as usize],
            limit: 20,
        };
        let want: Vec<&CitizenRecord> = all
            .iter()
            .filter(|r| {
                let folded = format!(" {} ", words(&r.full_name).join(" "));
                let cb = q.created_by.as_deref().map(|c| {
                    let n = words(c).join(" ");
                    words(&r.created_by_name).join(" ").contains(&n) || r.created_by == c
                });
                (q.name.is_empty() || folded.contains(&format!(" {} ", q.name.join(" "))))
                    && q.phone.as_ref().is_none_or(|p| *p == r.phone)
                    && q.id_number.as_ref().is_none_or(|i| *i == r.id_number)
                    && cb.unwrap_or(true)
                    && q.units.as_ref().is_none_or(|u| u.contains(&r.unit))
                    && q.day_from.is_none_or(|f| day(r.created_at) >= f)
                    && q.day_to.is_none_or(|t| day(r.created_at) <= t)
            })
            .collect();
        let got = s.read(|r| search(r, &q)).unwrap();
        assert_eq!(got.total, want.len() as u64, "total for {q:?}");
        let want_ids: Vec<&str> = want
            .iter()
            .skip(q.offset as usize)
            .take(20)
            .map(|r| r.id_number.as_str())
            .collect();
        let got_ids: Vec<&str> = got.items.iter().map(|h| h.row.id_number.as_str()).collect();
        assert_eq!(got_ids, want_ids, "page for {q:?}");
    }
}

#[test]
fn scan_refs_and_pending() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("db.redb")).unwrap();
    s.write(|w| {
        ensure_tables(w)?;
        add_scan_ref(w, "h1", "req:a")?;
        add_scan_ref(w, "h1", "req:b")?;
        assert!(!drop_scan_ref(w, "h1", "req:a")?);
        assert!(drop_scan_ref(w, "h1", "req:b")?);
        add_pending(w, 100, "a", "h1")?;
        add_pending(w, 300, "b", "h2")?;
        assert_eq!(
            expired_pending(w, 200, 10)?,
            vec![(100, "a".to_string(), "h1".to_string())]
        );
        remove_pending(w, 100, "a")?;
        assert!(expired_pending(w, 200, 10)?.is_empty());
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

#[test]
fn lookups_are_limited() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("db.redb")).unwrap();
    s.write(|w| {
        for i in 0..3 {
            assert_eq!(note_lookup(w, "ha", 1000 + i, 3, 600, 10)?, Ok(()));
        }
        assert_eq!(note_lookup(w, "ha", 1003, 3, 600, 10)?, Err(597));
        assert_eq!(note_lookup(w, "lan", 1003, 3, 600, 10)?, Ok(()));
        assert_eq!(note_lookup(w, "ha", 1600, 3, 600, 10)?, Ok(()));
        Ok::<_, StoreError>(())
    })
    .unwrap();
}
