//! Backups (issue 7): while the real server runs and keeps writing, `motcua
//! backup` takes a consistent copy; `motcua restore` puts it into a new data
//! dir; a server started there has every record acknowledged before the
//! backup began. (Uploaded files in backups: `backup::tests`.)

use crate::helpers::{admin_via_setup_link, free_port, unit_id_with_cookie, wait_healthy};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

fn serve(data: &std::path::Path, port: u16, log: &std::path::Path) -> std::process::Child {
    let out = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("serve")
        .env("MOTCUA_DATA_DIR", data)
        .env("MOTCUA_LISTEN", format!("127.0.0.1:{port}"))
        .env("MOTCUA_ARGON2_M_KIB", "1024")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

#[tokio::test]
async fn backup_under_write_load_restores_every_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let child = serve(&data, port, &dir.path().join("a.log"));
    wait_healthy(&http, &base).await;
    let log = std::fs::read_to_string(dir.path().join("a.log")).unwrap();
    let link = log
        .split_whitespace()
        .find(|w| w.contains("/quan-tri/thiet-lap/"))
        .unwrap()
        .to_string();
    let (cookie, csrf) = admin_via_setup_link(
        &http,
        &link,
        "Trần Văn Lưu",
        "0912000888",
        "Sao#Luu-HungYen26",
    )
    .await;
    let parent = unit_id_with_cookie(&http, &base, &cookie, "UBND huyện Văn Lâm").await;

    // A writer that keeps creating units, recording each acknowledged one.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop_flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (http, base, cookie, csrf, acked, stop_flag) = (
            http.clone(),
            base.clone(),
            cookie.clone(),
            csrf.clone(),
            acked.clone(),
            stop_flag.clone(),
        );
        tokio::spawn(async move {
            let mut i = 0;
            while !stop_flag.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let name = format!("Tổ công tác số {i}");
                let r = http
                    .post(format!("{base}/api/v1/units"))
                    .header("cookie", &cookie)
                    .header("x-csrf-token", &csrf)
                    .json(&json!({"name": name, "parent_id": parent}))
                    .send()
                    .await
                    .unwrap();
                if r.status() == 201 {
                    acked.lock().unwrap().push(name);
                }
            }
        })
    };
    // Let some writes land, then back up while the writer goes on.
    while acked.lock().unwrap().len() < 20 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let file = dir.path().join("backup.redb");
    let out = tokio::task::spawn_blocking({
        let data = data.clone();
        let file = file.clone();
        move || {
            Command::new(env!("CARGO_BIN_EXE_motcua"))
                .arg("backup")
                .arg("--out")
                .arg(&file)
                .env("MOTCUA_DATA_DIR", &data)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop_flag.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    let total = acked.lock().unwrap().len();
    stop(child);
    assert!(
        total > before.len(),
        "writes went on during the backup ({total} vs {})",
        before.len()
    );

    // Refuses junk, then restores into a new data dir.
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, b"not a backup").unwrap();
    let data2 = dir.path().join("restored");
    let r = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("restore")
        .arg(&junk)
        .env("MOTCUA_DATA_DIR", &data2)
        .output()
        .unwrap();
    assert!(!r.status.success());
    assert!(
        !data2.join("motcua.redb").exists(),
        "a refused restore writes nothing"
    );
    let r = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("restore")
        .arg(&file)
        .env("MOTCUA_DATA_DIR", &data2)
        .output()
        .unwrap();
    assert!(
        r.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );

    // A server on the restored dir has every unit acknowledged before the
    // backup began, and the admin can sign in with the same password.
    let port2 = free_port();
    let base2 = format!("http://127.0.0.1:{port2}");
    let child2 = serve(&data2, port2, &dir.path().join("b.log"));
    wait_healthy(&http, &base2).await;
    let link = {
        let out = Command::new(env!("CARGO_BIN_EXE_motcua"))
            .args(["admin", "setup-link", "--username", "quantri"])
            .env("MOTCUA_DATA_DIR", &data2)
            .output()
            .unwrap();
        // The database is held by the running server: the CLI must say so.
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(link.contains("in use"), "{link}");
    let r = http
        .post(format!("{base2}/api/v1/staff/login"))
        .json(&json!({"username": "quantri", "password": "Sao#Luu-HungYen26"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the restored admin signs in");
    // Read the units through the restored database after a clean stop.
    stop(child2);
    let store = motcua::store::Store::open(&data2.join("motcua.redb")).unwrap();
    let names: Vec<String> = store
        .read(motcua::store::units::all)
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    for n in &before {
        assert!(
            names.contains(n),
            "acknowledged before the backup but missing: {n}"
        );
    }
    eprintln!(
        "backup under load: {} acknowledged before, {} in total, {} restored units",
        before.len(),
        total,
        names.len()
    );
}

/// `backup --encrypt` through the real CLI: the passphrase from stdin for
/// an online backup (server running), from MOTCUA_BACKUP_PASSPHRASE for
/// restore; a wrong passphrase or one changed byte is refused with nothing
/// restored.
#[tokio::test]
async fn encrypted_backup_through_the_cli() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve(&data, port, &dir.path().join("serve.log"));
    wait_healthy(&reqwest::Client::new(), &base).await;
    let out = dir.path().join("enc.bak");
    let mut p = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .args(["backup", "--encrypt", "--out"])
        .arg(&out)
        .env("MOTCUA_DATA_DIR", &data)
        .env_remove("MOTCUA_BACKUP_PASSPHRASE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    p.stdin
        .take()
        .unwrap()
        .write_all(b"cum tu mat khau du dai\n")
        .unwrap();
    let o = p.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    stop(child);
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"MOTCUABK"));
    // The database copy is not readable inside: no unit name in clear.
    let hay = String::from_utf8_lossy(&bytes);
    assert!(!hay.contains("Văn Lâm") && !hay.contains("Van Lam"));

    let restore = |file: &std::path::Path, target: &std::path::Path, pass: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_motcua"));
        c.arg("restore").arg(file).env("MOTCUA_DATA_DIR", target);
        match pass {
            Some(p) => c.env("MOTCUA_BACKUP_PASSPHRASE", p),
            None => c.env_remove("MOTCUA_BACKUP_PASSPHRASE"),
        };
        c.stdin(Stdio::null()).output().unwrap()
    };
    let target = dir.path().join("restored");
    let o = restore(&out, &target, Some("not the passphrase"));
    assert!(!o.status.success());
    assert!(!target.join("motcua.redb").exists(), "nothing restored");
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x10;
    let bad_file = dir.path().join("bad.bak");
    std::fs::write(&bad_file, &bad).unwrap();
    let o = restore(&bad_file, &target, Some("cum tu mat khau du dai"));
    assert!(!o.status.success());
    assert!(!target.join("motcua.redb").exists(), "nothing restored");
    let o = restore(&out, &target, Some("cum tu mat khau du dai"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(target.join("motcua.redb").exists());
}
