//! Issue 15 items 3–5: CSRF tokens bound to the session, limits that
//! survive a restart, and no staff lock-out by strangers.

use std::process::{Child, Stdio};

use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, ADMIN_PASSWORD, ADMIN_PHONE, SmsReceiver, TestApp, captcha_in, cookie_pair, csrf_in,
    free_port, location, serve_command, spawn_app_with, wait_healthy,
};
use motcua::flows::sign_in::Audience;

/// All `Set-Cookie` headers of a response.
fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// Signs the admin in through the console's forms as a browser at `ip`
/// (X-Forwarded-For; the app trusts the proxy), sending `extra` cookies.
/// Returns the session cookie pair and the CSRF token of a signed-in page,
/// plus the device cookie set on that page.
async fn console_sign_in(t: &TestApp, ip: &str, extra: &str) -> (String, String, Option<String>) {
    let page = t
        .http
        .get(t.url("/quan-tri/dang-nhap"))
        .header("x-forwarded-for", ip)
        .header("cookie", extra)
        .send()
        .await
        .unwrap();
    let pre = cookie_pair(&page, "mc_csrf");
    let html = page.text().await.unwrap();
    let csrf = csrf_in(&html);
    let cookies = [extra.to_string(), pre.unwrap_or_default()]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let seen = t.sms.all_to(ADMIN_PHONE).len();
    let r = t
        .http
        .post(t.url("/quan-tri/dang-nhap"))
        .header("x-forwarded-for", ip)
        .header("cookie", &cookies)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "password step");
    let otp_url = location(&r);
    let code = t.sms.wait_code(ADMIN_PHONE, seen).await;
    let r = t
        .http
        .post(t.url(&otp_url))
        .header("x-forwarded-for", ip)
        .header("cookie", &cookies)
        .form(&[("_csrf", csrf.as_str()), ("otp", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "OTP step");
    let session = cookie_pair(&r, "mc_session").expect("session cookie");
    let page = t
        .http
        .get(t.url("/quan-tri"))
        .header("x-forwarded-for", ip)
        .header("cookie", format!("{session}; {cookies}"))
        .send()
        .await
        .unwrap();
    let device = cookie_pair(&page, "mc_device");
    let html = page.text().await.unwrap();
    (session, csrf_in(&html), device)
}

#[tokio::test]
async fn forged_equal_cookie_and_form_pairs_are_refused() {
    let t = spawn_app_with(|c| c.trust_proxy = true).await;
    t.create_superadmin().await;
    let forged = "a".repeat(43);
    // Console form (sign-in) and portal form (sign-in), no session.
    for path in ["/quan-tri/dang-nhap", "/dang-nhap"] {
        let r = t
            .http
            .post(t.url(path))
            .header("cookie", format!("mc_csrf={forged}"))
            .form(&[
                ("_csrf", forged.as_str()),
                ("username", ADMIN),
                ("password", ADMIN_PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}: a pair the server never issued");
    }
    // A signed-in console form and the API's X-CSRF-Token path.
    let (session, good, _) = console_sign_in(&t, "198.51.100.7", "").await;
    let r = t
        .http
        .post(t.url("/quan-tri/doi-mat-khau"))
        .header("cookie", format!("{session}; mc_csrf={forged}"))
        .form(&[
            ("_csrf", forged.as_str()),
            ("current_password", ADMIN_PASSWORD),
            ("password", "Bi#ChiemQuyen2026"),
            ("password_confirm", "Bi#ChiemQuyen2026"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "console form with a forged pair");
    let ok = motcua::flows::sign_in::start(
        &t.app,
        ADMIN,
        ADMIN_PASSWORD,
        "192.0.2.1",
        Audience::Console,
    )
    .await;
    assert!(ok.is_ok(), "the password did not change");
    let r = t
        .http
        .post(t.url("/api/v1/units"))
        .header("cookie", format!("{session}; mc_csrf={forged}"))
        .header("x-csrf-token", &forged)
        .json(&json!({"name": "Xã Thử Nghiệm", "level": "xa", "parent_id": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "API with a forged pair");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "forbidden", "{v}");
    // The token the server derived for this session works.
    let r = t
        .http
        .get(t.url("/api/v1/staff/me"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = t
        .http
        .post(t.url("/api/v1/logout"))
        .header("cookie", &session)
        .header("x-csrf-token", &good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the session's own token is accepted");
}

#[tokio::test]
async fn a_token_from_another_session_is_refused() {
    let t = spawn_app_with(|c| c.trust_proxy = true).await;
    t.create_superadmin().await;
    let (_a, token_a, _) = console_sign_in(&t, "198.51.100.7", "").await;
    let (b, token_b, _) = console_sign_in(&t, "198.51.100.8", "").await;
    assert_ne!(token_a, token_b);
    for (token, want) in [(&token_a, 403), (&token_b, 200)] {
        let r = t
            .http
            .post(t.url("/api/v1/logout"))
            .header("cookie", &b)
            .header("x-csrf-token", token.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want);
    }
}

#[tokio::test]
async fn https_public_url_gives_host_prefixed_secure_cookies() {
    let t = spawn_app_with(|c| c.public_url = "https://motcua.example.vn".into()).await;
    t.create_superadmin().await;
    let link = motcua::flows::setup::new_setup_link(&t.app, Some(ADMIN)).unwrap();
    let link = link.replace("https://motcua.example.vn", &t.base);
    let page = t.http.get(&link).send().await.unwrap();
    let mut all = set_cookies(&page);
    let pre = cookie_pair(&page, "__Host-mc_csrf").expect("__Host- pre-session cookie");
    let csrf = csrf_in(&page.text().await.unwrap());
    let r = t
        .http
        .post(&link)
        .header("cookie", &pre)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    all.extend(set_cookies(&r));
    let session = cookie_pair(&r, "__Host-mc_session").expect("__Host- session cookie");
    let page = t
        .http
        .get(t.url("/quan-tri"))
        .header("cookie", format!("{session}; {pre}"))
        .send()
        .await
        .unwrap();
    all.extend(set_cookies(&page));
    assert!(
        cookie_pair(&page, "__Host-mc_device").is_some(),
        "device cookie: {all:?}"
    );
    assert!(all.len() >= 3, "{all:?}");
    for c in &all {
        assert!(c.starts_with("__Host-"), "{c}");
        assert!(c.contains("; Secure"), "{c}");
        assert!(c.contains("Path=/"), "{c}");
        assert!(!c.to_lowercase().contains("domain="), "{c}");
    }
}

fn start_binary(dir: &std::path::Path, sms: &SmsReceiver) -> (Child, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = serve_command(port, sms)
        .env("MOTCUA_DATA_DIR", dir)
        .env("MOTCUA_BACKUP_EVERY_HOURS", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, base)
}

async fn post(http: &reqwest::Client, url: String, body: &Value) -> u16 {
    http.post(url)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn per_ip_code_cap_and_sign_in_wait_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let app = motcua::app::App::open(crate::helpers::test_config(dir.path())).unwrap();
        motcua::flows::setup::create_superadmin(&app, ADMIN, ADMIN_PHONE, ADMIN_PASSWORD)
            .await
            .unwrap();
    }
    let sms = SmsReceiver::start().await;
    let http = reqwest::Client::new();
    let (mut child, base) = start_binary(dir.path(), &sms);
    wait_healthy(&http, &base).await;
    let reset = json!({"username": "012345678901", "captcha_id": "x", "captcha": "x"});
    for i in 0..motcua::otp::PER_IP_HOUR {
        let s = post(&http, format!("{base}/api/v1/password-resets"), &reset).await;
        assert_eq!(s, 202, "reset {i}");
    }
    let s = post(&http, format!("{base}/api/v1/password-resets"), &reset).await;
    assert_eq!(s, 429, "over the per-IP cap");
    let wrong = json!({"username": ADMIN, "password": "sai-mat-khau"});
    let right = json!({"username": ADMIN, "password": ADMIN_PASSWORD});
    for i in 0..motcua::auth::throttle::FREE_FAILURES {
        let s = post(&http, format!("{base}/api/v1/staff/login"), &wrong).await;
        assert_eq!(s, 401, "wrong password {i}");
    }
    let s = post(&http, format!("{base}/api/v1/staff/login"), &right).await;
    assert_eq!(s, 401, "this account and client must wait");
    // Kill -9, as an attacker who can crash the server would.
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, base) = start_binary(dir.path(), &sms);
    wait_healthy(&http, &base).await;
    let s = post(&http, format!("{base}/api/v1/password-resets"), &reset).await;
    assert_eq!(s, 429, "the cap survives the restart");
    let s = post(&http, format!("{base}/api/v1/staff/login"), &right).await;
    assert_eq!(s, 401, "the wait survives the restart");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        sms.all_to(ADMIN_PHONE).len(),
        0,
        "no code sent while waiting"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn strangers_failures_do_not_lock_the_staff_member_out() {
    let t = spawn_app_with(|c| c.trust_proxy = true).await;
    t.create_superadmin().await;
    let office = "198.51.100.7";
    let (_s, _, device) = console_sign_in(&t, office, "").await;
    let device = device.expect("a device cookie after sign-in");
    let wrong = json!({"username": ADMIN, "password": "doan-bua-1"});
    let stranger = |ip: String| {
        let (http, url, wrong) = (t.http.clone(), t.url("/api/v1/staff/login"), wrong.clone());
        async move {
            let r = http
                .post(url)
                .header("x-forwarded-for", ip)
                .json(&wrong)
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap())
        }
    };
    // 20 wrong passwords from one IP: after 5 the stranger waits (the
    // answer stays "wrong password"; the password is not even checked).
    for _ in 0..20 {
        assert_eq!(stranger("203.0.113.9".into()).await.0, 401);
    }
    let wait = motcua::flows::sign_in::client_wait(&t.app, ADMIN, "203.0.113.9", Audience::Console)
        .unwrap();
    assert!(wait > 0, "the stranger waits on this account");
    let blocked = t
        .app
        .ip_throttle
        .blocked_for("console:203.0.113.9", t.app.now());
    assert!(
        blocked > 0,
        "and, hammering on, on every account from that IP"
    );
    // Spread over many IPs: past the backstop, browsers without the device
    // cookie must answer a captcha.
    let mut last = (0, Value::Null);
    for i in 0..12 {
        last = stranger(format!("203.0.113.{}", 20 + i)).await;
    }
    assert_eq!(last.0, 400, "{}", last.1);
    assert!(
        last.1["error"]["fields"]["captcha"].is_string(),
        "{}",
        last.1
    );
    // The staff member at their usual browser signs in.
    let (session, _, _) = console_sign_in(&t, office, &device).await;
    assert!(session.starts_with("mc_session="));
    // The stranger is still slowed: from their IP even the right password
    // is refused (429: the IP waits), and no code is sent.
    let sent = t.sms.all_to(ADMIN_PHONE).len();
    let r = t
        .http
        .post(t.url("/api/v1/staff/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(t.sms.all_to(ADMIN_PHONE).len(), sent);
}

/// Past the backstop, the console sign-in page itself shows the captcha:
/// a staff member on a new browser answers it and signs in with the right
/// password (the backstop asks, it does not refuse).
#[tokio::test]
async fn the_console_page_asks_for_the_captcha_past_the_backstop() {
    let t = spawn_app_with(|c| c.trust_proxy = true).await;
    t.create_superadmin().await;
    let wrong = json!({"username": ADMIN, "password": "doan-bua-1"});
    for i in 0..12 {
        t.http
            .post(t.url("/api/v1/staff/login"))
            .header("x-forwarded-for", format!("203.0.113.{}", 40 + i))
            .json(&wrong)
            .send()
            .await
            .unwrap();
    }
    // A new browser (no device cookie) at the office.
    let ip = "198.51.100.50";
    let page = t
        .http
        .get(t.url("/quan-tri/dang-nhap"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .unwrap();
    let cookie = cookie_pair(&page, "mc_csrf").expect("a pre-session cookie");
    let csrf = csrf_in(&page.text().await.unwrap());
    let post = |fields: Vec<(&'static str, String)>| {
        let (http, url, cookie) = (t.http.clone(), t.url("/quan-tri/dang-nhap"), cookie.clone());
        async move {
            http.post(url)
                .header("x-forwarded-for", ip)
                .header("cookie", cookie)
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(vec![
        ("_csrf", csrf.clone()),
        ("username", ADMIN.into()),
        ("password", ADMIN_PASSWORD.into()),
    ])
    .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("class=\"captcha-img\""),
        "the page shows a captcha"
    );
    let (cap_id, answer) = captcha_in(&t, &html).expect("a solvable captcha");
    let r = post(vec![
        ("_csrf", csrf),
        ("username", ADMIN.into()),
        ("password", ADMIN_PASSWORD.into()),
        ("captcha_id", cap_id),
        ("captcha", answer),
    ])
    .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let to = location(&r);
    assert!(to.starts_with("/quan-tri/xac-thuc/"), "{to}");
}
