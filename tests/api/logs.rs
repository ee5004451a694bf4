//! Log hygiene (issue 7): the real binary, debug logging on, driven through
//! staff creation, a staff-assisted citizen account, self-registration,
//! sign-in, password reset and the bot; no log line may hold a full ID
//! number, phone number, OTP or password.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    SmsReceiver, admin_via_setup_link, extract_code, free_port, multipart, serve_command,
    temp_password, unit_id_with_cookie, wait_healthy,
};

struct Server {
    child: std::process::Child,
    base: String,
    http: reqwest::Client,
    cookie: String,
    csrf: String,
    log: std::path::PathBuf,
}

impl Server {
    /// A fresh captcha challenge (any answer passes: the captcha is off).
    async fn captcha(&self) -> Value {
        let r = self.http.get(format!("{}/api/v1/captcha", self.base));
        r.send().await.unwrap().json().await.unwrap()
    }
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn post_bearer(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

async fn start(dir: &std::path::Path, sms: &SmsReceiver) -> Server {
    let port = free_port();
    let log = dir.join("server.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = serve_command(port, sms)
        .env("MOTCUA_DATA_DIR", dir.join("data"))
        .env("RUST_LOG", "debug")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    wait_healthy(&http, &base).await;
    Server {
        child,
        base,
        http,
        cookie: String::new(),
        csrf: String::new(),
        log,
    }
}

#[tokio::test]
async fn no_secret_or_personal_number_reaches_the_log() {
    let sms = SmsReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(dir.path(), &sms).await;
    let mut secrets: Vec<String> = vec![];

    // The first admin through the setup link printed at start.
    let log = std::fs::read_to_string(&s.log).unwrap();
    let link = log
        .split_whitespace()
        .find(|w| w.contains("/quan-tri/thiet-lap/"))
        .expect("setup link")
        .to_string();
    let admin_pw = "Qt#Tinh-HungYen26";
    secrets.push(admin_pw.into());
    (s.cookie, s.csrf) =
        admin_via_setup_link(&s.http, &link, "Trần Văn Quản", "0912000777", admin_pw).await;

    // Staff created by the admin; the temporary password comes by SMS.
    let unit = unit_id_with_cookie(
        &s.http,
        &s.base,
        &s.cookie,
        "Bộ phận một cửa UBND huyện Văn Lâm",
    )
    .await;
    let (st, v) = s.post("/api/v1/staff", &json!({"username": "canbo.log", "full_name": "Lê Thị Nhật", "id_number": "033185009876", "phone": "0988111222", "unit_ids": [unit]})).await;
    assert_eq!(st, 201, "{v}");
    let r = s
        .http
        .put(format!("{}/api/v1/staff/canbo.log/grants", s.base))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .json(&json!({"unit_id": unit, "permissions": ["citizen_accounts.create"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let temp_sms = sms.wait_nth("0988111222", 1).await.text;
    let temp = temp_password(&temp_sms);
    secrets.push(temp.clone());
    let (st, v) = s
        .post_bearer(
            "/api/v1/staff/login",
            "",
            &json!({"username": "canbo.log", "password": temp}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = sms.wait_code("0988111222", 1).await;
    secrets.push(code.clone());
    let (_, v) = s
        .post_bearer(
            &format!("/api/v1/staff/login/{flow}/otp"),
            "",
            &json!({"otp": code}),
        )
        .await;
    let staff_tok = v["token"].as_str().unwrap().to_string();
    let staff_pw = "CanBo#Moi-2026x";
    secrets.push(staff_pw.into());
    let (st, v) = s
        .post_bearer(
            "/api/v1/me/password",
            &staff_tok,
            &json!({"current_password": temp, "password": staff_pw, "password_confirm": staff_pw}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let staff_tok = v["token"].as_str().unwrap().to_string();

    // A citizen account created at the counter.
    let (st, _) = s
        .post_bearer("/api/v1/citizen-accounts/lookup", &staff_tok, &json!({}))
        .await;
    let _ = st;
    let lookup = s
        .http
        .get(format!(
            "{}/api/v1/citizen-accounts/lookup?id_number=033190005555",
            s.base
        ))
        .bearer_auth(&staff_tok)
        .send()
        .await
        .unwrap();
    assert_eq!(lookup.status(), 200);
    let pdf = motcua::upload::samples::pdf();
    let (content_type, body) = multipart(
        &[
            ("id_number", "033190005555"),
            ("full_name", "Phạm Thị Mai"),
            ("birth_date", "05/06/1990"),
            ("phone", "0977333444"),
            ("unit_id", &unit.to_string()),
        ],
        &[("id_scan", "CCCD.pdf", &pdf)],
    );
    let r = s
        .http
        .post(format!("{}/api/v1/citizen-account-requests", s.base))
        .bearer_auth(&staff_tok)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let req = r.json::<Value>().await.unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, v) = s
        .post_bearer(
            &format!("/api/v1/citizen-account-requests/{req}/otp"),
            &staff_tok,
            &json!({}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let code = sms.wait_code("0977333444", 0).await;
    secrets.push(code.clone());
    let (st, v) = s
        .post_bearer(
            &format!("/api/v1/citizen-account-requests/{req}/confirm"),
            &staff_tok,
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let pw_sms = sms.wait_nth("0977333444", 2).await.text;
    for w in pw_sms.split_whitespace() {
        let w = w.trim_end_matches(['.', ',']);
        if w.len() >= 10
            && w.chars().any(|c| c.is_ascii_digit())
            && w.chars().any(|c| c.is_ascii_uppercase())
        {
            secrets.push(w.to_string());
        }
    }

    // Self-registration with the demo subscriber, then sign-in and reset.
    let cap = s.captcha().await;
    let (st, v) = s
        .post_bearer(
            "/api/v1/registrations",
            "",
            &json!({"kind": "citizen", "method": "mobile", "id_number": "033090001234", "full_name": "Nguyễn Văn An", "birth_date": "15/03/1990", "phone": "0372123456", "captcha_id": cap["captcha_id"], "captcha": "x", "consent": true}),
        )
        .await;
    assert_eq!(st, 202, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = sms.wait_code("0372123456", 0).await;
    secrets.push(code.clone());
    let (st, v) = s
        .post_bearer(
            &format!("/api/v1/registrations/{flow}/otp"),
            "",
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let citizen_pw = "CongDan#An-1990x";
    secrets.push(citizen_pw.into());
    let (st, v) = s
        .post_bearer(
            &format!("/api/v1/registrations/{flow}/password"),
            "",
            &json!({"password": citizen_pw, "password_confirm": citizen_pw}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let cap = s.captcha().await;
    let (st, v) = s.post_bearer("/api/v1/login", "", &json!({"username": "033090001234", "password": citizen_pw, "captcha_id": cap["captcha_id"], "captcha": "x"})).await;
    assert_eq!(st, 200, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = sms.wait_code("0372123456", 1).await;
    secrets.push(code.clone());
    let (st, v) = s
        .post_bearer(
            &format!("/api/v1/login/{flow}/otp"),
            "",
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let cap = s.captcha().await;
    let (st, v) = s
        .post_bearer(
            "/api/v1/password-resets",
            "",
            &json!({"username": "033090001234", "captcha_id": cap["captcha_id"], "captcha": "x"}),
        )
        .await;
    assert_eq!(st, 202, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = sms.wait_code("0372123456", 2).await;
    secrets.push(code.clone());
    let (st, v) = s
        .post_bearer(
            &format!("/api/v1/password-resets/{flow}/otp"),
            "",
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let new_pw = "DoiLai#An-2026y";
    secrets.push(new_pw.into());
    let (st, v) = s
        .post_bearer(
            &format!("/api/v1/password-resets/{flow}/password"),
            "",
            &json!({"password": new_pw, "password_confirm": new_pw}),
        )
        .await;
    assert_eq!(st, 200, "{v}");

    // The bot, with numbers in the question.
    let (st, v) = s
        .post_bearer(
            "/api/v1/chat",
            "",
            &json!({"text": "cccd 033090001234 sdt 0372123456 ko nhan dc otp"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let (st, _) = s
        .post_bearer(
            "/api/v1/chat",
            "",
            &json!({"text": "mật khẩu của tôi là DoiLai#An-2026y"}),
        )
        .await;
    assert_eq!(st, 200);

    // Let the SMS worker log its deliveries, then stop.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let _ = Command::new("kill").arg(s.child.id().to_string()).status();
    let _ = s.child.wait();
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(
        log.lines().count() > 20,
        "too little logged to judge:\n{log}"
    );
    for m in sms.messages.lock().unwrap().iter() {
        if let Some(c) = extract_code(&m.text) {
            secrets.push(c);
        }
    }
    let numbers = [
        "033185009876",
        "033190005555",
        "033090001234",
        "0912000777",
        "0988111222",
        "0977333444",
        "0372123456",
        "84988111222",
    ];
    for (i, line) in log.lines().enumerate() {
        for n in numbers
            .iter()
            .map(|s| s.to_string())
            .chain(secrets.iter().cloned())
        {
            assert!(!line.contains(&n), "log line {} holds {n:?}: {line}", i + 1);
        }
    }
}
