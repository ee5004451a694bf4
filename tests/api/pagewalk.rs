//! The page walk (issue 14): the real binary on a fresh data dir, started
//! as the README says; the first admin created through the setup link it
//! prints; then, for every role, every page reachable by links plus each
//! state of each flow, in real headless Chromium at 360×740 and 1366×768.
//! Each page: no 5xx, no redirect loop, not the generic error page,
//! `lang="vi"` and a title, and no serious or critical axe-core violation
//! (WCAG 2.1 A/AA). Screenshots land in `target/screenshots/walk/`.
//!
//! axe-core comes from npm (`.ci/test.sh` installs it into `target/axe`, or
//! set `AXE_CORE_JS`). The product's CSP is bypassed in this test browser
//! only (CDP `Page.setBypassCSP`), never in the product.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{
    SmsReceiver, extract_code, free_port, serve_command, temp_password, unit_id_with_cookie,
    wait_healthy, wrong_code,
};
use crate::webdriver::Browser;

const SIZES: [(u32, u32); 2] = [(360, 740), (1366, 768)];
const GENERIC_ERROR: &str = "Hệ thống đang gặp sự cố";

const ADMIN_PW: &str = "Qt#Tinh-HungYen26";
const NEW_PW: &str = "CanBo#MotCua2026";
const CITIZEN_PW: &str = "CongDan#An2026";

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `motcua serve` on a fresh data dir, as the README says (plus the test
/// SMS gateway, the captcha off so a test can register, and a cheaper
/// argon2 for a debug build).
async fn start(dir: &std::path::Path, sms: &SmsReceiver) -> Server {
    let port = free_port();
    let log = dir.join("server.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = serve_command(port, sms)
        .current_dir(dir)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&reqwest::Client::new(), &base).await;
    Server { child, base, log }
}

fn axe_source() -> String {
    let path = std::env::var("AXE_CORE_JS").unwrap_or_else(|_| {
        format!(
            "{}/target/axe/node_modules/axe-core/axe.min.js",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("{path} is missing: run `bash .ci/test.sh` (it installs axe-core from npm)")
    })
}

/// A file name for a page.
fn slug(path: &str) -> String {
    let s: String = path
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let s = if s.is_empty() { "home".into() } else { s };
    s.chars().take(80).collect()
}

struct Walk {
    base: String,
    http: reqwest::Client,
    axe: String,
    failures: Vec<String>,
    /// role → page names visited.
    pages: BTreeMap<String, Vec<String>>,
    /// role + size → serious/critical violations found.
    counts: BTreeMap<String, usize>,
}

impl Walk {
    fn fail(&mut self, msg: String) {
        eprintln!("WALK FAILURE: {msg}");
        self.failures.push(msg);
    }

    /// Checks the page the browser shows now, at both sizes.
    async fn check(&mut self, b: &Browser, role: &str, name: &str) {
        let url = b.url().await;
        let v = b
            .exec("return [document.documentElement.lang || '', document.title || '', document.body ? document.body.innerText : ''];")
            .await;
        let (lang, title, text) = (
            v[0].as_str().unwrap_or("").to_string(),
            v[1].as_str().unwrap_or("").to_string(),
            v[2].as_str().unwrap_or("").to_string(),
        );
        if url.starts_with("chrome-error:") || text.contains("ERR_TOO_MANY_REDIRECTS") {
            self.fail(format!("{role} {name}: browser error page at {url}"));
            return;
        }
        if lang != "vi" {
            self.fail(format!("{role} {name}: lang={lang:?} ({url})"));
        }
        if title.trim().is_empty() {
            self.fail(format!("{role} {name}: no <title> ({url})"));
        }
        if text.contains(GENERIC_ERROR) {
            self.fail(format!("{role} {name}: the generic error page ({url})"));
        }
        for (w, h) in SIZES {
            b.set_size(w, h).await;
            tokio::time::sleep(Duration::from_millis(80)).await;
            let loaded = b.exec("return typeof axe !== 'undefined';").await;
            if loaded != Value::Bool(true) {
                b.exec(&format!("{}\nreturn true;", self.axe)).await;
            }
            let r = b
                .exec_async(
                    "const done = arguments[arguments.length - 1];
                     axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})
                       .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))
                       .catch(e => done({error: String(e)}));",
                    json!([]),
                )
                .await;
            let key = format!("{role} {w}x{h}");
            *self.counts.entry(key).or_default() += 0;
            match r.as_array() {
                Some(vs) => {
                    for v in vs {
                        let impact = v["impact"].as_str().unwrap_or("");
                        if impact == "serious" || impact == "critical" {
                            *self.counts.entry(format!("{role} {w}x{h}")).or_default() += 1;
                            self.fail(format!(
                                "{role} {name} {w}x{h}: axe {impact} {} ({}): {} node(s) {}",
                                v["id"].as_str().unwrap_or(""),
                                v["help"].as_str().unwrap_or(""),
                                v["nodes"],
                                v["targets"]
                            ));
                        }
                    }
                }
                None => self.fail(format!("{role} {name}: axe did not run: {r}")),
            }
            b.screenshot(&format!("walk/{role}/{name}-{w}x{h}")).await;
        }
        self.pages
            .entry(role.to_string())
            .or_default()
            .push(name.to_string());
    }

    /// Proves the checker can fail: an image without a text alternative,
    /// added to the page, must be reported (`image-alt`, critical).
    async fn probe_axe(&mut self, b: &Browser) {
        b.exec(&format!("{}\nreturn true;", self.axe)).await;
        let r = b
            .exec_async(
                "const done = arguments[arguments.length - 1];
                 const img = document.createElement('img'); img.src = 'data:image/png;base64,iVBORw0KGgo='; img.id = 'axe-probe';
                 document.body.appendChild(img);
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a']}, resultTypes: ['violations']})
                   .then(r => { img.remove(); done(r.violations.map(v => v.id)); })
                   .catch(e => done({error: String(e)}));",
                json!([]),
            )
            .await;
        let found = r
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "image-alt"));
        assert!(
            found,
            "axe did not report a planted image-alt violation: {r}"
        );
    }

    /// The final status of a GET of `path` with the browser's cookies,
    /// following redirects; a loop or too many hops is an error. Also
    /// whether the answer is HTML.
    async fn status_of(&self, b: &Browser, path: &str) -> Result<(u16, bool, String), String> {
        let cookies = b.cookie_header().await;
        let mut at = path.to_string();
        let mut seen = BTreeSet::new();
        for _ in 0..10 {
            if !seen.insert(at.clone()) {
                return Err(format!("redirect loop at {at}"));
            }
            let r = self
                .http
                .get(format!("{}{at}", self.base))
                .header("cookie", &cookies)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            if (300..400).contains(&status) {
                let to = r
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                at = to.strip_prefix(&self.base).unwrap_or(&to).to_string();
                continue;
            }
            let html = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html"));
            return Ok((status, html, at));
        }
        Err(format!("more than 10 redirects from {path}"))
    }

    /// Opens `path` (expecting `expect` as its final status) and checks it.
    async fn visit(&mut self, b: &Browser, role: &str, path: &str, expect: u16) {
        match self.status_of(b, path).await {
            Err(e) => {
                self.fail(format!("{role} {path}: {e}"));
                return;
            }
            Ok((status, _, end)) if status != expect => {
                self.fail(format!(
                    "{role} {path}: status {status} (at {end}), expected {expect}"
                ));
                if status >= 500 {
                    return;
                }
            }
            Ok(_) => {}
        }
        b.goto(&format!("{}{path}", self.base)).await;
        self.check(b, role, &slug(path)).await;
    }

    /// Every same-site page reachable by links from `starts` (at most
    /// `limit`), each expected to answer 200 after redirects.
    async fn crawl(&mut self, b: &Browser, role: &str, starts: &[&str], limit: usize) {
        self.crawl_allowing(b, role, starts, limit, &[]).await
    }

    /// Like `crawl`, with pages that answer a known 4xx page (e.g. 403 with
    /// its explanation) for this role.
    async fn crawl_allowing(
        &mut self,
        b: &Browser,
        role: &str,
        starts: &[&str],
        limit: usize,
        allowed: &[(&str, u16)],
    ) {
        let mut queue: VecDeque<String> = starts.iter().map(|s| s.to_string()).collect();
        let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
        let mut done = 0;
        while let Some(path) = queue.pop_front() {
            if done >= limit {
                break;
            }
            let (status, html, end) = match self.status_of(b, &path).await {
                Ok(x) => x,
                Err(e) => {
                    self.fail(format!("{role} {path}: {e}"));
                    continue;
                }
            };
            if status >= 400 && !allowed.contains(&(end.as_str(), status)) {
                self.fail(format!("{role} {path}: status {status} (at {end})"));
                if status >= 500 {
                    continue;
                }
            }
            if !html {
                continue;
            }
            done += 1;
            b.goto(&format!("{}{path}", self.base)).await;
            self.check(b, role, &slug(&path)).await;
            let links = b
                .exec("return Array.from(document.querySelectorAll('a[href]')).filter(a => !a.hasAttribute('download')).map(a => a.href);")
                .await;
            for l in links.as_array().cloned().unwrap_or_default() {
                let Some(l) = l.as_str() else { continue };
                let Some(rest) = l.strip_prefix(&self.base) else {
                    continue;
                };
                let rest = rest.split('#').next().unwrap_or("").to_string();
                if rest.is_empty()
                    || rest.starts_with("/static/")
                    || rest.starts_with("/api/")
                    || rest.contains("/dang-xuat")
                    || rest.ends_with(".pdf")
                    || rest.ends_with(".csv")
                    || rest.ends_with("/cmnd-cccd")
                {
                    continue;
                }
                if seen.insert(rest.clone()) {
                    queue.push_back(rest);
                }
            }
        }
    }

    /// Console sign-in through the pages: password, then the OTP.
    async fn console_sign_in(
        &mut self,
        b: &Browser,
        sms: &SmsReceiver,
        role: &str,
        username: &str,
        password: &str,
        phone: &str,
    ) {
        let seen = sms.all_to(phone).len();
        b.goto(&format!("{}/quan-tri/dang-nhap", self.base)).await;
        b.type_into("#username", username).await;
        b.type_into("#password", password).await;
        b.click("button[type=submit].primary").await;
        b.find("#otp").await;
        self.check(b, role, "console-otp").await;
        let code = sms.wait_code(phone, seen).await;
        b.type_into("#otp", &code).await;
        b.click("button[type=submit].primary").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// A new browser for a staff member created with a temporary password:
    /// signed in (password + OTP) and through the forced change.
    async fn staff_browser(
        &mut self,
        sms: &SmsReceiver,
        role: &str,
        username: &str,
        phone: &str,
        temp: &str,
    ) -> Browser {
        let b = new_browser().await;
        self.console_sign_in(&b, sms, role, username, temp, phone)
            .await;
        self.forced_change(&b, role, temp).await;
        b
    }

    /// A temporary password forces a change first: the page, then the
    /// change, then the console.
    async fn forced_change(&mut self, b: &Browser, role: &str, temp: &str) {
        for _ in 0..50 {
            if b.url().await.ends_with("/quan-tri/doi-mat-khau") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = b.url().await;
        if !url.ends_with("/quan-tri/doi-mat-khau") {
            self.fail(format!("{role}: not sent to the password change ({url})"));
            return;
        }
        b.find("#current_password").await;
        self.check(b, role, "forced-password-change").await;
        // A weak one first: the page explains, nothing changes.
        b.type_into("#current_password", temp).await;
        b.type_into("#password", "yeu").await;
        b.type_into("#password_confirm", "yeu").await;
        b.click("button[type=submit].primary").await;
        b.find(".field-error, .flash.error").await;
        self.check(b, role, "forced-password-change-error").await;
        b.type_into("#current_password", temp).await;
        b.type_into("#password", NEW_PW).await;
        b.type_into("#password_confirm", NEW_PW).await;
        b.click("button[type=submit].primary").await;
        b.wait_text("Đổi mật khẩu thành công").await;
        self.check(b, role, "password-changed").await;
        // Now the console opens.
        self.visit(b, role, "/quan-tri", 200).await;
    }
}

/// Creates a staff member through the JSON API with the admin's browser
/// session (cookie + CSRF header), grants `perms` on `unit`, and returns
/// the temporary password from the SMS.
/// A staff member to create: username, phone, ID number.
struct Who<'a>(&'a str, &'a str, &'a str);

