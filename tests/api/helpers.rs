//! spawn_app and friends.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use motcua::app::App;
use motcua::config::{Config, SmsProvider};
use serde_json::Value;

/// One SMS the fake gateway received.
#[derive(Debug, Clone)]
pub struct Sms {
    pub id: String,
    pub to: String,
    pub text: String,
}

/// A fake SMS gateway speaking the `http` provider's protocol of api.md.
#[derive(Clone, Default)]
pub struct SmsReceiver {
    pub messages: Arc<Mutex<Vec<Sms>>>,
    /// While > 0, answer 503 and count down.
    pub fail_next: Arc<Mutex<u32>>,
    pub addr: Option<SocketAddr>,
}

impl SmsReceiver {
    pub async fn start() -> SmsReceiver {
        let mut r = SmsReceiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        r.addr = Some(listener.local_addr().unwrap());
        let state = r.clone();
        let ep = poem::endpoint::make(move |req: poem::Request| {
            let state = state.clone();
            async move {
                let mut body = req.into_body();
                let bytes = std::mem::take(&mut body)
                    .into_bytes()
                    .await
                    .unwrap_or_default();
                {
                    let mut f = state.fail_next.lock().unwrap();
                    if *f > 0 {
                        *f -= 1;
                        return poem::Response::builder()
                            .status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
                            .finish();
                    }
                }
                let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
                state.messages.lock().unwrap().push(Sms {
                    id: v["id"].as_str().unwrap_or("").into(),
                    to: v["to"].as_str().unwrap_or("").into(),
                    text: v["text"].as_str().unwrap_or("").into(),
                });
                poem::Response::builder()
                    .status(poem::http::StatusCode::OK)
                    .body("{}")
            }
        });
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(ep));
        r
    }

    pub fn url(&self) -> String {
        format!("http://{}/sms", self.addr.unwrap())
    }

    pub fn all_to(&self, phone: &str) -> Vec<Sms> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to == phone)
            .cloned()
            .collect()
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    /// Waits (up to 10 s) for the `n`-th message (1-based) to `phone`.
    pub async fn wait_nth(&self, phone: &str, n: usize) -> Sms {
        for _ in 0..200 {
            let all = self.all_to(phone);
            if all.len() >= n {
                return all[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no SMS #{n} to {phone}; got {:?}",
            self.messages.lock().unwrap()
        );
    }

    /// Waits for a new message to `phone` beyond the `seen` already there,
    /// and returns the 6-digit code in it.
    pub async fn wait_code(&self, phone: &str, seen: usize) -> String {
        let m = self.wait_nth(phone, seen + 1).await;
        extract_code(&m.text).unwrap_or_else(|| panic!("no code in {:?}", m.text))
    }

    pub async fn last_code(&self, phone: &str) -> String {
        let n = self.all_to(phone).len().max(1);
        let m = self.wait_nth(phone, n).await;
        extract_code(&m.text).unwrap_or_else(|| panic!("no code in {:?}", m.text))
    }
}

// ---- Tests of the real binary (`CARGO_BIN_EXE_motcua`) ----

/// A free loopback port (for a server or a fake API started afterwards).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `motcua serve` as the tests run it: on loopback `port`, SMS to the test
/// gateway, the captcha off, a cheap argon2 for a debug build, no stdin.
/// Callers add the data dir, the log and the rest.
pub fn serve_command(port: u16, sms: &SmsReceiver) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_motcua"));
    c.arg("serve")
        .env("MOTCUA_LISTEN", format!("127.0.0.1:{port}"))
        .env("MOTCUA_SMS_PROVIDER", "http")
        .env("MOTCUA_SMS_HTTP_URL", sms.url())
        .env("MOTCUA_CAPTCHA", "off")
        .env("MOTCUA_ARGON2_M_KIB", "1024")
        .stdin(std::process::Stdio::null());
    c
}

/// Waits (up to 8 s) until the server at `base` answers `/healthz` with 200.
pub async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("server at {base} did not start");
}

