//! Issue 14's walk-through findings, each checked where a person meets it:
//! error pages, short OTPs, empty sign-in fields, password resets, the
//! registration OTP page, cancelling a request, the audit log in
//! Vietnamese, support transcripts.

use serde_json::{Value, json};

use crate::helpers::*;

const VAN_LAM: &str = "Bộ phận một cửa UBND huyện Văn Lâm";

async fn page(t: &TestApp, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut rb = t.http.get(t.url(path));
    if let Some(tok) = token {
        rb = rb.bearer_auth(tok);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn unknown_pages_are_vietnamese_html_pages_and_the_api_keeps_json() {
    let t = spawn_app().await;
    for (path, status, frame) in [
        ("/khong-ton-tai", 404, "Cổng Dịch vụ công"),
        ("/quan-tri/khong-ton-tai", 404, "Quản trị Cổng Dịch vụ công"),
        ("/tai-khoan/khong-co/gi", 404, "Cổng Dịch vụ công"),
    ] {
        let (s, ct, body) = page(&t, path, None).await;
        assert_eq!(s, status, "{path}");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        assert!(body.contains("<html lang=\"vi\">"), "{path}");
        assert!(body.contains("<title>Không tìm thấy trang – "), "{path}");
        assert!(body.contains(frame), "{path}");
        assert!(body.contains("Về trang chủ"), "{path}: a way back");
    }
    // A wrong method on a page: a page too.
    let r = t
        .http
        .get(t.url("/quan-tri/don-vi/12"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(r.text().await.unwrap().contains("lang=\"vi\""));
    // The API keeps the JSON error of api.md.
    let (s, ct, body) = page(&t, "/api/v1/khong-ton-tai", None).await;
    assert_eq!(s, 404);
    assert!(ct.starts_with("application/json"), "{ct}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_short_otp_asks_for_six_digits_and_spends_no_try() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let (s, v) = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(s, 200, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = t.sms.wait_code(ADMIN_PHONE, 0).await;
    // Ten slips: more than the 5 tries a code has.
    for slip in [
        "12", "", "12345", "1234567", "12a456", "12", "1", "99", "0", "123",
    ] {
        let (s, v) = t.submit_otp("staff/login", &flow, slip).await;
        assert_eq!(s, 400, "{slip:?}: {v}");
        assert_eq!(
            v["error"]["fields"]["otp"], "Vui lòng nhập đủ 6 chữ số của mã OTP.",
            "{v}"
        );
    }
    let (s, v) = t.submit_otp("staff/login", &flow, &code).await;
    assert_eq!(s, 200, "the right code still works: {v}");
}

#[tokio::test]
async fn empty_sign_in_fields_get_field_messages() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    let (s, v) = t
        .post_json(
            "/api/v1/login",
            None,
            &json!({"username": "", "password": "", "captcha_id": "x", "captcha": "x"}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["error"]["fields"]["username"],
        "Vui lòng nhập tên đăng nhập."
    );
    assert_eq!(v["error"]["fields"]["password"], "Vui lòng nhập mật khẩu.");
    let (s, v) = t.staff_password_step("quantri", "").await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"]["fields"]["password"], "Vui lòng nhập mật khẩu.");
    // The page shows the field messages.
    let form = t.open_form("/dang-nhap", "").await;
    let r = form
        .submit(&t, "/dang-nhap", &[("username", ""), ("password", "")])
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("Vui lòng nhập tên đăng nhập."), "{html}");
    assert!(html.contains("Vui lòng nhập mật khẩu."));
    assert!(!html.contains("Tên đăng nhập hoặc mật khẩu không đúng"));
}

#[tokio::test]
async fn a_reset_checks_the_username_format_and_refuses_the_current_password() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    // A username that cannot exist: a field message, no flow.
    let (s, v) = t
        .post_json(
            "/api/v1/password-resets",
            None,
            &json!({"username": "a b!", "captcha_id": "x", "captcha": "x"}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["fields"]["username"]
            .as_str()
            .unwrap()
            .contains("Tên đăng nhập")
    );

    portal_account(&t, "033090001234", "Nguyễn Văn An", "0372123456").await;
    let (s, v) = t
        .post_json(
            "/api/v1/password-resets",
            None,
            &json!({"username": "033090001234", "captcha_id": "x", "captcha": "x"}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = t.sms.wait_code("0372123456", 0).await;
    let (s, v) = t.submit_otp("password-resets", &flow, &code).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = t
        .choose_password("password-resets", &flow, PORTAL_PASSWORD)
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["error"]["fields"]["password"],
        "Mật khẩu mới phải khác mật khẩu hiện tại."
    );
    let (s, v) = t
        .choose_password("password-resets", &flow, "Moi#MatKhau2027")
        .await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn the_registration_otp_page_says_what_happens_for_an_existing_id() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    portal_account(&t, "033090001234", "Nguyễn Văn An", "0372123456").await;
    let form = t.open_form("/dang-ky/cong-dan/thue-bao", "").await;
    let fields = [
        ("id_number", "033090001234"),
        ("full_name", "Nguyễn Văn An"),
        ("birth_date", "15/03/1990"),
        ("phone", "0372123456"),
        ("email", ""),
        ("consent", "on"),
    ];
    let r = form.submit(&t, "/dang-ky/cong-dan/thue-bao", &fields).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let flow = cookie_pair(&r, "mc_flow_dk").expect("the registration's flow cookie");
    let r = t
        .http
        .get(t.url(&to))
        .header("cookie", &flow)
        .send()
        .await
        .unwrap();
    let (s, html) = (r.status().as_u16(), r.text().await.unwrap());
    assert_eq!(s, 200);
    assert!(
        html.contains("đã có tài khoản, anh")
            && html.contains("sẽ nhận tin nhắn hướng dẫn đăng nhập hoặc lấy lại mật khẩu"),
        "{html}"
    );
}

#[tokio::test]
async fn a_request_can_be_cancelled_by_its_filer_only_and_the_audit_reads_in_vietnamese() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let unit = t.unit_id(VAN_LAM).await;
    let staff = t
        .staff_with(
            &admin,
            "canbo.huy",
            "0988000111",
            "033185000101",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    let other = t
        .staff_with(
            &admin,
            "canbo.khac",
            "0988000222",
            "033185000202",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    let (s, req) = file_dung_request(&t, &staff, unit).await;
    assert_eq!(s, 201, "{req}");
    let req = req["request_id"].as_str().unwrap().to_string();
    let (s, _) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/otp"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    let code = t.sms.wait_code("0356789012", 0).await;
    // The page offers the cancel button.
    let (s, _, html) = page(
        &t,
        &format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{req}"),
        Some(&staff),
    )
    .await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"cancel-request\""), "no cancel button");
    // A colleague cannot cancel it.
    let r = t
        .console_form(
            &other,
            &format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{req}/huy"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 404);
    // Its filer can; then the list confirms it and the code is dead.
    let r = t
        .console_form(
            &staff,
            &format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{req}/huy"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (s, _, html) = page(&t, &to, Some(&staff)).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Đã hủy yêu cầu tạo tài khoản."), "{html}");
    let (s, v) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/confirm"),
            Some(&staff),
            &json!({"otp": code}),
        )
        .await;
    assert!(s == 410 || s == 404, "{s} {v}");
    assert_eq!(uploads_count(&t), 0, "the scan went with the request");

    // The audit log reads in Vietnamese.
    let (s, _, html) = page(&t, "/quan-tri/nhat-ky", Some(&admin)).await;
    assert_eq!(s, 200);
    let html = html
        .split("id=\"audit-list\"")
        .nth(1)
        .unwrap_or("")
        .to_string();
    for label in [
        "Hủy yêu cầu tạo tài khoản công dân",
        "Lập yêu cầu tạo tài khoản công dân",
        "Phân quyền cán bộ",
        "Thêm cán bộ",
        "Gửi mã OTP cho công dân",
    ] {
        assert!(html.contains(label), "audit lacks {label}");
    }
    for code in [
        "citizen_request_cancel",
        "grants_set",
        "staff_create",
        "scan pdf",
    ] {
        assert!(
            !html.contains(&format!(">{code}")) && !html.contains(code),
            "audit shows raw {code}"
        );
    }
}

#[tokio::test]
async fn support_transcripts_render_the_bots_bold_and_hide_start() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let (s, v) = t
        .post_json("/api/v1/chat", None, &json!({"text": "/start"}))
        .await;
    assert_eq!(s, 200, "{v}");
    let conv = v["conversation_id"].as_str().unwrap().to_string();
    let (s, v) = t
        .post_json(
            "/api/v1/chat",
            None,
            &json!({"conversation_id": conv, "text": "không nhận được mã OTP"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = t
        .post_json(&format!("/api/v1/chat/{conv}/handoff"), None, &json!({}))
        .await;
    assert_eq!(s, 201, "{v}");
    let ticket = v["ticket_id"].as_u64().unwrap();
    let (s, _, html) = page(&t, &format!("/quan-tri/ho-tro/{ticket}"), Some(&admin)).await;
    assert_eq!(s, 200, "{html}");
    let thread = html.split("id=\"thread\"").nth(1).unwrap_or("");
    assert!(!thread.contains("**"), "raw markdown in the transcript");
    assert!(!thread.contains("/start"), "the /start command is shown");
    assert!(thread.contains("không nhận được mã OTP"));
}

#[tokio::test]
async fn the_web_chat_continues_in_a_new_tab_until_sign_out() {
    let t = spawn_app().await;
    let b = crate::webdriver::Browser::start(1366, 768).await;
    b.goto(&t.url("/")).await;
    b.click("#chatw-open").await;
    b.find("#chatw-log .chatw-msg, #chatw-log li, #chatw-log p")
        .await;
    b.type_into("#chatw-input", "quên mật khẩu thì làm thế nào")
        .await;
    b.click(".chatw-send").await;
    b.wait_text("quên mật khẩu thì làm thế nào").await;
    let kept = b.exec("return localStorage.getItem('motcua.chat');").await;
    let kept: Value = serde_json::from_str(kept.as_str().unwrap_or("null")).unwrap();
    assert!(kept["id"].as_str().is_some_and(|s| !s.is_empty()), "{kept}");
    let first = kept["id"].as_str().unwrap().to_string();
    let in_a_day = kept["exp"].as_f64().unwrap() - js_now(&b).await;
    assert!(
        (23.0 * 3600e3..=24.0 * 3600e3 + 5e3).contains(&in_a_day),
        "{in_a_day}"
    );
    // A new tab shows the same conversation.
    b.new_tab().await;
    b.goto(&t.url("/dang-nhap")).await;
    b.click("#chatw-open").await;
    b.wait_text("quên mật khẩu thì làm thế nào").await;
    b.screenshot("chat-new-tab-1366").await;
    // Ending it forgets it.
    b.click("#chatw-end").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let kept = b.exec("return localStorage.getItem('motcua.chat');").await;
    let kept: Value = serde_json::from_str(kept.as_str().unwrap_or("null")).unwrap_or(Value::Null);
    assert_ne!(
        kept["id"].as_str(),
        Some(first.as_str()),
        "ending forgets the conversation"
    );
    let log = b.text("#chatw-log").await;
    assert!(!log.contains("quên mật khẩu thì làm thế nào"), "{log}");
    b.quit().await;
}

async fn js_now(b: &crate::webdriver::Browser) -> f64 {
    b.exec("return Date.now();").await.as_f64().unwrap()
}

#[tokio::test]
async fn saving_says_so_and_the_staff_form_keeps_the_unit() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let unit = t.unit_id(VAN_LAM).await;
    t.staff_with(
        &admin,
        "canbo.quyen",
        "0988000333",
        "033185000303",
        unit,
        &["support.manage"],
    )
    .await;
    let r = t
        .console_form(
            &admin,
            "/quan-tri/can-bo/canbo.quyen/quyen",
            &[
                ("unit_id", &unit.to_string()),
                ("perm", "citizen_accounts.create"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (s, _, html) = page(&t, &to, Some(&admin)).await;
    assert_eq!(s, 200);
    assert!(html.contains("Đã lưu phân quyền cho cán bộ."), "{html}");
    // A staff form with a bad phone: the message, and the unit still chosen.
    let r = t
        .console_form(
            &admin,
            "/quan-tri/can-bo",
            &[
                ("username", "canbo.loi"),
                ("full_name", "Lê Văn Lỗi"),
                ("id_number", "033185000404"),
                ("phone", "12345"),
                ("unit_id", &unit.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("<option value=\"{unit}\" selected>")),
        "the chosen unit is kept"
    );
    assert!(html.contains("value=\"canbo.loi\""));
}

#[tokio::test]
async fn a_look_up_by_staff_of_a_unit_that_is_not_one_stop_says_why() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let unit = t.unit_id("Sở Tư pháp").await;
    let staff = t
        .staff_with(
            &admin,
            "tuphap.cb",
            "0988000555",
            "033185000505",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    let r = t
        .console_form(
            &staff,
            "/quan-tri/tao-tai-khoan-cong-dan/them-moi/tra-cuu",
            &[("id_number", "033301004567")],
        )
        .await;
    let html = r.text().await.unwrap();
    let result = html.split("id=\"lookup-result\"").nth(1).unwrap_or("");
    assert!(result.contains("chưa tạo được tài khoản"), "{result}");
    assert!(result.contains("Bộ phận một cửa"), "{result}");
    assert!(
        !result.contains("Vui lòng nhập thông tin công dân"),
        "{result}"
    );
    assert!(!html.contains("id=\"create-form\""));
}

/// The phone menu with the captcha-off banner: the drawer opens below the
/// header (its toggle stays visible), Esc and a tap outside close it; an
/// OTP page puts the focus in the code field.
#[tokio::test]
async fn the_phone_drawer_closes_on_esc_and_outside_and_otp_gets_focus() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    t.create_superadmin().await;
    let b = crate::webdriver::Browser::start(360, 740).await;
    b.goto(&t.url("/quan-tri/dang-nhap")).await;
    b.type_into("#username", ADMIN).await;
    b.type_into("#password", ADMIN_PASSWORD).await;
    b.click("button[type=submit].primary").await;
    b.find("#otp").await;
    let focused = b
        .exec("return document.activeElement && document.activeElement.id;")
        .await;
    assert_eq!(
        focused,
        Value::String("otp".into()),
        "the OTP field has the focus"
    );
    let code = t.sms.wait_code(ADMIN_PHONE, 0).await;
    b.type_into("#otp", &code).await;
    b.click("button[type=submit].primary").await;
    b.wait_text("Xin chào").await;
    assert!(
        b.body_text().await.contains("captcha"),
        "the test banner shows"
    );
    let open = "return document.getElementById('side-menu').classList.contains('open');";
    b.click(".menu-toggle").await;
    assert_eq!(b.exec(open).await, Value::Bool(true));
    // The drawer starts below the header: the toggle is not covered.
    let v = b
        .exec("const t = document.querySelector('.menu-toggle').getBoundingClientRect(); const s = document.getElementById('side-menu').getBoundingClientRect(); return [t.bottom, s.top];")
        .await;
    assert!(
        v[0].as_f64().unwrap() <= v[1].as_f64().unwrap() + 0.5,
        "{v}"
    );
    b.screenshot("console-drawer-open-360").await;
    b.exec("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));")
        .await;
    assert_eq!(b.exec(open).await, Value::Bool(false), "Esc closes it");
    b.click(".menu-toggle").await;
    assert_eq!(b.exec(open).await, Value::Bool(true));
    // A tap on the page beside the drawer (its right edge, mid height).
    b.exec("(document.elementFromPoint(window.innerWidth - 40, 500) || document.querySelector('main')).dispatchEvent(new MouseEvent('click', {bubbles: true}));")
        .await;
    assert_eq!(
        b.exec(open).await,
        Value::Bool(false),
        "a tap outside closes it"
    );
    b.quit().await;
}

/// Under an https public URL the flow cookie is `__Host-` and `Secure`,
/// like every cookie, and the step needs it under that name.
#[tokio::test]
async fn flow_cookies_are_host_prefixed_under_https() {
    let t = spawn_app_with(|c| {
        c.captcha = false;
        c.public_url = "https://dvc.example.vn".into();
    })
    .await;
    portal_account(&t, "033090001234", "Nguyễn Văn An", "0372123456").await;
    let form = t.open_form("/dang-nhap", "").await;
    let pre = form.cookie.clone();
    assert!(
        pre.starts_with("__Host-mc_csrf="),
        "a __Host- pre-session cookie: {pre}"
    );
    let fields = [("username", "033090001234"), ("password", PORTAL_PASSWORD)];
    let r = form.submit(&t, "/dang-nhap", &fields).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    let flow = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("mc_flow_dn="))
        .expect("a flow cookie")
        .to_string();
    assert!(flow.starts_with("__Host-mc_flow_dn="), "{flow}");
    assert!(
        flow.contains("; Secure") && flow.contains("HttpOnly") && flow.contains("Path=/"),
        "{flow}"
    );
    let flow = flow.split(';').next().unwrap().to_string();
    let (with, _) = t.page(&to, Some(&format!("{pre}; {flow}"))).await;
    assert_eq!(with, 200);
    let (without, _) = t.page(&to, Some(&pre)).await;
    assert_eq!(without, 410);
}
