//! Issue 15: body caps (every JSON and form
//! route stops reading at `MOTCUA_MAX_JSON_BYTES`, memory stays bounded
//! under oversized bodies), `/metrics` for loopback or a bearer token, and
//! owner-only data folders.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

/// Sends a raw HTTP/1.1 POST with a body of `total` bytes, either with a
/// `Content-Length` or chunked; stops when the server stops reading, and
/// returns the status line the server answered (if any).
async fn raw_post(addr: &str, path: &str, total: usize, chunked: bool) -> Option<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let head = if chunked {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
    } else {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n"
        )
    };
    s.write_all(head.as_bytes()).await.ok()?;
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0;
    let (mut rd, mut wr) = s.into_split();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(30), rd.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        text.lines().next().map(str::to_string)
    });
    while sent < total {
        let r = if chunked {
            let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
            framed.extend_from_slice(&chunk);
            framed.extend_from_slice(b"\r\n");
            wr.write_all(&framed).await
        } else {
            wr.write_all(&chunk).await
        };
        if r.is_err() {
            break;
        }
        sent += chunk.len();
        if reader.is_finished() {
            break;
        }
    }
    drop(wr);
    reader.await.ok().flatten()
}

#[tokio::test]
async fn oversized_bodies_get_413_json_and_small_ones_pass() {
    let t = spawn_app().await;
    let big = "x".repeat(100 * 1024);
    for path in ["/api/v1/chat", "/api/v1/login", "/api/v1/staff/login"] {
        let r = t
            .http
            .post(t.url(path))
            .header("content-type", "application/json")
            .body(json!({"text": big, "username": big}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "too_large", "{path}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("quá lớn"));
    }
    // Chunked, with no length: cut off at the cap.
    let status = raw_post(&t.addr.to_string(), "/api/v1/chat", 2 * 1024 * 1024, true).await;
    assert!(
        status.as_deref().is_some_and(|s| s.contains(" 413 ")),
        "{status:?}"
    );
    // A page form that is too large: a Vietnamese page, 413.
    let r = t
        .http
        .post(t.url("/dang-nhap"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("lang=\"vi\""));
    // A normal message still works.
    let (s, v) = t
        .post_json("/api/v1/chat", None, &json!({"text": "quên mật khẩu"}))
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn the_cap_follows_the_setting() {
    let t = spawn_app_with(|c| c.max_json_bytes = 2048).await;
    let (s, _) = t
        .post_json("/api/v1/chat", None, &json!({"text": "a".repeat(3000)}))
        .await;
    assert_eq!(s, 413);
    let (s, _) = t
        .post_json("/api/v1/chat", None, &json!({"text": "a".repeat(500)}))
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn metrics_answer_loopback_or_the_token() {
    let t = spawn_app().await;
    let r = t.http.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200, "loopback, no token set");
    assert!(r.text().await.unwrap().contains("motcua_"));
    let t = spawn_app_with(|c| c.metrics_token = Some("tok-metrics-123".into())).await;
    let r = t.http.get(t.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401, "the token is needed once set");
    let r = t
        .http
        .get(t.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = t
        .http
        .get(t.url("/metrics"))
        .bearer_auth("tok-metrics-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[cfg(unix)]
#[tokio::test]
async fn data_folders_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A data dir made by an older version: 0755 folders.
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("uploads/id-scans/ab")).unwrap();
    for d in [
        &data,
        &data.join("uploads"),
        &data.join("uploads/id-scans/ab"),
    ] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let d2 = data.clone();
    let t = spawn_in(dir, move |c| c.data_dir = d2).await;
    let _kept = t.stop().await;
    let dir2 = tempfile::tempdir().unwrap();
    let cfg_dir = dir2.path().join("fresh");
    let t2 = spawn_in(dir2, |c| c.data_dir = cfg_dir.clone()).await;
    for d in [
        data.clone(),
        data.join("uploads"),
        data.join("uploads/id-scans/ab"),
        cfg_dir.clone(),
    ] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    drop(t2);
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Four parallel 150 MB bodies (two with a length, two chunked) against
/// the real binary: RSS may not rise by more than 20 MB.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn four_parallel_150mb_bodies_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("serve")
        .env("MOTCUA_DATA_DIR", dir.path().join("data"))
        .env("MOTCUA_LISTEN", format!("127.0.0.1:{port}"))
        .env("MOTCUA_ARGON2_M_KIB", "1024")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&reqwest::Client::new(), &base).await;
    // Warm up: a few ordinary requests.
    for _ in 0..5 {
        let _ = reqwest::Client::new()
            .post(format!("{base}/api/v1/chat"))
            .json(&json!({"text": "quên mật khẩu"}))
            .send()
            .await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id();
    let before = rss_kb(pid);
    let addr = format!("127.0.0.1:{port}");
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        for _ in 0..400 {
            peak = peak.max(rss_kb(pid));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        peak
    });
    let mut attacks = vec![];
    for (i, path) in [
        "/api/v1/chat",
        "/api/v1/login",
        "/api/v1/chat",
        "/api/v1/login",
    ]
    .into_iter()
    .enumerate()
    {
        let addr = addr.clone();
        attacks.push(tokio::spawn(async move {
            raw_post(&addr, path, 150 * 1024 * 1024, i % 2 == 1).await
        }));
    }
    for a in attacks {
        let status = a.await.unwrap();
        assert!(
            status.as_deref().is_none_or(|s| s.contains(" 413 ")),
            "{status:?}"
        );
    }
    let peak = sampler.await.unwrap();
    let after = rss_kb(pid);
    let _ = child.kill();
    let _ = child.wait();
    eprintln!("RSS before {before} kB, peak {peak} kB, after {after} kB");
    assert!(
        peak.saturating_sub(before) <= 20 * 1024,
        "RSS rose from {before} kB to {peak} kB"
    );
}

/// As docs/design/permissions.md says: a ticket page answers 403 to staff
/// who hold `support.manage` nowhere, 404 to those who hold it elsewhere.
#[tokio::test]
async fn ticket_pages_answer_403_without_the_permission_and_404_elsewhere() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let (_, v) = t
        .post_json("/api/v1/chat", None, &json!({"text": "quên mật khẩu"}))
        .await;
    let conv = v["conversation_id"].as_str().unwrap().to_string();
    let (s, v) = t
        .post_json(&format!("/api/v1/chat/{conv}/handoff"), None, &json!({}))
        .await;
    assert_eq!(s, 201, "{v}");
    let ticket = v["ticket_id"].as_u64().unwrap();
    let unit = t.unit_id("Sở Tư pháp").await;
    let none = t
        .staff_with(
            &admin,
            "khong.hotro",
            "0988000666",
            "033185000606",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    let elsewhere = t
        .staff_with(
            &admin,
            "hotro.tuphap",
            "0988000777",
            "033185000707",
            unit,
            &["support.manage"],
        )
        .await;
    let get = |tok: String| {
        let t = &t;
        async move {
            t.http
                .get(t.url(&format!("/quan-tri/ho-tro/{ticket}")))
                .bearer_auth(tok)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get(none).await, 403);
    assert_eq!(get(elsewhere).await, 404);
    assert_eq!(get(admin).await, 200);
}
