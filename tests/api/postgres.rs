//! The PostgreSQL engine's own contract (issue 17): the one-command move
//! from redb (`motcua migrate --to`), backup and restore on PostgreSQL, and
//! 503 while the database is down with recovery when it returns. These need
//! PostgreSQL's programs: they run on the test command's PostgreSQL pass
//! (`MOTCUA_TEST_DATABASE_URL`, see `.ci/test.sh`) and say so and return on
//! the redb pass.

use std::path::Path;
use std::process::Command;

use crate::helpers::*;

/// A fresh empty database on the pass's cluster.
fn fresh_database() -> String {
    let dir = tempfile::tempdir().unwrap();
    crate::engine::database_for(dir.path()).unwrap()
}

fn motcua(data: &Path, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(args)
        .env("MOTCUA_DATA_DIR", data)
        .env_remove("MOTCUA_DATABASE_URL")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Accounts in a store, by username.
fn usernames(store: &motcua::store::Store) -> Vec<String> {
    store
        .read(|r| motcua::store::accounts::ACCOUNTS.all(r))
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect()
}

#[tokio::test]
async fn migrate_moves_a_redb_office_into_an_empty_postgres_and_refuses_a_full_one() {
    if !crate::engine::postgres_pass_only("migrate") {
        return;
    }
    // A redb office with its admin.
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = motcua::config::Config::for_tests(dir.path());
    cfg.database_url = None;
    let app = motcua::app::App::open(cfg).unwrap();
    motcua::flows::setup::create_superadmin(&app, ADMIN, ADMIN_PHONE, ADMIN_PASSWORD)
        .await
        .unwrap();
    let before = usernames(&app.store);
    let units_before = app.tree().len();
    drop(app);
    assert!(before.contains(&ADMIN.to_string()));
    // A scanned ID kept as a file by the redb office.
    let scan = motcua::upload::samples::pdf();
    let hash = motcua::upload::store(dir.path(), &scan).unwrap();

    let url = fresh_database();
    let (ok, out, err) = motcua(dir.path(), &[], &["migrate", "--to", &url]);
    assert!(ok, "migrate failed: {err}");
    assert!(out.contains("Copied"), "{out}");
    assert!(out.contains("1 scanned IDs"), "{out}");
    let moved = motcua::store::Store::open_postgres(&url, &dir.path().join("x"))
        .unwrap()
        .read(|r| motcua::store::scans::get(r, &hash))
        .unwrap();
    assert_eq!(
        moved.as_deref(),
        Some(scan.as_slice()),
        "the scan is in the database"
    );

    // The server on PostgreSQL has the office: the admin signs in.
    let t = spawn_app_with(|c| c.database_url = Some(url.clone())).await;
    assert_eq!(usernames(&t.app.store), before);
    assert_eq!(t.app.tree().len(), units_before);
    let token = t.staff_token(ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    assert!(!token.is_empty());
    t.stop().await;

    // A second migrate into the same (now full) database is refused and
    // changes nothing.
    let (ok, _, err) = motcua(dir.path(), &[], &["migrate", "--to", &url]);
    assert!(!ok);
    assert!(err.contains("already holds data"), "{err}");
    let store = motcua::store::Store::open_postgres(&url, &dir.path().join("x")).unwrap();
    assert_eq!(usernames(&store), before);
}

#[tokio::test]
async fn backup_on_postgres_restores_into_another_postgres_and_into_redb() {
    if !crate::engine::postgres_pass_only("backup/restore") {
        return;
    }
    let t = spawn_app().await;
    t.create_superadmin().await;
    let url = crate::engine::database_for(t.dir.path()).unwrap();
    let names = usernames(&t.app.store);
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("all.bak");
    // Backup while the server runs on PostgreSQL.
    let (ok, out, err) = motcua(
        t.dir.path(),
        &[("MOTCUA_DATABASE_URL", &url)],
        &["backup", "--out", file.to_str().unwrap()],
    );
    assert!(ok, "backup failed: {err}");
    assert!(out.contains("Backup written"), "{out}");
    t.stop().await;

    // Into another PostgreSQL database.
    let other = fresh_database();
    let data2 = tempfile::tempdir().unwrap();
    let (ok, out, err) = motcua(
        data2.path(),
        &[("MOTCUA_DATABASE_URL", &other)],
        &["restore", file.to_str().unwrap()],
    );
    assert!(ok, "restore failed: {err}");
    assert!(out.contains("Restored"), "{out}");
    let store = motcua::store::Store::open_postgres(&other, &data2.path().join("x")).unwrap();
    assert_eq!(usernames(&store), names);
    drop(store);

    // Restoring again over data keeps that data as a backup first.
    let (ok, _, err) = motcua(
        data2.path(),
        &[("MOTCUA_DATABASE_URL", &other)],
        &["restore", file.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    assert!(err.contains("saved it first"), "{err}");
    let kept = std::fs::read_dir(data2.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("motcua-before-restore-")
        })
        .count();
    assert_eq!(kept, 1);

    // The same file restores into a redb data dir (same format).
    let data3 = tempfile::tempdir().unwrap();
    let (ok, _, err) = motcua(data3.path(), &[], &["restore", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let store = motcua::store::Store::open(&data3.path().join("motcua.redb")).unwrap();
    assert_eq!(usernames(&store), names);
}

/// `.ci/postgres.sh` on a cluster of this test's own.
fn cluster(cmd: &str, dir: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/postgres.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(cmd)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "postgres.sh {cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn a_database_outage_answers_503_in_vietnamese_and_recovers_by_itself() {
    if !crate::engine::postgres_pass_only("outage") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let cl = root.path().join("cluster");
    let url = cluster("start", &cl);
    let t = spawn_app_with(|c| c.database_url = Some(url.clone())).await;
    t.create_superadmin().await;
    let get = |p: &'static str| {
        let http = t.http.clone();
        let u = t.url(p);
        async move {
            let r = http.get(u).send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.text().await.unwrap())
        }
    };
    assert_eq!(get("/healthz").await.0, 200);

    cluster("pause", &cl);
    let (s, body) = get("/healthz").await;
    assert_eq!(s, 503, "{body}");
    // A person signing in meets a clear Vietnamese page, not a 500.
    let r = t
        .http
        .post(t.url("/api/v1/staff/login"))
        .json(&serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let (s, page) = get("/quan-tri/dang-nhap?tiep=%2Fquan-tri").await;
    if s != 200 {
        assert_eq!(s, 503, "{page}");
        assert!(page.contains("Hệ thống tạm thời gián đoạn"), "{page}");
    }

    cluster("resume", &cl);
    let mut healthy = false;
    for _ in 0..50 {
        if get("/healthz").await.0 == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(healthy, "did not recover after the database returned");
    let token = t.staff_token(ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    assert!(!token.is_empty());
    t.stop().await;
    cluster("stop", &cl);
}

#[tokio::test]
async fn connections_the_server_dropped_are_replaced_without_an_error() {
    if !crate::engine::postgres_pass_only("dropped connections") {
        return;
    }
    let t = spawn_app().await;
    t.create_superadmin().await;
    let url = crate::engine::database_for(t.dir.path()).unwrap();
    let login = || async {
        t.http
            .post(t.url("/api/v1/staff/login"))
            .json(&serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(login().await, 200);
    for round in 0..3 {
        // What a failover or an administrator's restart does to the pool.
        let out = Command::new("psql")
            .args([
                url.as_str(),
                "-qAtc",
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = 'motcua' AND pid <> pg_backend_pid()",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let killed: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(killed >= 1, "round {round}: no connection to drop");
        assert_eq!(login().await, 200, "round {round}: sign-in after the drop");
        assert_eq!(
            t.http.get(t.url("/healthz")).send().await.unwrap().status(),
            200
        );
    }
}

#[tokio::test]
async fn a_unit_added_by_one_process_reaches_another_on_the_same_database_within_a_second() {
    if !crate::engine::postgres_pass_only("unit tree version") {
        return;
    }
    let a = spawn_app().await;
    a.create_superadmin().await;
    let url = crate::engine::database_for(a.dir.path()).unwrap();
    let b = spawn_app_with(|c| c.database_url = Some(url.clone())).await;
    let before = b.app.tree().len();
    let token = a.staff_token(ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    let parent = a.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let (s, v) = a
        .post_json(
            "/api/v1/units",
            Some(&token),
            &serde_json::json!({"name": "Tổ một cửa lưu động", "parent_id": parent}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(a.app.tree().len(), before + 1);
    let started = std::time::Instant::now();
    while b.app.tree().len() == before {
        assert!(
            started.elapsed() < std::time::Duration::from_millis(1500),
            "the other process still has the old unit tree"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    eprintln!(
        "unit tree reached the other process in {:?}",
        started.elapsed()
    );
    assert_eq!(b.app.tree().len(), before + 1);
}

/// Engines that are always SERIALIZABLE (CockroachDB) abort conflicting
/// transactions with SQLSTATE 40001; PostgreSQL does too once the
/// database's default isolation is SERIALIZABLE. Concurrent
/// read-modify-writes of one counter then still all count, none fails.
#[tokio::test]
async fn writes_aborted_as_serialization_failures_run_again() {
    if !crate::engine::postgres_pass_only("40001 retries") {
        return;
    }
    let url = fresh_database();
    let name = url.rsplit('/').next().unwrap();
    let out = Command::new("psql")
        .args([
            url.as_str(),
            "-qc",
            &format!("ALTER DATABASE {name} SET default_transaction_isolation TO 'serializable'"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        motcua::store::Store::open_postgres(&url, &dir.path().join("x")).unwrap(),
    );
    const COUNTER: motcua::store::Table<u64> = motcua::store::Table::new("test_counter");
    let tries = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (store, tries) = (store.clone(), tries.clone());
            std::thread::spawn(move || {
                for _ in 0..20 {
                    store
                        .write(|w| {
                            tries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let n = COUNTER.get(w, "n")?.unwrap_or(0);
                            COUNTER.put(w, "n", &(n + 1))
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n = store.read(|r| COUNTER.get(r, "n")).unwrap();
    assert_eq!(n, Some(120), "every increment counted once");
    let tries = tries.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("120 increments took {tries} attempts");
    assert!(
        tries > 120,
        "the database aborted some (else this tests nothing)"
    );
}

/// The schema rule of redb holds on PostgreSQL: an older schema is
/// migrated on start, a newer one (a later motcua wrote it) is refused.
#[tokio::test]
async fn an_older_schema_is_migrated_and_a_newer_one_refused() {
    if !crate::engine::postgres_pass_only("schema versions") {
        return;
    }
    use motcua::store::{SCHEMA_VERSION, Store, StoreError, meta};
    let url = fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x");
    let set = |v: u32| {
        let s = Store::open_postgres(&url, &path).unwrap();
        s.write(|w| meta::set_schema_version(w, v)).unwrap();
    };
    set(SCHEMA_VERSION - 1);
    let s = Store::open_postgres(&url, &path).unwrap();
    assert_eq!(s.read(meta::schema_version).unwrap(), Some(SCHEMA_VERSION));
    drop(s);
    set(SCHEMA_VERSION + 1);
    assert!(matches!(
        Store::open_postgres(&url, &path),
        Err(StoreError::TooNew { .. })
    ));
}