/// Creates the first admin (`quantri`) through the one-time setup link
/// printed at start (outbox mode: no OTP needed); returns the cookie header
/// (session and CSRF cookies) and the CSRF token.
pub async fn admin_via_setup_link(
    http: &reqwest::Client,
    link: &str,
    full_name: &str,
    phone: &str,
    password: &str,
) -> (String, String) {
    let page = http.get(link).send().await.unwrap();
    let csrf_cookie = session_cookie(&page);
    let csrf = csrf_in(&page.text().await.unwrap());
    let r = http
        .post(link)
        .header("cookie", &csrf_cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", "quantri"),
            ("full_name", full_name),
            ("phone", phone),
            ("password", password),
            ("password_confirm", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    (format!("{}; {csrf_cookie}", session_cookie(&r)), csrf)
}

/// The id of the unit named exactly `name`, read through the API with a
/// console cookie.
pub async fn unit_id_with_cookie(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    name: &str,
) -> u64 {
    let units: serde_json::Value = http
        .get(format!("{base}/api/v1/units"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
        .unwrap()["id"]
        .as_u64()
        .unwrap()
}

/// The first `name=value` pair of a response's `Set-Cookie` (the session).
pub fn session_cookie(r: &reqwest::Response) -> String {
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// The temporary password in a staff SMS ("Mật khẩu tạm thời: X. Vui lòng …").
pub fn temp_password(text: &str) -> String {
    text.split("Mật khẩu tạm thời: ")
        .nth(1)
        .and_then(|r| r.split(". ").next())
        .unwrap_or_else(|| panic!("no temporary password in {text:?}"))
        .to_string()
}

/// The `_csrf` token of the first form in a page.
pub fn csrf_in(html: &str) -> String {
    html.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a _csrf field")
        .to_string()
}

/// The first run of exactly 6 digits in a text.
pub fn extract_code(text: &str) -> Option<String> {
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            if run.len() == 6 {
                return Some(run);
            }
            run.clear();
        }
    }
    None
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub app: Arc<App>,
    pub sms: SmsReceiver,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

pub const ADMIN: &str = "quantri";
pub const ADMIN_PHONE: &str = "0912000001";
pub const ADMIN_PASSWORD: &str = "Hy#DieuHanh2026";

/// `Config::for_tests` on this pass's storage engine (see `engine.rs`).
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::for_tests(dir);
    cfg.database_url = crate::engine::database_for(dir);
    cfg
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    spawn_in(dir, tweak).await
}

/// Starts the real server (all workers) on port 0 in `dir`.
pub async fn spawn_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let sms = SmsReceiver::start().await;
    let mut cfg = Config::for_tests(dir.path());
    cfg.sms_provider = SmsProvider::Http;
    cfg.sms_http_url = Some(sms.url());
    tweak(&mut cfg);
    if cfg.database_url.is_none() {
        cfg.database_url = crate::engine::database_for(dir.path());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    if !cfg.public_url.starts_with("https://") {
        cfg.public_url = format!("http://{addr}");
    }
    let app = App::open(cfg).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let a2 = app.clone();
    let handle = tokio::spawn(async move {
        motcua::cli::run_until_signal(a2, listener, async move {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let t = TestApp {
        addr,
        base: format!("http://{addr}"),
        app,
        sms,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        dir,
        stop: Some(tx),
        handle: Some(handle),
    };
    for _ in 0..100 {
        if t.http.get(t.url("/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Stops the server cleanly and hands back the data dir.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        drop(self);
        dir
    }

    pub async fn create_superadmin(&self) {
        motcua::flows::setup::create_superadmin(&self.app, ADMIN, ADMIN_PHONE, ADMIN_PASSWORD)
            .await
            .unwrap();
    }

    /// The password step of a staff sign-in through the API.
    pub async fn staff_password_step(&self, username: &str, password: &str) -> (u16, Value) {
        let body = serde_json::json!({"username": username, "password": password});
        self.post_json("/api/v1/staff/login", None, &body).await
    }

    /// Staff sign-in through the API: password, then the OTP from the SMS gateway.
    pub async fn staff_token(&self, username: &str, password: &str, phone: &str) -> String {
        let seen = self.sms.all_to(phone).len();
        let r = self.staff_password_step(username, password).await;
        assert_eq!(r.0, 200, "login: {}", r.1);
        let flow = r.1["flow_id"].as_str().unwrap().to_string();
        let code = self.sms.wait_code(phone, seen).await;
        let r = self
            .post_json(
                &format!("/api/v1/staff/login/{flow}/otp"),
                None,
                &serde_json::json!({"otp": code}),
            )
            .await;
        assert_eq!(r.0, 200, "otp: {}", r.1);
        r.1["token"].as_str().unwrap().to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.create_superadmin().await;
        self.staff_token(ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await
    }

    /// Creates a staff member with a permanent password and the given
    /// permissions on `unit`; returns a bearer token for them.
    pub async fn staff_with(
        &self,
        admin: &str,
        username: &str,
        phone: &str,
        id_number: &str,
        unit: u64,
        perms: &[&str],
    ) -> String {
        let r = self
            .post_json(
                "/api/v1/staff",
                Some(admin),
                &serde_json::json!({"username": username, "full_name": "Nguyễn Thị Cán Bộ", "id_number": id_number, "phone": phone, "unit_ids": [unit]}),
            )
            .await;
        assert_eq!(r.0, 201, "create staff: {}", r.1);
        if !perms.is_empty() {
            let r = self
                .put_json(
                    &format!("/api/v1/staff/{username}/grants"),
                    Some(admin),
                    &serde_json::json!({"unit_id": unit, "permissions": perms}),
                )
                .await;
            assert_eq!(r.0, 200, "grants: {}", r.1);
        }
        let temp = temp_password(&self.sms.wait_nth(phone, 1).await.text);
        let token = self.staff_token(username, &temp, phone).await;
        let newpw = "Doi#MatKhau2026";
        let r = self
            .post_json("/api/v1/me/password", Some(&token), &serde_json::json!({"current_password": temp, "password": newpw, "password_confirm": newpw}))
            .await;
        assert_eq!(r.0, 200, "change password: {}", r.1);
        r.1["token"].as_str().unwrap().to_string()
    }

    pub async fn unit_id(&self, name_part: &str) -> u64 {
        let tree = self.app.tree();
        tree.rows()
            .into_iter()
            .find(|r| r.name.contains(name_part))
            .unwrap_or_else(|| panic!("no unit {name_part}"))
            .id
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send_json(self.http.get(self.url(path)), token).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let rb = self.http.post(self.url(path)).json(body);
        self.send_json(rb, token).await
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let rb = self.http.put(self.url(path)).json(body);
        self.send_json(rb, token).await
    }

    /// Sends a request, with a bearer token when given: the status and
    /// the JSON answer (null when there is none).
    async fn send_json(
        &self,
        mut rb: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> (u16, Value) {
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

/// The password of [`portal_account`]s.
pub const PORTAL_PASSWORD: &str = "Cong#Dan2026x";

/// A portal account as self-registration leaves it; returns a portal token.
pub async fn portal_account(t: &TestApp, id_number: &str, name: &str, phone: &str) -> String {
    let hash = t.app.hasher.hash(PORTAL_PASSWORD.into()).await.unwrap();
    let id = motcua::domain::CitizenId::parse(id_number).unwrap();
    let ph = motcua::domain::PhoneNumber::parse(phone).unwrap();
    let now = t.app.now();
    let a = motcua::store::accounts::Account::new(
        id_number,
        Some(&id),
        name,
        &ph,
        None,
        hash,
        motcua::store::accounts::Origin::SelfRegistered,
        now,
    );
    t.app
        .store
        .write(|w| {
            motcua::store::accounts::put(w, &a)?;
            motcua::auth::session::create(w, &a, false, true, now)
        })
        .unwrap()
}

/// Files the demo citizen's (Phạm Thị Dung, 0356789012) account request
/// at the counter through the API with a PDF scan; returns the status and
/// the answer.
pub async fn file_dung_request(t: &TestApp, staff: &str, unit: u64) -> (u16, Value) {
    let pdf = motcua::upload::samples::pdf();
    let unit = unit.to_string();
    let (ct, body) = multipart(
        &[
            ("id_number", "033301004567"),
            ("full_name", "Phạm Thị Dung"),
            ("birth_date", "09/09/2001"),
            ("phone", "0356789012"),
            ("email", ""),
            ("unit_id", &unit),
        ],
        &[("id_scan", "CCCD.pdf", &pdf)],
    );
    t.post_body("/api/v1/citizen-account-requests", Some(staff), &ct, body)
        .await
}

/// A multipart/form-data body: text fields, then files as
/// `(field, file name, bytes)`.
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----motcuaTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (field, name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Files stored under the uploads directory, at any depth.
/// Scanned IDs kept: files under the data dir (redb) plus entries of the
/// database's scan table (where a shared PostgreSQL database keeps them).
pub fn uploads_count(t: &TestApp) -> usize {
    let in_db = t
        .app
        .store
        .read(|r| motcua::store::scans::SCANS.len(r))
        .unwrap();
    files_on_disk(t) + in_db as usize
}

/// Files under the data dir's `uploads`.
pub fn files_on_disk(t: &TestApp) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        match std::fs::read_dir(p) {
            Ok(rd) => rd
                .map(|e| e.unwrap().path())
                .map(|p| if p.is_dir() { walk(&p) } else { 1 })
                .sum(),
            Err(_) => 0,
        }
    }
    walk(&t.dir.path().join("uploads"))
}

// ---- Pages, forms, cookies and the captcha ----

/// Every `name=value` a response sets (its Set-Cookie headers).
pub fn set_cookie_pairs(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_string)
        .collect()
}

/// `name=value` of the cookie named `name` that a response sets.
pub fn cookie_pair(r: &reqwest::Response, name: &str) -> Option<String> {
    set_cookie_pairs(r)
        .into_iter()
        .find(|c| c.split('=').next() == Some(name))
}

/// The flow cookie a portal journey's first step sets (`mc_flow_…=…`).
pub fn flow_cookie(r: &reqwest::Response) -> String {
    set_cookie_pairs(r)
        .into_iter()
        .find(|c| c.starts_with("mc_flow_"))
        .expect("the journey's first step sets its flow cookie")
}

/// Adds the `name=value` pairs of `new` to the Cookie header `cookie`,
/// replacing those of the same name, as a browser's jar does.
pub fn merge_cookies(cookie: &str, new: &[String]) -> String {
    let name = |c: &str| c.split('=').next().unwrap_or("").trim().to_string();
    let mut all: Vec<String> = cookie
        .split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    for c in new {
        match all.iter_mut().find(|old| name(old) == name(c)) {
            Some(old) => old.clone_from(c),
            None => all.push(c.clone()),
        }
    }
    all.join("; ")
}

/// A redirect's `Location`.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

/// A 429's `Retry-After`, in seconds.
pub fn retry_after(r: &reqwest::Response) -> i64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The captcha a page's form shows (`name="captcha_id"`) with its answer,
/// read in process.
pub fn captcha_in(t: &TestApp, html: &str) -> Option<(String, String)> {
    let id = html
        .split("name=\"captcha_id\" value=\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_string();
    let answer = motcua::captcha::peek_answer(&t.app, &id)?;
    Some((id, answer))
}

/// A page with a form as a browser holds it: the cookies the visit set
/// (added to those it was sent), its CSRF token, and the captcha it shows
/// with the answer.
pub struct FormPage {
    pub status: u16,
    pub html: String,
    pub cookie: String,
    pub csrf: String,
    pub captcha: Option<(String, String)>,
}

impl FormPage {
    /// Reads a form page from an answer to a browser holding `cookie`.
    pub async fn read(t: &TestApp, r: reqwest::Response, cookie: &str) -> FormPage {
        let cookie = merge_cookies(cookie, &set_cookie_pairs(&r));
        let status = r.status().as_u16();
        let html = r.text().await.unwrap();
        FormPage {
            status,
            csrf: csrf_in(&html),
            captcha: captcha_in(t, &html),
            cookie,
            html,
        }
    }

    /// Submits the form to `path` as the browser would: the CSRF token and
    /// the solved captcha (when the page shows one), then `fields`.
    pub async fn submit(
        &self,
        t: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut all = vec![("_csrf", self.csrf.as_str())];
        if let Some((id, answer)) = &self.captcha {
            all.extend([("captcha_id", id.as_str()), ("captcha", answer.as_str())]);
        }
        all.extend_from_slice(fields);
        t.post_form(path, &self.cookie, &all).await
    }
}

impl TestApp {
    /// GETs `path`, with a Cookie header when given: status and body.
    pub async fn page(&self, path: &str, cookie: Option<&str>) -> (u16, String) {
        let mut rb = self.http.get(self.url(path));
        if let Some(c) = cookie {
            rb = rb.header("cookie", c);
        }
        let r = rb.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The body of a GET of `path`, whatever its status.
    pub async fn get_text(&self, path: &str) -> String {
        self.page(path, None).await.1
    }

    /// Opens the form page `path` as a browser holding `cookie` (may be
    /// empty) does.
    pub async fn open_form(&self, path: &str, cookie: &str) -> FormPage {
        let mut rb = self.http.get(self.url(path));
        if !cookie.is_empty() {
            rb = rb.header("cookie", cookie);
        }
        FormPage::read(self, rb.send().await.unwrap(), cookie).await
    }

    /// POSTs a form given as pairs, with a Cookie header (may be empty).
    pub async fn post_form(
        &self,
        path: &str,
        cookie: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut rb = self.http.post(self.url(path)).form(fields);
        if !cookie.is_empty() {
            rb = rb.header("cookie", cookie);
        }
        rb.send().await.unwrap()
    }

    /// A console GET with the session cookie of `token`.
    pub async fn console_get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("cookie", format!("mc_session={token}"))
            .send()
            .await
            .unwrap()
    }

    /// A console page for the session of `token`: status and body.
    pub async fn console_page(&self, token: &str, path: &str) -> (u16, String) {
        let r = self.console_get(token, path).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A console form POST as the browser sends it: the session cookie of
    /// `token` and the session's CSRF token before `fields`.
    pub async fn console_form(
        &self,
        token: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        // The token the server derives for this session (CSRF is bound to it).
        let csrf = motcua::web::ctx::csrf_for_session(&self.app, token);
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form(path, &format!("mc_session={token}"), &all)
            .await
    }

    /// [`TestApp::console_form`], read: the status and the page.
    pub async fn console_post(
        &self,
        token: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, String) {
        let r = self.console_form(token, path, fields).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A fresh captcha from the API and its answer (read in process; never
    /// over HTTP).
    pub async fn captcha(&self) -> (String, String) {
        let (s, v) = self.get_json("/api/v1/captcha", None).await;
        assert_eq!(s, 200, "{v}");
        let id = v["captcha_id"].as_str().unwrap().to_string();
        let answer = motcua::captcha::peek_answer(&self.app, &id).unwrap();
        (id, answer)
    }

    /// POSTs `body` with a freshly solved captcha added, as the portal's
    /// sign-in, registration and reset starts want.
    pub async fn post_json_captcha(&self, path: &str, mut body: Value) -> (u16, Value) {
        let (id, answer) = self.captcha().await;
        body["captcha_id"] = Value::String(id);
        body["captcha"] = Value::String(answer);
        self.post_json(path, None, &body).await
    }

    /// One step of a journey's flow through the API, anonymously:
    /// `POST /api/v1/{journey}/{flow}/{step}` (journey: `registrations`,
    /// `login`, `password-resets`, `staff/login`).
    pub async fn flow_step(
        &self,
        journey: &str,
        flow: &str,
        step: &str,
        body: Value,
    ) -> (u16, Value) {
        self.post_json(&format!("/api/v1/{journey}/{flow}/{step}"), None, &body)
            .await
    }

    /// A flow's OTP step.
    pub async fn submit_otp(&self, journey: &str, flow: &str, code: &str) -> (u16, Value) {
        self.flow_step(journey, flow, "otp", serde_json::json!({"otp": code}))
            .await
    }

    /// A flow's password step, typed twice.
    pub async fn choose_password(&self, journey: &str, flow: &str, password: &str) -> (u16, Value) {
        let body = serde_json::json!({"password": password, "password_confirm": password});
        self.flow_step(journey, flow, "password", body).await
    }

    /// POSTs a ready body with its content type (multipart forms), with a
    /// bearer token when given.
    pub async fn post_body(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let rb = self
            .http
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        self.send_json(rb, token).await
    }
}

/// A six-digit code that is not `code`.
pub fn wrong_code(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}
