//! SMS message templates (Quản trị hệ thống → Mẫu tin nhắn) and the daily
//! SMS budget (`MOTCUA_SMS_DAILY_LIMIT`): the console form, the texts that
//! really go out through the SMS gateway double, citizens refused past the
//! budget while staff-initiated messages still go, the dashboard alert;
//! and the editor in real headless Chromium.

use std::time::Duration;

use motcua::sms::budget::REFUSAL;
use motcua::sms::template::Initiator;
use motcua::store::{audit, sms as store_sms, sms_templates};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::webdriver::Browser;

const CITIZEN_ID: &str = "033301004567";
const CITIZEN_PHONE: &str = "0356789012";

/// A console session of the province admin, made in the store; returns
/// the cookie header and its CSRF token.
fn admin_cookie(t: &TestApp) -> (String, String) {
    let now = t.app.now();
    let token = t
        .app
        .store
        .write(|w| {
            let a = motcua::store::accounts::get(w, ADMIN)?.expect("admin");
            motcua::auth::session::create(w, &a, true, false, now)
        })
        .unwrap();
    let csrf = motcua::web::ctx::csrf_for_session(&t.app, &token);
    (format!("mc_session={token}"), csrf)
}

async fn post_form(t: &TestApp, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = t.post_form(path, cookie, form).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn reset_request(t: &TestApp, username: &str) -> reqwest::Response {
    t.http
        .post(t.url("/api/v1/password-resets"))
        .json(&json!({"username": username, "captcha_id": "x", "captcha": "y"}))
        .send()
        .await
        .unwrap()
}

fn flows_count(t: &TestApp) -> u64 {
    t.app
        .store
        .read(|r| motcua::store::flows::FLOWS.len(r))
        .unwrap()
}

#[tokio::test]
async fn edited_template_is_what_goes_out_and_a_template_without_its_code_is_refused() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    t.create_superadmin().await;
    portal_account(&t, CITIZEN_ID, "Phạm Thị Dung", CITIZEN_PHONE).await;
    let (cookie, csrf) = admin_cookie(&t);
    let path = "/quan-tri/mau-tin-nhan/otp-quen-mat-khau";

    // The list: every template, today's reset OTP costs 2 UCS-2 segments.
    let (s, html) = t.page("/quan-tri/mau-tin-nhan", Some(&cookie)).await;
    assert_eq!(s, 200);
    assert!(html.contains("Mã OTP lấy lại mật khẩu"), "{html}");
    assert_eq!(html.matches("<tr id=\"tpl-").count(), 11);
    let row = html.split("id=\"tpl-otp-quen-mat-khau\"").nth(1).unwrap();
    let row = row.split("</tr>").next().unwrap();
    assert!(row.contains("UCS-2"), "{row}");
    assert!(
        row.contains("<td data-label=\"Số tin\" class=\"segments\">2</td>"),
        "{row}"
    );

    // Without {ma_otp}: refused with a clear message, nothing stored.
    let (s, html) = post_form(
        &t,
        &cookie,
        path,
        &[
            ("_csrf", &csrf),
            ("text", "Ma dat lai mat khau, hieu luc {phut} phut."),
            ("unaccent", "on"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        html.contains("Mẫu tin nhắn phải có chỗ điền {ma_otp}"),
        "{html}"
    );
    assert!(
        html.contains("Ma dat lai mat khau, hieu luc {phut} phut."),
        "the typed text stays in the form"
    );
    assert_eq!(
        t.app
            .store
            .read(|r| sms_templates::get(r, "otp-quen-mat-khau"))
            .unwrap(),
        None
    );
    // A placeholder the template cannot use, and a missing CSRF token.
    let (s, html) = post_form(
        &t,
        &cookie,
        path,
        &[("_csrf", &csrf), ("text", "{ma_otp} {mat_khau}")],
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        html.contains("Chỗ điền {mat_khau} không dùng được"),
        "{html}"
    );
    let (s, _) = post_form(&t, &cookie, path, &[("text", "OTP {ma_otp}")]).await;
    assert_eq!(s, 403);
    assert_eq!(
        t.app
            .store
            .read(|r| sms_templates::get(r, "otp-quen-mat-khau"))
            .unwrap(),
        None
    );

    // A valid edit, with "bỏ dấu": saved, audited.
    let text =
        "Mã lấy lại mật khẩu: {ma_otp} (hiệu lực {phut} phút). Gọi {so_tong_dai} nếu cần hỗ trợ.";
    let fields = [("_csrf", csrf.as_str()), ("text", text), ("unaccent", "on")];
    let r = t.post_form(path, &cookie, &fields).await;
    assert_eq!(r.status(), 303);
    let stored = t
        .app
        .store
        .read(|r| sms_templates::get(r, "otp-quen-mat-khau"))
        .unwrap()
        .expect("saved");
    assert_eq!(stored.text, text);
    assert!(stored.unaccent);
    assert_eq!(stored.updated_by, ADMIN);
    let entries = t
        .app
        .store
        .read(|r| audit::search(r, &audit::AuditFilter::default(), 50))
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "sms_template_update"
                && e.object == "sms_template:otp-quen-mat-khau"),
        "{entries:?}"
    );
    let (_, html) = t
        .page(&format!("{path}?ok=mau-tin-nhan"), Some(&cookie))
        .await;
    assert!(html.contains("Đã lưu mẫu tin nhắn."), "{html}");
    assert!(
        html.contains("id=\"preview-segments\">1<"),
        "one GSM-7 segment now"
    );
    let (_, log) = t.page("/quan-tri/nhat-ky", Some(&cookie)).await;
    assert!(log.contains("Sửa mẫu tin nhắn SMS"), "audit label");
    assert!(log.contains("Mẫu tin nhắn: Mã OTP lấy lại mật khẩu"));

    // The next reset code goes out with the new text, unaccented.
    let r = reset_request(&t, CITIZEN_ID).await;
    assert_eq!(r.status(), 202);
    let m = t.sms.wait_nth(CITIZEN_PHONE, 1).await;
    let code = extract_code(&m.text).expect("a code");
    assert_eq!(
        m.text,
        format!(
            "Ma lay lai mat khau: {code} (hieu luc 2 phut). Goi {} neu can ho tro.",
            t.app.cfg.office_phone
        )
    );

    // Back to the default.
    let r = t
        .post_form(&format!("{path}/mac-dinh"), &cookie, &[("_csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        t.app
            .store
            .read(|r| sms_templates::get(r, "otp-quen-mat-khau"))
            .unwrap(),
        None
    );

    // Staff without the province admin's rights cannot open the editor.
    let admin = t.staff_token(ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let staff = t
        .staff_with(
            &admin,
            "motcua.vl",
            "0988000808",
            "033185000808",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    let r = t
        .http
        .get(t.url("/quan-tri/mau-tin-nhan"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn daily_limit_refuses_citizens_staff_messages_still_go_and_the_dashboard_warns() {
    // 5 segments a day; today's reset OTP is 2 UCS-2 segments.
    let t = spawn_app_with(|c| {
        c.captcha = false;
        c.sms.daily_limit = Some(5);
    })
    .await;
    t.create_superadmin().await;
    portal_account(&t, CITIZEN_ID, "Phạm Thị Dung", CITIZEN_PHONE).await;
    let (cookie, _) = admin_cookie(&t);
    let (_, html) = t.page("/quan-tri", Some(&cookie)).await;
    assert!(
        !html.contains("sms-budget-alert"),
        "no alert while the budget is fine"
    );

    // Two citizen requests fit (4 of 5 segments); the dashboard warns.
    for _ in 0..2 {
        let r = reset_request(&t, CITIZEN_ID).await;
        assert_eq!(r.status(), 202);
    }
    t.sms.wait_nth(CITIZEN_PHONE, 2).await;
    let (_, html) = t.page("/quan-tri", Some(&cookie)).await;
    assert!(
        html.contains("Sắp hết hạn mức tin nhắn SMS trong ngày: đã dùng 4/5 đoạn tin."),
        "{html}"
    );

    // The third would pass the limit: 429 with the JSON error of api.md,
    // Retry-After until the next local day, nothing changed.
    let flows = flows_count(&t);
    let jobs = t
        .app
        .store
        .read(|r| store_sms::recent(r, 100))
        .unwrap()
        .len();
    let r = reset_request(&t, CITIZEN_ID).await;
    assert_eq!(r.status(), 429);
    let retry = retry_after(&r);
    assert!(retry > 0 && retry <= 86_400, "{retry}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    assert_eq!(v["error"]["message"], REFUSAL);
    // An unknown username gets the same answer (no enumeration).
    let r = reset_request(&t, "033090009999").await;
    assert_eq!(r.status(), 429);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u, v);
    // The portal page says it in Vietnamese.
    let form = t.open_form("/quen-mat-khau", "").await;
    let fields = [
        ("_csrf", form.csrf.as_str()),
        ("username", CITIZEN_ID),
        ("captcha_id", "x"),
        ("captcha", "y"),
    ];
    let r = t.post_form("/quen-mat-khau", &form.cookie, &fields).await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains(REFUSAL));
    // A portal sign-in code is refused too (citizen-initiated).
    let r = t
        .post_json(
            "/api/v1/login",
            None,
            &json!({"username": CITIZEN_ID, "password": PORTAL_PASSWORD, "captcha_id": "x", "captcha": "y"}),
        )
        .await;
    assert_eq!(r.0, 429, "{}", r.1);
    assert_eq!(r.1["error"]["message"], REFUSAL);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(flows_count(&t), flows, "no flow was created");
    assert_eq!(
        t.app
            .store
            .read(|r| store_sms::recent(r, 100))
            .unwrap()
            .len(),
        jobs,
        "nothing was queued"
    );
    assert_eq!(t.sms.all_to(CITIZEN_PHONE).len(), 2);

    // Staff-initiated messages still go out: the admin's console sign-in
    // code and a new staff member's temporary password.
    let admin = t.staff_token(ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let (s, v) = t
        .post_json(
            "/api/v1/staff",
            Some(&admin),
            &json!({"username": "motcua.vl", "full_name": "Lê Thị Một Cửa", "id_number": "033185000808", "phone": "0988000808", "unit_ids": [unit]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let m = t.sms.wait_nth("0988000808", 1).await;
    assert!(m.text.contains("Mật khẩu tạm thời: "), "{}", m.text);
    let all = t.app.store.read(|r| store_sms::recent(r, 100)).unwrap();
    for j in &all {
        let expected = if j.to == CITIZEN_PHONE {
            Initiator::Citizen
        } else {
            Initiator::Staff
        };
        assert_eq!(j.initiator, expected, "{} {}", j.to, j.kind);
    }
    let used = t
        .app
        .store
        .read(|r| store_sms::segments_on(r, t.app.now()))
        .unwrap();
    assert!(used > 5, "staff messages went past the limit: {used}");

    // The province admin sees the alert; the SMS page marks who asked.
    let (_, html) = t.page("/quan-tri", Some(&cookie)).await;
    assert!(html.contains("id=\"sms-budget-alert\""), "{html}");
    assert!(
        html.contains(&format!(
            "Đã dùng hết hạn mức tin nhắn SMS trong ngày ({used}/5 đoạn tin)."
        )),
        "{html}"
    );
    let (_, html) = t.page("/quan-tri/tin-nhan", Some(&cookie)).await;
    assert!(html.contains("<td>Công dân</td>") && html.contains("<td>Cán bộ</td>"));
    // A staff member without province rights sees no alert.
    let now = t.app.now();
    let staff_cookie = t
        .app
        .store
        .write(|w| {
            let a = motcua::store::accounts::get(w, "motcua.vl")?.expect("staff");
            let mut a2 = a.clone();
            a2.must_change_password = false;
            motcua::store::accounts::put(w, &a2)?;
            motcua::auth::session::create(w, &a2, true, false, now)
        })
        .unwrap();
    let (s, html) = t
        .page("/quan-tri", Some(&format!("mc_session={staff_cookie}")))
        .await;
    assert_eq!(s, 200);
    assert!(!html.contains("sms-budget-alert"));
}

/// The editor in real headless Chromium: the preview, character count,
/// encoding and segments follow the typing and the "bỏ dấu" switch, agree
/// with the server's count, and an OTP template without `{ma_otp}` is
/// refused with the message on the page.
#[tokio::test]
async fn template_editor_in_a_real_browser() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let b = Browser::start(1366, 900).await;
    crate::browser::console_sign_in(&t, &b, ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    b.wait_text("Xin chào").await;
    b.click("a[href='/quan-tri/mau-tin-nhan']").await;
    b.wait_text("Mã OTP đăng ký tài khoản").await;
    b.screenshot("sms-templates-list-1366").await;
    b.click("#tpl-otp-dang-ky a").await;
    b.find("#tpl-text").await;
    b.wait_text("Xem trước").await;
    // Today's text: UCS-2, 2 segments.
    assert_eq!(b.text("#preview-encoding").await, "UCS-2 (Unicode)");
    assert_eq!(b.text("#preview-segments").await, "2");
    let chars: usize = b.text("#preview-chars").await.parse().unwrap();
    assert!(chars > 70 && chars <= 134, "{chars}");
    assert!(
        b.text("#preview-text")
            .await
            .starts_with("Mã OTP đăng ký tài khoản là 123456")
    );

    // "Bỏ dấu": one GSM-7 segment, at once.
    b.click("#tpl-unaccent").await;
    assert_eq!(b.text("#preview-encoding").await, "GSM-7");
    assert_eq!(b.text("#preview-segments").await, "1");
    assert!(
        b.text("#preview-text")
            .await
            .starts_with("Ma OTP dang ky tai khoan la 123456")
    );
    b.screenshot("sms-template-unaccent-1366").await;

    // Typing updates the count: 150 plain characters + the code.
    let long = format!("{} {{ma_otp}}", "a".repeat(150));
    b.type_into("#tpl-text", &long).await;
    assert_eq!(b.text("#preview-chars").await, "157");
    assert_eq!(b.text("#preview-segments").await, "1");
    b.type_into("#tpl-text", &format!("{long} [x]")).await;
    // "[" and "]" are GSM-7 extension characters: two each.
    assert_eq!(
        b.text("#preview-chars").await,
        (157 + 1 + 2 + 1 + 2).to_string()
    );
    assert_eq!(b.text("#preview-segments").await, "2");
    b.click("#tpl-unaccent").await;
    b.type_into("#tpl-text", "Mã số: {ma_otp}, hết hạn sau {phut} phút.")
        .await;
    assert_eq!(b.text("#preview-encoding").await, "UCS-2 (Unicode)");
    assert_eq!(
        b.text("#preview-text").await,
        "Mã số: 123456, hết hạn sau 2 phút."
    );

    // Without {ma_otp}: the page warns while typing, and the server refuses.
    b.type_into("#tpl-text", "Ma OTP cua ban, hieu luc {phut} phut.")
        .await;
    assert!(b.text("#preview-warning").await.contains("{ma_otp}"));
    b.click("#template-form button.primary").await;
    b.find("#template-error").await;
    let err = b.text("#template-error").await;
    assert!(
        err.contains("Mẫu tin nhắn phải có chỗ điền {ma_otp}"),
        "{err}"
    );
    assert!(err.contains("chưa được lưu"), "{err}");
    b.screenshot("sms-template-refused-1366").await;
    assert_eq!(
        t.app
            .store
            .read(|r| sms_templates::get(r, "otp-dang-ky"))
            .unwrap(),
        None,
        "nothing changed"
    );

    // A valid text with "bỏ dấu": the server's count after saving is the
    // one the browser showed before.
    b.type_into(
        "#tpl-text",
        "Mã OTP đăng ký của Ông/Bà là {ma_otp}, dùng trong {phut} phút. Không đưa mã này cho ai.",
    )
    .await;
    b.click("#tpl-unaccent").await;
    let before = (
        b.text("#preview-chars").await,
        b.text("#preview-encoding").await,
        b.text("#preview-segments").await,
        b.text("#preview-text").await,
    );
    b.click("#template-form button.primary").await;
    b.wait_text("Đã lưu mẫu tin nhắn.").await;
    // The page as the server drew it, before the script runs.
    let served = t
        .http
        .get(t.url("/quan-tri/mau-tin-nhan/otp-dang-ky"))
        .header("cookie", b.cookie_header().await)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cell = |id: &str| {
        served
            .split(&format!("id=\"{id}\""))
            .nth(1)
            .and_then(|r| r.split('>').nth(1))
            .and_then(|r| r.split('<').next())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(cell("preview-chars"), before.0);
    assert_eq!(cell("preview-encoding"), before.1);
    assert_eq!(cell("preview-segments"), before.2);
    assert_eq!(before.1, "GSM-7");
    assert_eq!(
        before.3,
        "Ma OTP dang ky cua Ong/Ba la 123456, dung trong 2 phut. Khong dua ma nay cho ai."
    );
    let stored = t
        .app
        .store
        .read(|r| sms_templates::get(r, "otp-dang-ky"))
        .unwrap()
        .expect("saved");
    assert!(stored.unaccent);
    b.screenshot("sms-template-saved-1366").await;
    b.set_size(360, 740).await;
    b.screenshot("sms-template-saved-360").await;
    b.quit().await;
}
