//! Which storage engine the tests run on. By default the embedded redb in
//! each test's data dir; with `MOTCUA_TEST_DATABASE_URL` set (the test
//! command sets it for its second pass, see `.ci/test.sh` and
//! `.ci/postgres.sh`), PostgreSQL: one fresh database per data dir, created
//! on first use and remembered in the dir, so that a restart in the same dir
//! finds the same data.

use std::path::Path;

/// The database URL for a test's data dir, or `None` for redb.
pub fn database_for(dir: &Path) -> Option<String> {
    let base = std::env::var("MOTCUA_TEST_DATABASE_URL").ok()?;
    let marker = dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url);
    }
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).unwrap();
    let name = format!("t_{}", hex::encode(id));
    let out = std::process::Command::new("psql")
        .args([base.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql (install postgresql-client, or unset MOTCUA_TEST_DATABASE_URL)");
    assert!(
        out.status.success(),
        "CREATE DATABASE failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => format!("{}/{name}", &base[..i]),
        _ => panic!("MOTCUA_TEST_DATABASE_URL must end with /<database>"),
    };
    std::fs::write(&marker, &url).unwrap();
    Some(url)
}

/// For tests that need PostgreSQL: true on its pass; on the redb pass it
/// says so (the caller returns).
pub fn postgres_pass_only(test: &str) -> bool {
    if is_postgres() {
        return true;
    }
    eprintln!("{test}: runs on the PostgreSQL pass only (MOTCUA_TEST_DATABASE_URL)");
    false
}

/// Whether this pass runs on PostgreSQL.
pub fn is_postgres() -> bool {
    std::env::var("MOTCUA_TEST_DATABASE_URL").is_ok()
}

/// Opens the store of a test's data dir on this pass's engine (the server
/// must be stopped when it is redb).
pub fn open_store(dir: &Path) -> motcua::store::Store {
    let path = dir.join("motcua.redb");
    match database_for(dir) {
        Some(url) => motcua::store::Store::open_postgres(&url, &path).unwrap(),
        None => motcua::store::Store::open(&path).unwrap(),
    }
}

/// The PostgreSQL store of a test's data dir on the PostgreSQL pass (what a
/// restore replaces there); `None` on the redb pass.
pub fn database_store(dir: &Path) -> Option<motcua::store::Store> {
    database_for(dir)
        .map(|url| motcua::store::Store::open_postgres(&url, &dir.join("motcua.redb")).unwrap())
}

/// The environment that puts a child `motcua` process on this pass's
/// engine for a data dir (nothing on the redb pass).
pub fn child_env(dir: &Path) -> Vec<(&'static str, String)> {
    database_for(dir)
        .map(|url| vec![("MOTCUA_DATABASE_URL", url)])
        .unwrap_or_default()
}
