//! Citizen self-service (issue 4): captcha, registration, portal sign-in,
//! password reset, citizen home; API, pages and real browsers.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::{Value, json};

use crate::helpers::*;

/// A demo subscriber (data/subscribers-demo.csv).
struct Person {
    phone: &'static str,
    id: &'static str,
    name: &'static str,
    dob: &'static str,
}

/// `Person` from a row of the registry: phone, CCCD, name, birth date.
const fn person(row: [&'static str; 4]) -> Person {
    let [phone, id, name, dob] = row;
    Person {
        phone,
        id,
        name,
        dob,
    }
}

const AN: Person = person(["0372123456", "033090001234", "Nguyễn Văn An", "15/03/1990"]);
const BINH: Person = person(["0912345678", "033185002345", "Trần Thị Bình", "02/11/1985"]);
const CUONG: Person = person(["0987654321", "033078003456", "Lê Văn Cường", "20/07/1978"]);
const DUNG: Person = person(["0356789012", "033301004567", "Phạm Thị Dung", "09/09/2001"]);
const EM: Person = person(["0868123456", "033095005678", "Hoàng Văn Em", "30/12/1995"]);

const PASSWORD: &str = "Cong#Dan2026";
const NEW_PASSWORD: &str = "Moi@MatKhau2026";
const NOTE: &str = "Chỉ các thuê bao đã khai báo thông tin chính xác với nhà mạng mới có thể đăng ký tài khoản, nếu có sai lệch thông tin vui lòng ra điểm giao dịch để cập nhật lại thông tin thuê bao";

const REG: &str = "registrations";
const LOGIN: &str = "login";
const RESET: &str = "password-resets";

/// The first code in a message to `phone` after the `seen` ones (notices
/// without a code may arrive in between).
async fn next_code(t: &TestApp, phone: &str, seen: usize) -> String {
    for _ in 0..200 {
        let all = t.sms.all_to(phone);
        if let Some(code) = all.iter().skip(seen).find_map(|m| extract_code(&m.text)) {
            return code;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no new code to {phone}");
}

/// The registration form's fields for `p`, without the captcha.
fn reg_body(p: &Person) -> Value {
    json!({
        "kind": "citizen", "method": "mobile",
        "id_number": p.id, "full_name": p.name, "birth_date": p.dob, "phone": p.phone,
        "email": null, "consent": true,
    })
}

/// `body` carrying the captcha `cap` (id, answer).
fn with_captcha(mut body: Value, cap: &(String, String)) -> Value {
    body["captcha_id"] = json!(cap.0);
    body["captcha"] = json!(cap.1);
    body
}

/// Starts a registration with a solved captcha.
async fn start_registration(t: &TestApp, body: Value) -> (u16, Value) {
    t.post_json_captcha("/api/v1/registrations", body).await
}

/// The password step of a portal sign-in, with a solved captcha.
async fn start_login(t: &TestApp, username: &str, password: &str) -> (u16, Value) {
    let body = json!({"username": username, "password": password});
    t.post_json_captcha("/api/v1/login", body).await
}

/// Asks for a password reset, with a solved captcha.
async fn start_reset(t: &TestApp, username: &str) -> (u16, Value) {
    t.post_json_captcha("/api/v1/password-resets", json!({"username": username}))
        .await
}

async fn post_raw(t: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    t.http.post(t.url(path)).json(body).send().await.unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Registers `p` to the end through the API; returns the username.
async fn register(t: &TestApp, p: &Person, password: &str) -> String {
    let seen = t.sms.all_to(p.phone).len();
    let r = start_registration(t, reg_body(p)).await;
    assert_eq!(r.0, 202, "{}", r.1);
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    let code = next_code(t, p.phone, seen).await;
    let r = t.submit_otp(REG, &flow, &code).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = t.choose_password(REG, &flow, password).await;
    assert_eq!(r.0, 201, "{}", r.1);
    r.1["username"].as_str().unwrap().to_string()
}

/// Portal sign-in through the API; returns the token response.
async fn login(t: &TestApp, username: &str, password: &str, phone: &str) -> Value {
    let seen = t.sms.all_to(phone).len();
    let r = start_login(t, username, password).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    let code = next_code(t, phone, seen).await;
    let r = t.submit_otp(LOGIN, &flow, &code).await;
    assert_eq!(r.0, 200, "{}", r.1);
    r.1
}

#[tokio::test]
async fn portal_captcha_is_a_new_image_per_request() {
    let t = spawn_app().await;
    let (s, v) = t.get_json("/api/v1/captcha", None).await;
    assert_eq!(s, 200);
    let img = v["image"].as_str().unwrap();
    assert!(img.starts_with("data:image/png;base64,"), "{img:.40}");
    let (s2, v2) = t.get_json("/api/v1/captcha", None).await;
    assert_eq!(s2, 200);
    assert_ne!(v["captcha_id"], v2["captcha_id"], "a new one per request");
    assert_ne!(v["image"], v2["image"], "a new picture per request");
}

/// No SMS has gone out (no OTP spent on a refused request).
async fn assert_nothing_sent(t: &TestApp) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(t.sms.count(), 0, "a refused request sends nothing");
}

#[tokio::test]
async fn portal_a_wrong_captcha_answer_is_refused_and_uses_the_captcha_up() {
    let t = spawn_app().await;
    let cap = t.captcha().await;
    let wrong = (cap.0.clone(), "zzzzz".to_string());
    let r = t
        .post_json(
            "/api/v1/registrations",
            None,
            &with_captcha(reg_body(&AN), &wrong),
        )
        .await;
    assert_eq!(r.0, 400, "{}", r.1);
    assert!(r.1["error"]["fields"]["captcha"].is_string(), "{}", r.1);
    // The right answer no longer works: single use.
    let r = t
        .post_json(
            "/api/v1/registrations",
            None,
            &with_captcha(reg_body(&AN), &cap),
        )
        .await;
    assert_eq!(r.0, 400);
    assert!(r.1["error"]["fields"]["captcha"].is_string());
    assert_nothing_sent(&t).await;
}

#[tokio::test]
async fn portal_an_unknown_or_empty_captcha_is_refused() {
    let t = spawn_app().await;
    let unknown = with_captcha(reg_body(&AN), &("nope".into(), "abcde".into()));
    let r = t.post_json("/api/v1/registrations", None, &unknown).await;
    assert_eq!(r.0, 400);
    assert!(r.1["error"]["fields"]["captcha"].is_string(), "{}", r.1);
    let cap = t.captcha().await;
    let empty = with_captcha(reg_body(&AN), &(cap.0, String::new()));
    let r = t.post_json("/api/v1/registrations", None, &empty).await;
    assert_eq!(r.0, 400);
    assert_eq!(
        r.1["error"]["fields"]["captcha"],
        "Vui lòng nhập mã xác thực."
    );
    assert_nothing_sent(&t).await;
}

#[tokio::test]
async fn portal_a_captcha_expires_after_ten_minutes() {
    let t = spawn_app().await;
    let cap = t.captcha().await;
    t.app.clock.advance(601);
    let r = t
        .post_json(
            "/api/v1/registrations",
            None,
            &with_captcha(reg_body(&AN), &cap),
        )
        .await;
    assert_eq!(r.0, 400);
    assert!(r.1["error"]["fields"]["captcha"].is_string(), "{}", r.1);
    assert_nothing_sent(&t).await;
}

#[tokio::test]
async fn portal_sign_in_and_reset_check_the_captcha_before_anything_else() {
    let t = spawn_app().await;
    register(&t, &AN, PASSWORD).await;
    let sent = t.sms.count();
    let bad = ("x".to_string(), "y".to_string());
    let sign_in = json!({"username": AN.id, "password": PASSWORD});
    let r = t
        .post_json("/api/v1/login", None, &with_captcha(sign_in, &bad))
        .await;
    assert_eq!(r.0, 400);
    assert!(r.1["error"]["fields"]["captcha"].is_string());
    let reset = json!({"username": AN.id});
    let r = t
        .post_json("/api/v1/password-resets", None, &with_captcha(reset, &bad))
        .await;
    assert_eq!(r.0, 400);
    assert!(r.1["error"]["fields"]["captcha"].is_string());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(t.sms.count(), sent, "no code for a refused captcha");
}

#[tokio::test]
async fn portal_routes_are_in_the_openapi_document() {
    let t = spawn_app().await;
    let (_, spec) = t.get_json("/api/v1/openapi.json", None).await;
    for p in [
        "/captcha",
        "/registrations",
        "/registrations/{flow_id}/otp",
        "/registrations/{flow_id}/otp/resend",
        "/registrations/{flow_id}/password",
        "/login",
        "/login/{flow_id}/otp",
        "/password-resets",
        "/password-resets/{flow_id}/otp",
        "/password-resets/{flow_id}/password",
    ] {
        assert!(spec["paths"][p].is_object(), "{p} missing from the spec");
    }
}

#[tokio::test]
async fn portal_captcha_off_accepts_any_answer() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    let body = with_captcha(reg_body(&AN), &("whatever".into(), "".into()));
    let r = t.post_json("/api/v1/registrations", None, &body).await;
    assert_eq!(r.0, 202, "{}", r.1);
    let page = t.get_text("/").await;
    assert!(page.contains("mã xác thực (captcha) đang tắt"));
    // Off, nothing is checked, so nothing is drawn per form: one picture
    // serves every challenge (each still has its own id).
    let (_, a) = t.get_json("/api/v1/captcha", None).await;
    let (_, b) = t.get_json("/api/v1/captcha", None).await;
    assert_ne!(a["captcha_id"], b["captcha_id"]);
    assert!(
        a["image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    assert_eq!(a["image"], b["image"]);
}

#[tokio::test]
async fn portal_registration_end_to_end_then_sign_in() {
    let t = spawn_app().await;
    let mut body = reg_body(&AN);
    body["phone"] = json!("+84 372 123 456");
    body["full_name"] = json!("  Nguyễn   Văn An ");
    body["email"] = json!("an.nguyen@example.vn");
    let r = start_registration(&t, body).await;
    assert_eq!(r.0, 202, "{}", r.1);
    assert_eq!(r.1["phone_masked"], "037*****56");
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    let sms = t.sms.wait_nth(AN.phone, 1).await;
    assert!(sms.text.contains("đăng ký tài khoản"), "{}", sms.text);
    let code = extract_code(&sms.text).unwrap();

    // The password step needs the OTP first.
    let r = t.choose_password(REG, &flow, PASSWORD).await;
    assert_eq!(r.0, 409, "{}", r.1);
    let r = t.submit_otp(REG, &flow, wrong_code(&code)).await;
    assert_eq!(r.0, 400);
    assert_eq!(
        r.1["error"]["fields"]["otp"],
        "Mã OTP không đúng. Anh/chị còn 4 lần thử."
    );
    let r = t.submit_otp(REG, &flow, &code).await;
    assert_eq!(r.0, 200, "{}", r.1);

    // Weak passwords are refused with the rules that fail.
    for (pw, confirm, field) in [
        ("abc", "abc", "password"),
        ("matkhau123", "matkhau123", "password"),
        ("Matkhau123", "Matkhau123", "password"),
        ("Cong#Dan2026", "Cong#Dan2027", "password_confirm"),
        ("An#033090001234", "An#033090001234", "password"),
    ] {
        let r = t
            .flow_step(
                "registrations",
                &flow,
                "password",
                json!({"password": pw, "password_confirm": confirm}),
            )
            .await;
        assert_eq!(r.0, 400, "{pw}: {}", r.1);
        assert!(r.1["error"]["fields"][field].is_string(), "{pw}: {}", r.1);
    }
    let r = t.choose_password(REG, &flow, PASSWORD).await;
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["username"], AN.id);
    // The flow is spent.
    let r = t.choose_password(REG, &flow, PASSWORD).await;
    assert_eq!(r.0, 410);

    let a = t
        .app
        .store
        .read(|r| motcua::store::accounts::get(r, AN.id))
        .unwrap()
        .unwrap();
    assert_eq!(a.origin, motcua::store::accounts::Origin::SelfRegistered);
    assert_eq!(a.id_number.as_deref(), Some(AN.id));
    assert_eq!(a.birth_date.as_deref(), Some(AN.dob));
    assert_eq!(a.full_name, AN.name, "the name is normalised");
    assert_eq!(a.phone, AN.phone);
    assert_eq!(a.email.as_deref(), Some("an.nguyen@example.vn"));
    assert!(!a.must_change_password && !a.is_staff());
    assert!(a.password_hash.starts_with("$argon2id$"));

    // Sign in: password + captcha, then the OTP.
    let tok = login(&t, AN.id, PASSWORD, AN.phone).await;
    assert_eq!(tok["must_change_password"], false);
    let token = tok["token"].as_str().unwrap();
    let (s, me) = t.get_json("/api/v1/me", Some(token)).await;
    assert_eq!(s, 200, "{me}");
    assert_eq!(me["id_number_masked"], "033******234");
    assert_eq!(me["phone_masked"], "037*****56");
    assert_eq!(me["full_name"], AN.name);
    assert!(!me.to_string().contains(AN.id) && !me.to_string().contains(AN.phone));
    // A portal token is not a console token.
    let (s, _) = t.get_json("/api/v1/staff/me", Some(token)).await;
    assert_eq!(s, 401);
    // Change password through /me/password.
    let r = t
        .post_json(
            "/api/v1/me/password",
            Some(token),
            &json!({"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let (s, _) = t.get_json("/api/v1/me", Some(token)).await;
    assert_eq!(s, 401, "the old session ended with the password change");
    login(&t, AN.id, NEW_PASSWORD, AN.phone).await;
}

#[tokio::test]
async fn portal_registration_a_mismatch_with_the_carrier_gets_the_note_and_names_no_field() {
    let t = spawn_app().await;
    for (field, value) in [
        ("phone", "0372123457"),
        ("full_name", "Nguyễn Văn Ân"),
        ("birth_date", "16/03/1990"),
        ("id_number", "033090001235"),
    ] {
        let mut body = reg_body(&AN);
        body[field] = json!(value);
        let r = start_registration(&t, body).await;
        assert_eq!(r.0, 400, "{field}: {}", r.1);
        assert_eq!(r.1["error"]["message"], NOTE, "{field}");
        assert!(r.1["error"].get("fields").is_none(), "{field}: {}", r.1);
    }
    assert_nothing_sent(&t).await;
}

#[tokio::test]
async fn portal_registration_the_birth_date_must_agree_with_the_cccd() {
    let t = spawn_app().await;
    // The CCCD says 1990.
    let mut body = reg_body(&AN);
    body["birth_date"] = json!("15/03/1991");
    let r = start_registration(&t, body).await;
    assert_eq!(r.0, 400);
    assert!(
        r.1["error"]["fields"]["birth_date"]
            .as_str()
            .unwrap()
            .contains("1990"),
        "{}",
        r.1
    );
    assert_nothing_sent(&t).await;
}

#[tokio::test]
async fn portal_registration_reports_all_invalid_fields_at_once() {
    let t = spawn_app().await;
    let body = json!({"kind": "citizen", "method": "mobile", "id_number": "12ab", "full_name": "",
        "birth_date": "31/02/1990", "phone": "0241234567", "email": "not-an-email", "consent": false});
    let r = start_registration(&t, body).await;
    assert_eq!(r.0, 400);
    let f = &r.1["error"]["fields"];
    for k in [
        "id_number",
        "full_name",
        "birth_date",
        "phone",
        "email",
        "consent",
    ] {
        assert!(f[k].is_string(), "{k}: {}", r.1);
    }
    assert_nothing_sent(&t).await;
}

#[tokio::test]
async fn portal_registration_methods_not_offered_say_so() {
    let t = spawn_app().await;
    for (kind, method, needle) in [
        ("business", "mobile", "chữ ký số"),
        ("citizen", "social_insurance", "Bảo hiểm xã hội"),
        ("citizen", "usb_token", "USB ký số"),
        ("citizen", "sim_signature", "SIM ký số"),
    ] {
        let mut body = reg_body(&AN);
        body["kind"] = json!(kind);
        body["method"] = json!(method);
        let r = start_registration(&t, body).await;
        assert_eq!(r.0, 400, "{kind}/{method}");
        assert!(
            r.1["error"]["message"].as_str().unwrap().contains(needle),
            "{kind}/{method}: {}",
            r.1
        );
    }
    assert_nothing_sent(&t).await;
}

#[tokio::test]
async fn portal_registration_missing_json_fields_get_the_json_error_shape() {
    let t = spawn_app().await;
    let r = t
        .post_json("/api/v1/registrations", None, &json!({"kind": "citizen"}))
        .await;
    assert_eq!(r.0, 400);
    assert_eq!(r.1["error"]["code"], "invalid_input");
    assert_nothing_sent(&t).await;
}

/// A registry where one person has two SIMs: the second is used to try to
/// register an ID that already has an account.
fn two_sim_registry(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("subs.csv");
    std::fs::write(
        &p,
        format!(
            "phone,id_number,full_name,birth_date\n{},{},{},{}\n0372999888,{},{},{}\n{},{},{},{}\n",
            AN.phone,
            AN.id,
            AN.name,
            AN.dob,
            AN.id,
            AN.name,
            AN.dob,
            BINH.phone,
            BINH.id,
            BINH.name,
            BINH.dob
        ),
    )
    .unwrap();
    p
}

#[tokio::test]
async fn portal_existing_id_gets_the_same_answer_and_a_notice() {
    let reg_dir = tempfile::tempdir().unwrap();
    let path = two_sim_registry(reg_dir.path());
    let t = spawn_app_with(|c| c.subscriber_registry = Some(path)).await;
    register(&t, &AN, PASSWORD).await;
    let other_sim = Person {
        phone: "0372999888",
        ..AN
    };

    // A new ID (Bình) and the existing one (An, from another SIM) side by side.
    let body = with_captcha(reg_body(&BINH), &t.captcha().await);
    let started = Instant::now();
    let fresh = post_raw(&t, "/api/v1/registrations", &body).await;
    let fresh_time = started.elapsed();
    let body = with_captcha(reg_body(&other_sim), &t.captcha().await);
    let started = Instant::now();
    let dup = post_raw(&t, "/api/v1/registrations", &body).await;
    let dup_time = started.elapsed();
    assert_eq!(fresh.status(), 202);
    assert_eq!(dup.status(), 202);
    let (fresh, dup): (Value, Value) = (fresh.json().await.unwrap(), dup.json().await.unwrap());
    assert_eq!(keys(&fresh), keys(&dup));
    assert_eq!(fresh["resend_in"], dup["resend_in"]);
    assert_eq!(dup["phone_masked"], "037*****88");
    assert!(
        dup_time.as_millis() < fresh_time.as_millis() * 5 + 50
            && fresh_time.as_millis() < dup_time.as_millis() * 5 + 50,
        "similar time: {fresh_time:?} vs {dup_time:?}"
    );
    // The registered phone is told; the typed one gets nothing.
    let notice = t.sms.wait_nth(AN.phone, 2).await;
    assert!(
        notice.text.contains("đã có tài khoản") && notice.text.contains("Quên mật khẩu"),
        "{}",
        notice.text
    );
    assert!(extract_code(&notice.text).is_none(), "no code in a notice");
    t.sms.wait_nth(BINH.phone, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(t.sms.all_to("0372999888").is_empty());

    // The OTP screen behaves the same: wrong codes count down, resend waits.
    let flow = dup["flow_id"].as_str().unwrap().to_string();
    let fflow = fresh["flow_id"].as_str().unwrap().to_string();
    for left in (1..5).rev() {
        let a = t.submit_otp(REG, &flow, "000000").await;
        let b = t.submit_otp(REG, &fflow, "000000").await;
        if b.0 == 200 {
            break; // the real code happened to be 000000
        }
        assert_eq!(a, b);
        assert_eq!(
            a.1["error"]["fields"]["otp"],
            format!("Mã OTP không đúng. Anh/chị còn {left} lần thử.")
        );
    }
    let a = t.flow_step(REG, &flow, "otp/resend", json!({})).await;
    assert_eq!(a.0, 429);
    t.app.clock.advance(61);
    let a = post_raw(
        &t,
        &format!("/api/v1/registrations/{flow}/otp/resend"),
        &json!({}),
    )
    .await;
    assert_eq!(a.status(), 202);
    let r = t.choose_password(REG, &flow, PASSWORD).await;
    assert_eq!(r.0, 409, "a decoy flow can never create an account");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(t.sms.all_to("0372999888").is_empty());
    let n = t
        .app
        .store
        .read(motcua::store::accounts::all)
        .unwrap()
        .len();
    assert_eq!(n, 1, "still one account");
}

#[tokio::test]
async fn portal_registration_flow_expires() {
    let t = spawn_app().await;
    let r = start_registration(&t, reg_body(&CUONG)).await;
    assert_eq!(r.0, 202);
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    let code = t.sms.wait_code(CUONG.phone, 0).await;
    let r = t.submit_otp(REG, &flow, &code).await;
    assert_eq!(r.0, 200);
    t.app
        .clock
        .advance(motcua::flows::registration::FLOW_TTL + 1);
    let r = t.choose_password(REG, &flow, PASSWORD).await;
    assert_eq!(r.0, 410, "{}", r.1);
    assert_eq!(r.1["error"]["code"], "flow_expired");
    for path in ["otp", "otp/resend"] {
        let r = t
            .post_json(
                &format!("/api/v1/registrations/{flow}/{path}"),
                None,
                &json!({"otp": code}),
            )
            .await;
        assert_eq!(r.0, 410, "{path}");
    }
    let r = t
        .post_json(
            "/api/v1/registrations/not-a-flow/otp",
            None,
            &json!({"otp": "123456"}),
        )
        .await;
    assert_eq!(r.0, 410);
    // The page says so plainly.
    let r = t
        .http
        .get(t.url(&format!("/dang-ky/xac-thuc/{flow}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    let html = r.text().await.unwrap();
    assert!(html.contains("Phiên đăng ký đã hết hạn"), "{html}");
    assert!(html.contains("href=\"/dang-ky\""));
}

/// Starts a registration for `p`; returns the flow and the code sent.
async fn registration_code(t: &TestApp, p: &Person) -> (String, String) {
    let seen = t.sms.all_to(p.phone).len();
    let r = start_registration(t, reg_body(p)).await;
    assert_eq!(r.0, 202, "{}", r.1);
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    (flow, next_code(t, p.phone, seen).await)
}

#[tokio::test]
async fn portal_five_wrong_codes_kill_a_registration_code() {
    let t = spawn_app().await;
    let (flow, code) = registration_code(&t, &DUNG).await;
    let wrong = wrong_code(&code);
    for left in (1..5).rev() {
        let r = t.submit_otp(REG, &flow, wrong).await;
        assert_eq!(r.0, 400);
        assert_eq!(
            r.1["error"]["fields"]["otp"],
            format!("Mã OTP không đúng. Anh/chị còn {left} lần thử.")
        );
    }
    let r = t.submit_otp(REG, &flow, wrong).await;
    assert_eq!(r.0, 400);
    assert!(
        r.1["error"]["fields"]["otp"]
            .as_str()
            .unwrap()
            .contains("bị khóa"),
        "{}",
        r.1
    );
    let r = t.submit_otp(REG, &flow, &code).await;
    assert_eq!(r.0, 400, "the right code no longer works");
}

#[tokio::test]
async fn portal_registration_resend_waits_and_only_the_latest_code_works() {
    let t = spawn_app().await;
    let (flow, code) = registration_code(&t, &DUNG).await;
    // Resend too early: 429 with Retry-After.
    let resend = format!("/api/v1/registrations/{flow}/otp/resend");
    let r = post_raw(&t, &resend, &json!({})).await;
    assert_eq!(r.status(), 429);
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "{wait}");
    t.app.clock.advance(wait);
    let r = post_raw(&t, &resend, &json!({})).await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["phone_masked"], "035*****12");
    assert_eq!(v["resend_in"], 60);
    let code2 = t.sms.wait_code(DUNG.phone, 1).await;
    if code2 != code {
        let r = t.submit_otp(REG, &flow, &code).await;
        assert_eq!(r.0, 400, "only the latest code works");
    }
    let r = t.submit_otp(REG, &flow, &code2).await;
    assert_eq!(r.0, 200, "{}", r.1);
}

#[tokio::test]
async fn portal_registration_code_expires_after_two_minutes() {
    let t = spawn_app().await;
    let (flow, code) = registration_code(&t, &EM).await;
    t.app.clock.advance(121);
    let r = t.submit_otp(REG, &flow, &code).await;
    assert_eq!(r.0, 400);
    assert!(
        r.1["error"]["fields"]["otp"]
            .as_str()
            .unwrap()
            .contains("hết hiệu lực"),
        "{}",
        r.1
    );
}

/// The answer to a sign-in with a username that has no account.
async fn unknown_user_answer(t: &TestApp) -> (u16, Value) {
    let r = start_login(t, "033090009999", "Sai#MatKhau1").await;
    assert_eq!(r.0, 401, "{}", r.1);
    assert_eq!(r.1["error"]["code"], "invalid_credentials", "{}", r.1);
    r
}

/// Five wrong passwords for `p`, each answered like an unknown user.
async fn five_wrong_passwords(t: &TestApp, p: &Person) {
    let unknown = unknown_user_answer(t).await;
    for i in 1..=5 {
        let r = start_login(t, p.id, "Sai#MatKhau1").await;
        assert_eq!(r, unknown, "wrong password #{i} reads like an unknown user");
    }
}

/// Checks that `p`'s account is locked for this client now: the right
/// password gets the unknown-user answer (no enumeration: the lock has no
/// message of its own) and no code goes out.
async fn assert_locked(t: &TestApp, p: &Person) {
    let sent = t.sms.all_to(p.phone).len();
    let r = start_login(t, p.id, PASSWORD).await;
    assert_eq!(
        r,
        unknown_user_answer(t).await,
        "the right password is refused"
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(t.sms.all_to(p.phone).len(), sent, "no OTP sent");
}

#[tokio::test]
async fn portal_sign_in_five_wrong_passwords_lock_the_account() {
    let t = spawn_app().await;
    register(&t, &BINH, PASSWORD).await;
    five_wrong_passwords(&t, &BINH).await;
    assert_locked(&t, &BINH).await;
}

#[tokio::test]
async fn portal_sign_in_opens_again_after_the_thirty_second_wait() {
    let t = spawn_app().await;
    register(&t, &BINH, PASSWORD).await;
    five_wrong_passwords(&t, &BINH).await;
    // The clock is the real one plus an offset: leave the locked check
    // five real seconds of slack on a slow machine (CI saw 29 s + 1 s).
    t.app.clock.advance(25);
    assert_locked(&t, &BINH).await;
    t.app.clock.advance(6);
    let tok = login(&t, BINH.id, PASSWORD, BINH.phone).await;
    assert!(tok["token"].is_string());
}

#[tokio::test]
async fn portal_sign_in_resend_waits_for_the_cooldown() {
    let t = spawn_app().await;
    register(&t, &BINH, PASSWORD).await;
    let r = start_login(&t, BINH.id, PASSWORD).await;
    assert_eq!(r.0, 200);
    assert_eq!(r.1["phone_masked"], "091*****78");
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    let r = t.flow_step(LOGIN, &flow, "otp/resend", json!({})).await;
    assert_eq!(r.0, 429, "resend waits for the cooldown");
}

#[tokio::test]
async fn portal_sign_in_five_wrong_codes_lock_the_account() {
    let t = spawn_app().await;
    register(&t, &BINH, PASSWORD).await;
    let seen = t.sms.all_to(BINH.phone).len();
    let r = start_login(&t, BINH.id, PASSWORD).await;
    assert_eq!(r.0, 200);
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    let code = t.sms.wait_code(BINH.phone, seen).await;
    for i in 1..=5 {
        let r = t.submit_otp(LOGIN, &flow, wrong_code(&code)).await;
        assert_eq!(r.0, 400, "wrong code #{i}: {}", r.1);
    }
    assert_locked(&t, &BINH).await;
}

#[tokio::test]
async fn portal_password_reset_end_to_end_without_enumeration() {
    let t = spawn_app().await;
    register(&t, &CUONG, PASSWORD).await;
    let old = login(&t, CUONG.id, PASSWORD, CUONG.phone).await;
    let old_token = old["token"].as_str().unwrap().to_string();
    let seen = t.sms.all_to(CUONG.phone).len();
    let total = t.sms.count();

    // Unknown and known usernames: the same status and shape, similar time.
    let body = with_captcha(json!({"username": "033090009999"}), &t.captcha().await);
    let started = Instant::now();
    let unknown = post_raw(&t, "/api/v1/password-resets", &body).await;
    let unknown_time = started.elapsed();
    let spaced = format!(" {} ", CUONG.id);
    let body = with_captcha(json!({"username": spaced}), &t.captcha().await);
    let started = Instant::now();
    let known = post_raw(&t, "/api/v1/password-resets", &body).await;
    let known_time = started.elapsed();
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.status(), 202);
    let (unknown, known): (Value, Value) =
        (unknown.json().await.unwrap(), known.json().await.unwrap());
    assert_eq!(keys(&unknown), keys(&known));
    assert!(
        !known.to_string().contains("phone"),
        "no phone in the answer"
    );
    assert!(
        known_time.as_millis() < unknown_time.as_millis() * 5 + 50
            && unknown_time.as_millis() < known_time.as_millis() * 5 + 50,
        "{known_time:?} vs {unknown_time:?}"
    );
    let code = t.sms.wait_code(CUONG.phone, seen).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(t.sms.count(), total + 1, "only the real account got a code");

    // The unknown one's OTP screen behaves like the real one.
    let uflow = unknown["flow_id"].as_str().unwrap().to_string();
    let r = t.submit_otp(RESET, &uflow, "000000").await;
    assert_eq!(r.0, 400);
    assert_eq!(
        r.1["error"]["fields"]["otp"],
        "Mã OTP không đúng. Anh/chị còn 4 lần thử."
    );
    let r = t.choose_password(RESET, &uflow, NEW_PASSWORD).await;
    assert_eq!(r.0, 409);

    let flow = known["flow_id"].as_str().unwrap().to_string();
    let r = t.choose_password(RESET, &flow, NEW_PASSWORD).await;
    assert_eq!(r.0, 409, "OTP first");
    let r = t.submit_otp(RESET, &flow, &code).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = t.choose_password(RESET, &flow, "yeu").await;
    assert_eq!(r.0, 400);
    assert!(r.1["error"]["fields"]["password"].is_string());
    let r = t.choose_password(RESET, &flow, NEW_PASSWORD).await;
    assert_eq!(r.0, 200, "{}", r.1);
    // Other sessions ended; a notice went to the phone.
    let (s, _) = t.get_json("/api/v1/me", Some(&old_token)).await;
    assert_eq!(s, 401);
    let notice = t.sms.wait_nth(CUONG.phone, seen + 2).await;
    assert!(notice.text.contains("đã được đặt lại"), "{}", notice.text);
    // The old password no longer works; the new one does.
    let r = start_login(&t, CUONG.id, PASSWORD).await;
    assert_eq!(r.0, 401);
    login(&t, CUONG.id, NEW_PASSWORD, CUONG.phone).await;
    // The flow is spent; a reset flow expires.
    let r = t.submit_otp(RESET, &flow, &code).await;
    assert_eq!(r.0, 410);
    t.app
        .clock
        .advance(motcua::flows::password_reset::FLOW_TTL + 1);
    let r = t.submit_otp(RESET, &uflow, "000000").await;
    assert_eq!(r.0, 410);
}

#[tokio::test]
async fn portal_reset_unlocks_a_locked_account() {
    let t = spawn_app().await;
    register(&t, &EM, PASSWORD).await;
    five_wrong_passwords(&t, &EM).await;
    assert_locked(&t, &EM).await;
    let seen = t.sms.all_to(EM.phone).len();
    let r = start_reset(&t, EM.id).await;
    assert_eq!(r.0, 202, "{}", r.1);
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    let code = t.sms.wait_code(EM.phone, seen).await;
    let r = t.submit_otp(RESET, &flow, &code).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let r = t.choose_password(RESET, &flow, NEW_PASSWORD).await;
    assert_eq!(r.0, 200, "{}", r.1);
    // Still inside the lockout's wait, the new password signs in.
    login(&t, EM.id, NEW_PASSWORD, EM.phone).await;
}

/// An account made at the counter (issue 3 builds the real flow): a citizen
/// with a temporary password that must be changed first.
async fn counter_account(t: &TestApp, p: &Person, temp: &str) {
    let hash = t.app.hasher.hash(temp.to_string()).await.unwrap();
    let id = motcua::domain::CitizenId::parse(p.id).unwrap();
    let phone = motcua::domain::PhoneNumber::parse(p.phone).unwrap();
    let mut a = motcua::store::accounts::Account::new(
        p.id,
        Some(&id),
        p.name,
        &phone,
        None,
        hash,
        motcua::store::accounts::Origin::CitizenByStaff,
        t.app.now(),
    );
    a.must_change_password = true;
    a.birth_date = Some(p.dob.to_string());
    t.app
        .store
        .write(|w| motcua::store::accounts::put(w, &a))
        .unwrap();
}

#[tokio::test]
async fn portal_counter_accounts_must_change_password_first() {
    let t = spawn_app().await;
    counter_account(&t, &DUNG, "Tam#Thoi2026x").await;
    let tok = login(&t, DUNG.id, "Tam#Thoi2026x", DUNG.phone).await;
    assert_eq!(tok["must_change_password"], true);
    let token = tok["token"].as_str().unwrap();
    let r = t
        .post_json(
            "/api/v1/me/password",
            Some(token),
            &json!({"current_password": "Tam#Thoi2026x", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let (_, me) = t
        .get_json("/api/v1/me", Some(r.1["token"].as_str().unwrap()))
        .await;
    assert_eq!(me["must_change_password"], false);
}

// ---------------------------------------------------------------- pages

#[tokio::test]
async fn portal_pages_render_with_the_seed_labels() {
    let t = spawn_app().await;
    let (s, home) = t.page("/", None).await;
    assert_eq!(s, 200);
    for needle in [
        "href=\"/dang-nhap\"",
        "href=\"/dang-ky\"",
        "Cơ quan chủ quản: Văn phòng Chính phủ",
        "18001096",
        "dichvucong@chinhphu.vn",
        "0221.3856789",
    ] {
        assert!(home.contains(needle), "home lacks {needle}");
    }
    let (s, choice) = t.page("/dang-ky", None).await;
    assert_eq!(s, 200);
    for needle in [
        "Công dân",
        "Doanh nghiệp",
        "Xác minh mức độ trung bình (IAL2)",
        "Thuê bao di động",
        "Bảo hiểm xã hội",
        "Xác minh mức độ cao (IAL3)",
        "USB ký số",
        "SIM ký số",
    ] {
        assert!(choice.contains(needle), "choice lacks {needle}");
    }
    // The choice form leads to the method's page.
    let r = t
        .http
        .get(t.url("/dang-ky/chon?loai=cong-dan&phuong-thuc=thue-bao"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/dang-ky/cong-dan/thue-bao");
    let (s, form) = t.page("/dang-ky/cong-dan/thue-bao", None).await;
    assert_eq!(s, 200);
    for needle in [
        "Thuê bao di động",
        "(Chỉ dành cho công dân)",
        "Tên đăng nhập (Số CMT/CCCD)",
        "Họ tên",
        "Ngày sinh",
        "Số điện thoại",
        "Email",
        "Nhập mã xác thực",
        "class=\"captcha-img\" src=\"data:image",
        "Bằng cách nhấp vào Đăng ký, bạn đồng ý với",
        "Điều khoản, Chính sách chia sẻ thông tin",
        "Chọn hình thức đăng ký khác",
        NOTE,
    ] {
        assert!(form.contains(needle), "form lacks {needle}");
    }
    // Five required fields marked with the red star (not Email).
    assert_eq!(form.matches("class=\"req\"").count(), 5, "{form}");
    // Every other method: an honest page.
    for (path, needle) in [
        ("/dang-ky/cong-dan/bao-hiem-xa-hoi", "Bảo hiểm xã hội"),
        ("/dang-ky/cong-dan/usb-ky-so", "chữ ký số"),
        ("/dang-ky/cong-dan/sim-ky-so", "chữ ký số"),
        ("/dang-ky/doanh-nghiep/thue-bao", "dichvucong.gov.vn"),
        ("/dang-ky/doanh-nghiep/usb-ky-so", "chữ ký số"),
    ] {
        let (s, html) = t.page(path, None).await;
        assert_eq!(s, 200, "{path}");
        assert!(html.contains("chưa hỗ trợ"), "{path}");
        assert!(html.contains(needle), "{path} lacks {needle}");
        assert!(html.contains("Trung tâm Phục vụ hành chính công"), "{path}");
    }
    let (s, _) = t.page("/dang-ky/khac/thu-gi", None).await;
    assert_eq!(s, 404);
    let (s, login) = t.page("/dang-nhap", None).await;
    assert_eq!(s, 200);
    for needle in [
        "CMT/CCCD",
        "USB ký số",
        "SIM ký số",
        "Tên đăng nhập",
        "Mật khẩu",
        "Nhập mã xác thực",
        "Quên mật khẩu?",
        "Chưa có tài khoản?",
    ] {
        assert!(login.contains(needle), "login lacks {needle}");
    }
    for tab in ["usb-ky-so", "sim-ky-so"] {
        let (s, html) = t.page(&format!("/dang-nhap?hinh-thuc={tab}"), None).await;
        assert_eq!(s, 200);
        assert!(html.contains("chưa được hỗ trợ"), "{tab}");
        assert!(!html.contains("name=\"password\""), "{tab}");
    }
    for (path, needle) in [
        ("/dang-nhap/mat-so-dien-thoai", "Bộ phận một cửa"),
        ("/dang-nhap/phuong-thuc-khac", "Gửi lại OTP"),
        ("/quen-mat-khau", "Nhập mã xác thực"),
        ("/dieu-khoan", "Chính sách chia sẻ thông tin"),
        ("/dang-ky/thanh-cong", "Chúc mừng bạn đã đăng ký thành công"),
    ] {
        let (s, html) = t.page(path, None).await;
        assert_eq!(s, 200, "{path}");
        assert!(html.contains(needle), "{path} lacks {needle}");
    }
    // Signed-out visitors are sent to sign in; expired flows say so.
    for p in ["/tai-khoan", "/tai-khoan/doi-mat-khau"] {
        let r = t.http.get(t.url(p)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{p}");
        assert_eq!(r.headers()["location"], "/dang-nhap");
    }
    for (p, needle) in [
        ("/dang-nhap/xac-thuc/khong-co", "Phiên đăng nhập đã hết hạn"),
        (
            "/quen-mat-khau/xac-thuc/khong-co",
            "Phiên đặt lại mật khẩu đã hết hạn",
        ),
        ("/dang-ky/mat-khau/khong-co", "Phiên đăng ký đã hết hạn"),
    ] {
        let (s, html) = t.page(p, None).await;
        assert_eq!(s, 410, "{p}");
        assert!(html.contains(needle), "{p}");
    }
    // A form post without its CSRF token changes nothing.
    let r = t
        .http
        .post(t.url("/dang-ky/cong-dan/thue-bao"))
        .form(&[("id_number", AN.id)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// The registration form's fields for `p` as the page posts them, with
/// another birth date when given.
fn reg_fields<'a>(p: &'a Person, birth_date: Option<&'a str>) -> [(&'a str, &'a str); 6] {
    [
        ("consent", "1"),
        ("id_number", p.id),
        ("full_name", p.name),
        ("birth_date", birth_date.unwrap_or(p.dob)),
        ("phone", p.phone),
        ("email", ""),
    ]
}

#[tokio::test]
async fn portal_pages_register_keeping_typed_values_after_a_refusal() {
    let t = spawn_app().await;
    let form = "/dang-ky/cong-dan/thue-bao";
    let page = t.open_form(form, "").await;
    let (first_captcha, _) = page.captcha.clone().expect("the form shows a captcha");
    // A mismatch: the seed's note, the typed values kept, a new captcha.
    let r = page
        .submit(&t, form, &reg_fields(&AN, Some("15/04/1990")))
        .await;
    assert_eq!(r.status(), 400);
    let page = FormPage::read(&t, r, &page.cookie).await;
    assert!(page.html.contains("class=\"flash error\""));
    assert!(page.html.contains(NOTE));
    assert!(page.html.contains(&format!("value=\"{}\"", AN.name)));
    assert!(
        !page.html.contains(&first_captcha),
        "a new captcha per attempt"
    );
    let r = page.submit(&t, form, &reg_fields(&AN, None)).await;
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with("/dang-ky/xac-thuc/"), "{to}");
    let cookie = format!("{}; {}", page.cookie, flow_cookie(&r));
    // The step is bound to this browser: without its cookie, the expired page.
    let (s, _) = t.page(&to, None).await;
    assert_eq!(s, 410, "a step URL alone opens nothing");
    let (s, html) = t.page(&to, Some(&cookie)).await;
    assert_eq!(s, 200);
    assert!(html.contains("Mã xác thực đã được gửi qua SĐT:"));
    assert!(html.contains("037*****56"));
    assert!(html.contains("Bạn chưa nhận được mã?"));
    assert!(html.contains("data-countdown=\"60\""));
    assert_eq!(html.matches("aria-label=\"Chữ số thứ").count(), 6);
    // Without script the six boxes arrive one by one.
    let code = t.sms.wait_code(AN.phone, 0).await;
    let boxes: Vec<(String, String)> = code
        .chars()
        .enumerate()
        .map(|(i, c)| (format!("d{i}"), c.to_string()))
        .collect();
    let mut fields = vec![("_csrf", page.csrf.as_str())];
    fields.extend(boxes.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let r = t.post_form(&to, &cookie, &fields).await;
    assert_eq!(r.status(), 303);
    let (_, html) = t.page(&location(&r), Some(&cookie)).await;
    assert!(
        html.contains(
            "Sử dụng 8 ký tự trở lên bao gồm chữ thường, chữ in hoa, số và ký tự đặc biệt."
        )
    );
    assert!(html.contains("Xác nhận mật khẩu") && html.contains("Nhập lại mật khẩu"));
}

#[tokio::test]
async fn portal_pages_a_counter_account_must_change_its_password_first() {
    let t = spawn_app().await;
    counter_account(&t, &EM, "Tam#Thoi2026x").await;
    let page = t.open_form("/dang-nhap", "").await;
    let r = page
        .submit(
            &t,
            "/dang-nhap",
            &[("username", EM.id), ("password", "Tam#Thoi2026x")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let otp_page = location(&r);
    let cookie = format!("{}; {}", page.cookie, flow_cookie(&r));
    let (_, html) = t.page(&otp_page, Some(&cookie)).await;
    assert!(html.contains("Chọn phương thức xác thực khác"));
    assert!(html.contains("Mất số điện thoại nhận OTP"));
    assert!(html.contains("086*****56"));
    let code = t.sms.wait_code(EM.phone, 0).await;
    let csrf = page.csrf.as_str();
    let r = t
        .post_form(&otp_page, &cookie, &[("_csrf", csrf), ("otp", &code)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/tai-khoan/doi-mat-khau");
    let both = format!("{cookie}; {}", session_cookie(&r));
    let r = t
        .http
        .get(t.url("/tai-khoan"))
        .header("cookie", &both)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "nothing else before the new password");
    assert_eq!(location(&r), "/tai-khoan/doi-mat-khau");
    let r = t
        .post_form(
            "/tai-khoan/doi-mat-khau",
            &both,
            &[
                ("_csrf", csrf),
                ("current_password", "Tam#Thoi2026x"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let cookie = format!("{cookie}; {}", session_cookie(&r));
    let (s, html) = t.page("/tai-khoan", Some(&cookie)).await;
    assert_eq!(s, 200);
    assert!(html.contains("033******678") && html.contains("086*****56"));
    assert!(!html.contains(EM.id) && !html.contains(EM.phone));
}

// ---------------------------------------------------------------- browsers

/// No horizontal scrolling: the page fits the window.
async fn assert_fits(b: &crate::webdriver::Browser, what: &str) {
    let v = b
        .exec("return [document.documentElement.scrollWidth, window.innerWidth];")
        .await;
    let (sw, iw) = (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0));
    assert!(sw <= iw, "{what}: page is {sw}px wide in a {iw}px window");
}

/// Types a code into the six OTP boxes as a person would (the script moves
/// from box to box and fills the hidden field).
async fn type_otp(b: &crate::webdriver::Browser, code: &str) {
    b.type_into("#otp-d0", code).await;
    let joined = b.exec("return document.getElementById('otp').value;").await;
    assert_eq!(
        joined.as_str().unwrap_or(""),
        code,
        "the boxes fill the hidden field"
    );
}

/// Register → sign in → sign out → reset → sign in, through the pages.
async fn register_sign_in_reset(w: u32, h: u32) {
    let t = spawn_app_with(|c| c.captcha = false).await;
    let b = crate::webdriver::Browser::start(w, h).await;
    let shot = |name: &str| format!("portal-{name}-{w}");

    b.goto(&t.url("/")).await;
    b.wait_text("CỔNG DỊCH VỤ CÔNG QUỐC GIA").await;
    assert_fits(&b, "home").await;
    b.screenshot(&shot("home")).await;
    b.click(".account-links a[href='/dang-ky']").await;
    b.wait_text("Xác minh mức độ trung bình (IAL2)").await;
    assert_fits(&b, "choice").await;
    b.screenshot(&shot("register-choice")).await;
    // An IAL3 choice: an honest page.
    b.click("#method-usb").await;
    b.wait_text("chưa hỗ trợ").await;
    assert_fits(&b, "not offered").await;
    b.screenshot(&shot("register-not-offered")).await;
    b.goto(&t.url("/dang-ky")).await;
    b.click("#method-mobile").await;
    b.wait_text("(Chỉ dành cho công dân)").await;

    // The reload button brings a new picture without leaving the form.
    let id_of = "return document.querySelector('input[name=captcha_id]').value;";
    let before = b.exec(id_of).await;
    b.click("[data-captcha-reload]").await;
    let mut changed = false;
    for _ in 0..100 {
        if b.exec(id_of).await != before {
            changed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(changed, "the captcha reload gave a new challenge");
    assert!(b.url().await.ends_with("/dang-ky/cong-dan/thue-bao"));
    // A mismatch with the carrier first: the note, nothing lost.
    b.type_into("#id_number", AN.id).await;
    b.type_into("#full_name", AN.name).await;
    b.type_into("#birth_date", "15/04/1990").await;
    b.type_into("#phone", AN.phone).await;
    b.type_into("#captcha", "abcde").await;
    assert_fits(&b, "form").await;
    b.screenshot(&shot("register-form")).await;
    b.click("#register-submit").await;
    b.wait_text("vui lòng ra điểm giao dịch").await;
    assert!(b.text(".flash.error").await.contains("Chỉ các thuê bao"));
    b.screenshot(&shot("register-mismatch")).await;
    b.type_into("#birth_date", AN.dob).await;
    b.type_into("#captcha", "abcde").await;
    b.click("#register-submit").await;

    // OTP: masked phone, six boxes, resend countdown.
    b.wait_text("Mã xác thực đã được gửi qua SĐT:").await;
    assert_eq!(b.text("#phone-masked").await, "037*****56");
    b.wait_text("gửi lại sau").await;
    assert_eq!(
        b.exec("return document.getElementById('resend').disabled;")
            .await,
        Value::Bool(true)
    );
    let code = t.sms.wait_code(AN.phone, 0).await;
    type_otp(&b, &code).await;
    assert_fits(&b, "otp").await;
    b.screenshot(&shot("register-otp")).await;
    b.click("#otp-submit").await;

    // Password: the policy checked as one types, then on the server.
    b.wait_text("Sử dụng 8 ký tự trở lên").await;
    b.type_into("#password", "matkhau").await;
    let bad = b.find_all(".policy-live li.bad").await.len();
    assert!(bad >= 3, "{bad} rules shown as unmet");
    b.screenshot(&shot("register-password-live")).await;
    b.type_into("#password", PASSWORD).await;
    assert!(b.find_all(".policy-live li.bad").await.is_empty());
    b.type_into("#password_confirm", "Khac#MatKhau1").await;
    b.click("#password-submit").await;
    b.wait_text("Mật khẩu xác nhận không khớp.").await;
    b.type_into("#password", PASSWORD).await;
    b.type_into("#password_confirm", PASSWORD).await;
    b.click("#password-submit").await;
    b.wait_text("Chúc mừng bạn đã đăng ký thành công").await;
    assert_fits(&b, "done").await;
    b.screenshot(&shot("register-done")).await;
    b.click(".actions a[href='/dang-nhap']").await;

    // Sign in: tabs, then password + captcha, then the OTP.
    b.wait_text("Quên mật khẩu?").await;
    b.click(".tabs a[href='/dang-nhap?hinh-thuc=sim-ky-so']")
        .await;
    b.wait_text("SIM ký số chưa được hỗ trợ").await;
    b.click(".tabs a[href='/dang-nhap']").await;
    b.type_into("#username", AN.id).await;
    b.type_into("#password", PASSWORD).await;
    b.type_into("#captcha", "x").await;
    assert_fits(&b, "login").await;
    b.screenshot(&shot("login")).await;
    let seen = t.sms.all_to(AN.phone).len();
    b.click("#login-submit").await;
    b.wait_text("Mất số điện thoại nhận OTP").await;
    assert!(
        b.body_text()
            .await
            .contains("Chọn phương thức xác thực khác")
    );
    assert_eq!(b.text("#phone-masked").await, "037*****56");
    let code = next_code(&t, AN.phone, seen).await;
    type_otp(&b, &code).await;
    assert_fits(&b, "login otp").await;
    b.screenshot(&shot("login-otp")).await;
    b.click("#otp-submit").await;
    b.wait_text("Thông tin tài khoản").await;
    assert_eq!(b.text("#profile-id").await, "033******234");
    assert_eq!(b.text("#profile-phone").await, "037*****56");
    assert!(!b.body_text().await.contains(AN.id));
    assert_fits(&b, "account").await;
    b.screenshot(&shot("account")).await;
    b.click("#sign-out").await;
    b.wait_text("Tài khoản Cổng Dịch vụ công").await;

    // Quên mật khẩu → OTP → new password → sign in with it.
    b.goto(&t.url("/dang-nhap")).await;
    b.click("a[href='/quen-mat-khau']").await;
    b.wait_text("Quên mật khẩu").await;
    b.type_into("#username", AN.id).await;
    b.type_into("#captcha", "x").await;
    assert_fits(&b, "forgot").await;
    b.screenshot(&shot("forgot")).await;
    let seen = t.sms.all_to(AN.phone).len();
    b.click("#forgot-submit").await;
    b.wait_text("số điện thoại đã đăng ký của tài khoản").await;
    let code = next_code(&t, AN.phone, seen).await;
    type_otp(&b, &code).await;
    b.screenshot(&shot("forgot-otp")).await;
    b.click("#otp-submit").await;
    b.wait_text("Đặt lại mật khẩu").await;
    b.type_into("#password", NEW_PASSWORD).await;
    b.type_into("#password_confirm", NEW_PASSWORD).await;
    b.screenshot(&shot("forgot-password")).await;
    b.click("#password-submit").await;
    b.wait_text("Đặt lại mật khẩu thành công").await;
    b.screenshot(&shot("forgot-done")).await;
    t.sms.wait_nth(AN.phone, seen + 2).await; // the notice
    b.click(".actions a[href='/dang-nhap']").await;
    b.type_into("#username", AN.id).await;
    b.type_into("#password", NEW_PASSWORD).await;
    b.type_into("#captcha", "x").await;
    let seen = t.sms.all_to(AN.phone).len();
    b.click("#login-submit").await;
    b.wait_text("Mất số điện thoại nhận OTP").await;
    let code = next_code(&t, AN.phone, seen).await;
    type_otp(&b, &code).await;
    b.click("#otp-submit").await;
    b.wait_text("Thông tin tài khoản").await;
    b.quit().await;
}

#[tokio::test]
async fn portal_browser_register_sign_in_reset_on_a_phone() {
    register_sign_in_reset(360, 740).await;
}

#[tokio::test]
async fn portal_browser_register_sign_in_reset_on_a_desktop() {
    register_sign_in_reset(1366, 768).await;
}