async fn staff_via_api(
    w: &Walk,
    admin: &Browser,
    sms: &SmsReceiver,
    who: Who<'_>,
    unit: u64,
    perms: &[&str],
) -> String {
    let Who(username, phone, id_number) = who;
    let cookies = admin.cookie_header().await;
    // The CSRF token is bound to the session: read it from a console form.
    let csrf = admin
        .exec("const f = document.querySelector('input[name=_csrf]'); return f ? f.value : '';")
        .await
        .as_str()
        .unwrap_or("")
        .to_string();
    let r = w
        .http
        .post(format!("{}/api/v1/staff", w.base))
        .header("cookie", &cookies)
        .header("x-csrf-token", &csrf)
        .json(&json!({"username": username, "full_name": "Nguyễn Thị Cán Bộ", "id_number": id_number, "phone": phone, "unit_ids": [unit]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let r = w
        .http
        .put(format!("{}/api/v1/staff/{username}/grants", w.base))
        .header("cookie", &cookies)
        .header("x-csrf-token", &csrf)
        .json(&json!({"unit_id": unit, "permissions": perms}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    temp_password(&sms.wait_nth(phone, 1).await.text)
}

async fn unit_id(w: &Walk, admin: &Browser, name: &str) -> u64 {
    let cookie = admin.cookie_header().await;
    unit_id_with_cookie(&w.http, &w.base, &cookie, name).await
}

async fn new_browser() -> Browser {
    let b = Browser::start(1366, 768).await;
    b.bypass_csp().await;
    b
}

#[tokio::test]
async fn every_page_works_for_every_role() {
    let _ = std::fs::remove_dir_all(format!(
        "{}/target/screenshots/walk",
        env!("CARGO_MANIFEST_DIR")
    ));
    let sms = SmsReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &sms).await;
    let mut w = Walk {
        base: server.base.clone(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        axe: axe_source(),
        failures: vec![],
        pages: BTreeMap::new(),
        counts: BTreeMap::new(),
    };
    let started = std::time::Instant::now();

    // ---- Anonymous.
    let anon = new_browser().await;
    anon.goto(&format!("{}/", w.base)).await;
    w.probe_axe(&anon).await;
    w.crawl(&anon, "anonymous", &["/", "/quan-tri/dang-nhap"], 25)
        .await;
    w.visit(&anon, "anonymous", "/trang-khong-ton-tai", 404)
        .await;
    w.visit(&anon, "anonymous", "/quan-tri/trang-khong-ton-tai", 404)
        .await;
    let gone = format!("/dang-ky/xac-thuc/{}", "A".repeat(43));
    w.visit(&anon, "anonymous", &gone, 410).await;
    let gone = format!("/quen-mat-khau/xac-thuc/{}", "B".repeat(43));
    w.visit(&anon, "anonymous", &gone, 410).await;
    // Portal sign-in and forgot-password with empty fields.
    anon.goto(&format!("{}/dang-nhap", w.base)).await;
    anon.click("#login-submit").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.check(&anon, "anonymous", "portal-login-empty").await;
    anon.goto(&format!("{}/quen-mat-khau", w.base)).await;
    anon.click("#forgot-submit").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.check(&anon, "anonymous", "forgot-empty").await;
    // Console sign-in with a wrong password.
    anon.goto(&format!("{}/quan-tri/dang-nhap", w.base)).await;
    anon.type_into("#username", "quantri").await;
    anon.type_into("#password", "Sai#MatKhau1").await;
    anon.click("button[type=submit].primary").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.check(&anon, "anonymous", "console-login-wrong").await;
    anon.quit().await;

    // ---- The province admin: the setup link printed at start.
    let log = std::fs::read_to_string(&server.log).unwrap();
    let link = log
        .split_whitespace()
        .find(|x| x.contains("/quan-tri/thiet-lap/"))
        .expect("serve prints the setup link")
        .to_string();
    let admin = new_browser().await;
    admin.goto(&link).await;
    admin.find("#username").await;
    w.check(&admin, "admin", "setup").await;
    // A mismatched confirmation first: field messages, values kept.
    admin.type_into("#username", "quantri").await;
    admin.type_into("#full_name", "Trần Văn Quản").await;
    admin.type_into("#phone", "0912000777").await;
    admin.type_into("#password", ADMIN_PW).await;
    admin.type_into("#password_confirm", "Khac#MatKhau1").await;
    admin.click("button[type=submit].primary").await;
    admin.find(".field-error").await;
    w.check(&admin, "admin", "setup-error").await;
    admin.type_into("#password", ADMIN_PW).await;
    admin.type_into("#password_confirm", ADMIN_PW).await;
    admin.click("button[type=submit].primary").await;
    admin.wait_text("Xin chào").await;
    w.check(&admin, "admin", "dashboard-after-setup").await;
    // The used link is gone.
    let used = link.strip_prefix(&w.base).unwrap().to_string();
    w.visit(&admin, "admin", &used, 410).await;
    // Sign out, then in with the SMS OTP.
    admin.delete_cookies().await;
    w.console_sign_in(&admin, &sms, "admin", "quantri", ADMIN_PW, "0912000777")
        .await;
    admin.wait_text("Xin chào").await;
    w.crawl(&admin, "admin", &["/quan-tri"], 45).await;
    w.visit(&admin, "admin", "/quan-tri/can-bo/khong-co-ai", 404)
        .await;

    // A staff member the admin creates in "Cán bộ và phân quyền".
    admin.goto(&format!("{}/quan-tri/can-bo", w.base)).await;
    admin.type_into("#s-username", "canbo.moi").await;
    admin.type_into("#s-name", "Lê Thị Mới").await;
    admin.type_into("#s-id", "033185009876").await;
    admin.type_into("#s-phone", "0988111222").await;
    admin
        .select("#s-unit", "Bộ phận một cửa UBND huyện Văn Lâm")
        .await;
    admin
        .click("form[action='/quan-tri/can-bo'] button.primary")
        .await;
    let temp = temp_password(&sms.wait_nth("0988111222", 1).await.text);
    w.check(&admin, "admin", "staff-created").await;

    // The other staff, through the API with the admin's session.
    let one_stop = unit_id(&w, &admin, "Bộ phận một cửa UBND huyện Văn Lâm").await;
    let not_one_stop = unit_id(&w, &admin, "Sở Tư pháp").await;
    let temp_os = staff_via_api(
        &w,
        &admin,
        &sms,
        Who("motcua.vanlam", "0988222333", "033090007777"),
        one_stop,
        &["citizen_accounts.create", "support.manage"],
    )
    .await;
    let temp_nos = staff_via_api(
        &w,
        &admin,
        &sms,
        Who("tuphap.canbo", "0988333444", "033078006666"),
        not_one_stop,
        &["citizen_accounts.create"],
    )
    .await;
    admin.quit().await;

    // ---- The staff member created in the console: forced change first.
    let created = w
        .staff_browser(&sms, "created-staff", "canbo.moi", "0988111222", &temp)
        .await;
    // No permission yet: the citizen-account page explains why (403).
    w.crawl_allowing(
        &created,
        "created-staff",
        &["/quan-tri"],
        20,
        &[("/quan-tri/tao-tai-khoan-cong-dan", 403)],
    )
    .await;
    created.quit().await;

    // ---- One-stop staff: the request steps 1–3.
    let os = w
        .staff_browser(&sms, "one-stop", "motcua.vanlam", "0988222333", &temp_os)
        .await;
    w.crawl(&os, "one-stop", &["/quan-tri"], 25).await;
    w.visit(&os, "one-stop", "/quan-tri/don-vi", 403).await;
    w.visit(
        &os,
        "one-stop",
        "/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/999999",
        404,
    )
    .await;
    let gone = format!(
        "/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{}",
        "C".repeat(43)
    );
    w.visit(&os, "one-stop", &gone, 410).await;
    os.goto(&format!(
        "{}/quan-tri/tao-tai-khoan-cong-dan/them-moi",
        w.base
    ))
    .await;
    os.type_into("#lookup-id", "033301004567").await;
    os.click("#lookup-btn").await;
    os.find("#create-form").await;
    w.check(&os, "one-stop", "request-step1-form").await;
    // Missing fields: the form says which.
    os.click("#create-btn").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    w.check(&os, "one-stop", "request-step1-errors").await;
    let scan = dir.path().join("cccd.pdf");
    std::fs::write(&scan, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").unwrap();
    os.goto(&format!(
        "{}/quan-tri/tao-tai-khoan-cong-dan/them-moi",
        w.base
    ))
    .await;
    os.type_into("#lookup-id", "033301004567").await;
    os.click("#lookup-btn").await;
    os.find("#create-form").await;
    os.type_into("#c-name", "Phạm Thị Dung").await;
    os.type_into("#c-dob", "09/09/2001").await;
    os.type_into("#c-phone", "0356789012").await;
    os.upload("#c-scan", &scan).await;
    os.click("#create-btn").await;
    for _ in 0..50 {
        if os.url().await.contains("/yeu-cau/") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.check(&os, "one-stop", "request-step2").await;
    if let Some(btn) = os.try_find("form[action$='/gui-otp'] button").await {
        let _ = btn;
        os.click("form[action$='/gui-otp'] button").await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        w.check(&os, "one-stop", "request-step3-otp").await;
        let code = sms.wait_code("0356789012", 0).await;
        // A wrong code first.
        let wrong = wrong_code(&code);
        if os.try_find("#otp").await.is_some() {
            os.type_into("#otp", wrong).await;
            os.click("form[action$='/tao-tai-khoan'] button.primary")
                .await;
            tokio::time::sleep(Duration::from_millis(400)).await;
            w.check(&os, "one-stop", "request-step3-wrong-otp").await;
        }
    } else {
        w.fail("one-stop: no send-OTP button on the request page".into());
    }
    os.quit().await;

    // ---- Staff of a unit that is not one-stop (the seed's problem 1).
    let nos = w
        .staff_browser(
            &sms,
            "not-one-stop",
            "tuphap.canbo",
            "0988333444",
            &temp_nos,
        )
        .await;
    w.crawl(&nos, "not-one-stop", &["/quan-tri"], 20).await;
    nos.goto(&format!(
        "{}/quan-tri/tao-tai-khoan-cong-dan/them-moi",
        w.base
    ))
    .await;
    w.check(&nos, "not-one-stop", "request-no-unit").await;
    nos.quit().await;

    // ---- A citizen: registers through the portal pages, signs in.
    let c = new_browser().await;
    c.goto(&format!("{}/dang-ky", w.base)).await;
    w.check(&c, "citizen", "register-choice").await;
    c.click("#method-mobile").await;
    c.find("#register-submit").await;
    w.check(&c, "citizen", "register-form").await;
    c.click("#register-submit").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    w.check(&c, "citizen", "register-form-errors").await;
    c.type_into("#id_number", "033090001234").await;
    c.type_into("#full_name", "Nguyễn Văn An").await;
    c.type_into("#birth_date", "15/03/1990").await;
    c.type_into("#phone", "0372123456").await;
    if c.try_find("#captcha").await.is_some() {
        c.type_into("#captcha", "abcde").await;
    }
    // Consent is a hidden field: pressing Đăng ký agrees to the terms.
    c.click("#register-submit").await;
    c.find("#otp-d0").await;
    w.check(&c, "citizen", "register-otp").await;
    let code = sms.wait_code("0372123456", 0).await;
    c.type_into("#otp-d0", &code).await;
    c.click("#otp-submit").await;
    c.find("#password").await;
    w.check(&c, "citizen", "register-password").await;
    c.type_into("#password", CITIZEN_PW).await;
    c.type_into("#password_confirm", CITIZEN_PW).await;
    c.click("#password-submit").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.check(&c, "citizen", "register-done").await;
    // Sign in: password, then the OTP.
    let seen = sms.all_to("0372123456").len();
    c.goto(&format!("{}/dang-nhap", w.base)).await;
    c.type_into("#username", "033090001234").await;
    c.type_into("#password", CITIZEN_PW).await;
    if c.try_find("#captcha").await.is_some() {
        c.type_into("#captcha", "x").await;
    }
    c.click("#login-submit").await;
    c.find("#otp-d0").await;
    w.check(&c, "citizen", "login-otp").await;
    let code = sms.wait_code("0372123456", seen).await;
    c.type_into("#otp-d0", &code).await;
    c.click("#otp-submit").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    w.crawl(
        &c,
        "citizen",
        &["/tai-khoan", "/tai-khoan/de-nghi-cap-quyen", "/"],
        20,
    )
    .await;
    w.visit(&c, "citizen", "/quan-tri/don-vi", 200).await; // the console's sign-in page
    c.quit().await;

    let secs = started.elapsed().as_secs();
    let mut report = format!("page walk: {secs} s\n");
    for (role, pages) in &w.pages {
        report.push_str(&format!("  {role}: {} pages\n", pages.len()));
    }
    for (k, n) in &w.counts {
        report.push_str(&format!("  axe serious/critical {k}: {n}\n"));
    }
    eprintln!("{report}");
    std::fs::create_dir_all(format!(
        "{}/target/screenshots/walk",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    std::fs::write(
        format!(
            "{}/target/screenshots/walk/REPORT.txt",
            env!("CARGO_MANIFEST_DIR")
        ),
        format!("{report}\n{}\n", w.failures.join("\n")),
    )
    .unwrap();
    assert!(
        w.failures.is_empty(),
        "{} problem(s):\n{}",
        w.failures.len(),
        w.failures.join("\n")
    );
    let _ = extract_code;
}
