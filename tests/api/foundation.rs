//! Foundation: sign-in, units, staff, grants, permissions, SMS, OTP.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn healthz_metrics_openapi() {
    let t = spawn_app().await;
    let r = t.http.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let m = t
        .http
        .get(t.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("motcua_http_requests_total"));
    let (s, spec) = t.get_json("/api/v1/openapi.json", None).await;
    assert_eq!(s, 200);
    assert!(spec["paths"]["/staff/login"].is_object(), "{spec}");
    let docs = t
        .http
        .get(t.url("/api/docs"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(docs.contains("/api/v1/staff/login"));
}

#[tokio::test]
async fn admin_signs_in_with_password_then_otp() {
    let t = spawn_app().await;
    let token = t.admin_token().await;
    let (s, me) = t.get_json("/api/v1/staff/me", Some(&token)).await;
    assert_eq!(s, 200);
    assert_eq!(me["username"], ADMIN);
    assert_eq!(me["phone_masked"], "091*****01");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let a = t.staff_password_step(ADMIN, "Wrong#Pass123").await;
    let b = t.staff_password_step("nobody", "Wrong#Pass123").await;
    assert_eq!(a.0, 401);
    assert_eq!(a, b);
    assert_eq!(a.1["error"]["code"], "invalid_credentials");
    assert_eq!(t.sms.count(), 0, "no OTP for a wrong password");
}

#[tokio::test]
async fn account_locks_after_repeated_failures_with_the_same_message() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let wrong = t.staff_password_step(ADMIN, "Wrong#Pass123").await;
    assert_eq!(wrong.0, 401, "{}", wrong.1);
    assert_eq!(wrong.1["error"]["code"], "invalid_credentials");
    for i in 2..=5 {
        let r = t.staff_password_step(ADMIN, "Wrong#Pass123").await;
        assert_eq!(r, wrong, "wrong password #{i}");
    }
    // Locked now: even the right password gets the wrong-password answer,
    // message and all.
    let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(r, wrong, "the right password while locked");
    assert_eq!(t.sms.count(), 0);
    // After the wait it works again.
    t.app.clock.advance(31);
    let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(r.0, 200, "{}", r.1);
}

/// The admin's password step; returns the flow id and the code sent.
async fn admin_password_step(t: &TestApp) -> (String, String) {
    t.create_superadmin().await;
    let seen = t.sms.all_to(ADMIN_PHONE).len();
    let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["phone_masked"], "091*****01");
    let flow = r.1["flow_id"].as_str().unwrap().to_string();
    (flow, t.sms.wait_code(ADMIN_PHONE, seen).await)
}

const STAFF: &str = "staff/login";

#[tokio::test]
async fn staff_otp_resend_too_early_gets_429_with_retry_after() {
    let t = spawn_app().await;
    let (flow, _) = admin_password_step(&t).await;
    let r = t
        .http
        .post(t.url(&format!("/api/v1/staff/login/{flow}/otp/resend")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let ra = retry_after(&r);
    assert!(ra > 0 && ra <= 60, "{ra}");
}

#[tokio::test]
async fn staff_otp_four_wrong_tries_leave_the_right_code_working() {
    let t = spawn_app().await;
    let (flow, code) = admin_password_step(&t).await;
    for left in (1..5).rev() {
        let r = t.submit_otp(STAFF, &flow, wrong_code(&code)).await;
        assert_eq!(r.0, 400, "{}", r.1);
        assert_eq!(
            r.1["error"]["fields"]["otp"],
            format!("Mã OTP không đúng. Anh/chị còn {left} lần thử."),
        );
    }
    let r = t.submit_otp(STAFF, &flow, &code).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert!(r.1["token"].is_string(), "{}", r.1);
}

#[tokio::test]
async fn staff_otp_resend_after_the_cooldown_kills_the_old_code_and_the_new_one_works() {
    let t = spawn_app().await;
    let (flow, code) = admin_password_step(&t).await;
    t.app.clock.advance(61);
    let r = t.flow_step(STAFF, &flow, "otp/resend", json!({})).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let new = t.sms.wait_code(ADMIN_PHONE, 1).await;
    if new != code {
        let r = t.submit_otp(STAFF, &flow, &code).await;
        assert_eq!(r.0, 400, "the old code is dead: {}", r.1);
    }
    let r = t.submit_otp(STAFF, &flow, &new).await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert!(r.1["token"].is_string(), "{}", r.1);
}

#[tokio::test]
async fn staff_otp_expires_after_two_minutes() {
    let t = spawn_app().await;
    let (flow, code) = admin_password_step(&t).await;
    t.app.clock.advance(121);
    let r = t.submit_otp(STAFF, &flow, &code).await;
    assert_eq!(r.0, 400, "{}", r.1);
    assert!(
        r.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hết hiệu lực"),
        "{}",
        r.1
    );
}

#[tokio::test]
async fn five_wrong_otps_kill_the_code() {
    let t = spawn_app().await;
    let (flow, code) = admin_password_step(&t).await;
    let wrong = wrong_code(&code);
    for left in (1..5).rev() {
        let r = t.submit_otp(STAFF, &flow, wrong).await;
        assert_eq!(r.0, 400, "{}", r.1);
        assert_eq!(
            r.1["error"]["fields"]["otp"],
            format!("Mã OTP không đúng. Anh/chị còn {left} lần thử."),
        );
    }
    let dead = "Mã OTP đã bị khóa do nhập sai quá nhiều lần. Vui lòng gửi lại để nhận mã mới.";
    let r = t.submit_otp(STAFF, &flow, wrong).await;
    assert_eq!(r.0, 400, "the fifth wrong code: {}", r.1);
    assert_eq!(r.1["error"]["fields"]["otp"], dead, "{}", r.1);
    let r = t.submit_otp(STAFF, &flow, &code).await;
    assert_eq!(
        r.0, 400,
        "the right code after 5 wrong ones must fail: {}",
        r.1
    );
    assert_eq!(r.1["error"]["fields"]["otp"], dead, "{}", r.1);
}

#[tokio::test]
async fn an_unknown_staff_sign_in_flow_is_gone() {
    let t = spawn_app().await;
    let r = t.submit_otp(STAFF, "nope", "123456").await;
    assert_eq!(r.0, 410, "{}", r.1);
}

#[tokio::test]
async fn units_tree_create_rename_and_eligibility() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let (s, units) = t.get_json("/api/v1/units", Some(&admin)).await;
    assert_eq!(s, 200);
    let names: Vec<&str> = units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.contains("Trung tâm Phục vụ hành chính công"))
    );
    assert!(
        names
            .iter()
            .filter(|n| n.starts_with("Bộ phận một cửa UBND huyện"))
            .count()
            >= 2
    );
    assert!(
        names
            .iter()
            .filter(|n| n.starts_with("Bộ phận một cửa UBND xã"))
            .count()
            >= 3
    );
    assert!(names.contains(&"Sở Tư pháp"));
    let parent = t.unit_id("UBND huyện Văn Lâm").await;
    // NFD, capitals: still eligible.
    let nfd = "B\u{1ed9} PH\u{1eac}N M\u{1ed8}T C\u{1eec}A UBND x\u{e3} Tr\u{1b0}ng Tr\u{1eafc}c";
    let r = t.post_json("/api/v1/units", Some(&admin), &json!({"name": "BO\u{302}\u{323} PHA\u{302}\u{323}N MO\u{302}\u{323}T CU\u{31b}\u{309}A UBND xã Trưng Trắc", "parent_id": parent})).await;
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["eligible"], true, "NFD capitals must be eligible");
    let _ = nfd;
    let id = r.1["id"].as_u64().unwrap();
    let r = t
        .put_json(
            &format!("/api/v1/units/{id}"),
            Some(&admin),
            &json!({"name": "UBND xã Trưng Trắc"}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["eligible"], false);
    // Bad input: empty name, unknown parent.
    let r = t
        .post_json(
            "/api/v1/units",
            Some(&admin),
            &json!({"name": "  ", "parent_id": parent}),
        )
        .await;
    assert_eq!(r.0, 400);
    assert!(r.1["error"]["fields"]["name"].is_string());
    let r = t
        .post_json(
            "/api/v1/units",
            Some(&admin),
            &json!({"name": "Đơn vị X", "parent_id": 99999}),
        )
        .await;
    assert_eq!(r.0, 404);
    let r = t
        .post_json("/api/v1/units", Some(&admin), &json!({"nam": 1}))
        .await;
    assert_eq!(r.0, 400);
    assert_eq!(r.1["error"]["code"], "invalid_input");
}

#[tokio::test]
async fn staff_creation_temp_password_and_forced_change() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let r = t
        .post_json("/api/v1/staff", Some(&admin), &json!({"username": "canbo1", "full_name": "Phạm Thị Thúy Hà", "id_number": "033185002345", "phone": "+84 372 123 457", "unit_ids": [unit]}))
        .await;
    assert_eq!(r.0, 201, "{}", r.1);
    assert_eq!(r.1["must_change_password"], true);
    let sms = t.sms.wait_nth("0372123457", 1).await;
    assert!(sms.text.contains("Mật khẩu tạm thời"), "{}", sms.text);
    let temp = temp_password(&sms.text);
    let token = t.staff_token("canbo1", &temp, "0372123457").await;
    // Must change the password before anything else.
    let (s, _) = t.get_json("/api/v1/units", Some(&token)).await;
    assert_eq!(s, 403);
    let r = t
        .post_json(
            "/api/v1/me/password",
            Some(&token),
            &json!({"current_password": temp, "password": "weak", "password_confirm": "weak"}),
        )
        .await;
    assert_eq!(r.0, 400);
    assert!(r.1["error"]["fields"]["password"].is_string());
    let r = t.post_json("/api/v1/me/password", Some(&token), &json!({"current_password": temp, "password": "Moi#MatKhau2026", "password_confirm": "Moi#MatKhau2026"})).await;
    assert_eq!(r.0, 200, "{}", r.1);
    let new_token = r.1["token"].as_str().unwrap();
    // The old session ended, the new one works.
    let (s, _) = t.get_json("/api/v1/staff/me", Some(&token)).await;
    assert_eq!(s, 401);
    let (s, _) = t.get_json("/api/v1/units", Some(new_token)).await;
    assert_eq!(s, 200);
    // Same ID number again: one identity per person.
    let r = t
        .post_json("/api/v1/staff", Some(&admin), &json!({"username": "canbo2", "full_name": "Phạm Thị Hà", "id_number": "033185002345", "phone": "0372123458", "unit_ids": [unit]}))
        .await;
    assert_eq!(r.0, 409, "{}", r.1);
    // Bad fields are reported per field, nothing written.
    let r = t
        .post_json("/api/v1/staff", Some(&admin), &json!({"username": "a", "full_name": "X1", "id_number": "12", "phone": "0221385678", "email": "x@", "unit_ids": []}))
        .await;
    assert_eq!(r.0, 400);
    for f in [
        "username",
        "full_name",
        "id_number",
        "phone",
        "email",
        "unit_ids",
    ] {
        assert!(r.1["error"]["fields"][f].is_string(), "{f}: {}", r.1);
    }
}

#[tokio::test]
async fn grants_are_scoped_and_never_escalate() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let district = t.unit_id("UBND huyện Văn Lâm").await;
    let commune_one_stop = t.unit_id("Bộ phận một cửa UBND xã Lạc Đạo").await;
    let other_district = t.unit_id("UBND huyện Khoái Châu").await;
    // A district admin with users.create + citizen_accounts.create on the district.
    let da = t
        .staff_with(
            &admin,
            "qtvanlam",
            "0372000001",
            "033090001111",
            district,
            &["users.create", "citizen_accounts.create"],
        )
        .await;
    // Can create staff in the subtree and grant what they hold.
    let r = t
        .post_json("/api/v1/staff", Some(&da), &json!({"username": "cbxa", "full_name": "Lê Văn Xã", "id_number": "033090002222", "phone": "0372000002", "unit_ids": [commune_one_stop]}))
        .await;
    assert_eq!(r.0, 201, "{}", r.1);
    let r = t
        .put_json(
            "/api/v1/staff/cbxa/grants",
            Some(&da),
            &json!({"unit_id": commune_one_stop, "permissions": ["citizen_accounts.create"]}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    // Cannot grant what they do not hold.
    let r = t
        .put_json(
            "/api/v1/staff/cbxa/grants",
            Some(&da),
            &json!({"unit_id": commune_one_stop, "permissions": ["stats.view"]}),
        )
        .await;
    assert_eq!(r.0, 403, "{}", r.1);
    // Cannot act outside their subtree (existence not revealed).
    let r = t
        .post_json(
            "/api/v1/units",
            Some(&da),
            &json!({"name": "Tổ công tác", "parent_id": other_district}),
        )
        .await;
    assert_eq!(r.0, 404, "{}", r.1);
    let r = t
        .post_json("/api/v1/staff", Some(&da), &json!({"username": "cbkc", "full_name": "Lê Văn Châu", "id_number": "033090003333", "phone": "0372000003", "unit_ids": [other_district]}))
        .await;
    assert_eq!(r.0, 404, "{}", r.1);
    // Cannot touch the province admin, nor themselves.
    let r = t
        .put_json(
            &format!("/api/v1/staff/{ADMIN}/grants"),
            Some(&da),
            &json!({"unit_id": district, "permissions": []}),
        )
        .await;
    assert_eq!(r.0, 403);
    let r = t
        .put_json(
            "/api/v1/staff/qtvanlam/grants",
            Some(&da),
            &json!({"unit_id": district, "permissions": ["users.create"]}),
        )
        .await;
    assert_eq!(r.0, 409);
    // Unknown permission names are refused.
    let r = t
        .put_json(
            "/api/v1/staff/cbxa/grants",
            Some(&da),
            &json!({"unit_id": commune_one_stop, "permissions": ["root"]}),
        )
        .await;
    assert_eq!(r.0, 400);
    // Revoking takes effect on the next request.
    let cb = {
        let sms = t.sms.wait_nth("0372000002", 1).await;
        let temp = temp_password(&sms.text);
        let tok = t.staff_token("cbxa", &temp, "0372000002").await;
        let r = t.post_json("/api/v1/me/password", Some(&tok), &json!({"current_password": temp, "password": "Xa#MatKhau2026", "password_confirm": "Xa#MatKhau2026"})).await;
        r.1["token"].as_str().unwrap().to_string()
    };
    let (_, units) = t.get_json("/api/v1/staff/me/units", Some(&cb)).await;
    assert!(
        units["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["selectable"] == true),
        "{units}"
    );
    let r = t
        .put_json(
            "/api/v1/staff/cbxa/grants",
            Some(&da),
            &json!({"unit_id": commune_one_stop, "permissions": []}),
        )
        .await;
    assert_eq!(r.0, 200);
    let (_, units) = t.get_json("/api/v1/staff/me/units", Some(&cb)).await;
    assert_eq!(units["reason"]["code"], "no_permission", "{units}");
}

#[tokio::test]
async fn staff_me_units_explains_the_two_causes() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let justice = t.unit_id("Sở Tư pháp").await;
    let a = t
        .staff_with(
            &admin,
            "cbtuphap",
            "0372000011",
            "033090004444",
            justice,
            &["citizen_accounts.create"],
        )
        .await;
    let (s, r) = t.get_json("/api/v1/staff/me/units", Some(&a)).await;
    assert_eq!(s, 200);
    assert_eq!(r["reason"]["code"], "unit_name", "{r}");
    assert!(
        r["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("Sở Tư pháp")
    );
    assert!(
        r["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("Bộ phận một cửa")
    );
    let district = t.unit_id("UBND huyện Yên Mỹ").await;
    let b = t
        .staff_with(
            &admin,
            "cbyenmy",
            "0372000012",
            "033090005555",
            district,
            &[],
        )
        .await;
    let (_, r) = t.get_json("/api/v1/staff/me/units", Some(&b)).await;
    assert_eq!(r["reason"]["code"], "not_assigned", "{r}");
}

#[tokio::test]
async fn every_route_refuses_the_wrong_caller() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let plain = t
        .staff_with(&admin, "cbthuong", "0372000021", "033090006666", unit, &[])
        .await;
    let routes: Vec<(&str, String, serde_json::Value)> = vec![
        ("GET", "/api/v1/units".into(), json!(null)),
        (
            "POST",
            "/api/v1/units".into(),
            json!({"name": "Đơn vị mới", "parent_id": unit}),
        ),
        (
            "PUT",
            format!("/api/v1/units/{unit}"),
            json!({"name": "Tên mới"}),
        ),
        ("GET", "/api/v1/staff".into(), json!(null)),
        (
            "POST",
            "/api/v1/staff".into(),
            json!({"username": "zz1", "full_name": "Zê Zê", "id_number": "033090007777", "phone": "0372000031", "unit_ids": [unit]}),
        ),
        (
            "PUT",
            "/api/v1/staff/cbthuong/grants".into(),
            json!({"unit_id": unit, "permissions": ["users.create"]}),
        ),
        ("GET", "/api/v1/staff/me".into(), json!(null)),
        ("GET", "/api/v1/staff/me/units".into(), json!(null)),
        (
            "POST",
            "/api/v1/me/password".into(),
            json!({"current_password": "x", "password": "y", "password_confirm": "y"}),
        ),
    ];
    for (m, path, body) in &routes {
        let rb = match *m {
            "GET" => t.http.get(t.url(path)),
            "PUT" => t.http.put(t.url(path)).json(body),
            _ => t.http.post(t.url(path)).json(body),
        };
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 401, "anonymous {m} {path}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "unauthorized");
    }
    // Signed in without the permission: 403 (or 404 for another unit's objects).
    for (m, path, body) in &routes[1..6] {
        let rb = match *m {
            "GET" => t.http.get(t.url(path)),
            "PUT" => t.http.put(t.url(path)).json(body),
            _ => t.http.post(t.url(path)).json(body),
        }
        .bearer_auth(&plain);
        let s = rb.send().await.unwrap().status().as_u16();
        assert!(
            s == 403 || s == 404,
            "staff without permission {m} {path}: {s}"
        );
    }
    // Console pages: anonymous → sign-in page; plain staff → 403 on admin pages.
    for p in [
        "/quan-tri",
        "/quan-tri/don-vi",
        "/quan-tri/can-bo",
        "/quan-tri/nhat-ky",
        "/quan-tri/tin-nhan",
        "/quan-tri/tao-tai-khoan-cong-dan",
        "/quan-tri/thong-bao",
        "/quan-tri/doi-mat-khau",
        "/quan-tri/can-bo/quantri",
    ] {
        let r = t.http.get(t.url(p)).send().await.unwrap();
        assert_eq!(r.status(), 303, "{p}");
        assert_eq!(r.headers()["location"], "/quan-tri/dang-nhap", "{p}");
    }
    // A console POST without the CSRF token changes nothing.
    let r = t
        .http
        .post(t.url("/quan-tri/don-vi"))
        .header("cookie", format!("mc_session={admin}"))
        .form(&[("name", "Đơn vị CSRF"), ("parent_id", &unit.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(!t.app.tree().rows().iter().any(|r| r.name == "Đơn vị CSRF"));
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let t = spawn_app().await;
    for p in [
        "/",
        "/quan-tri/dang-nhap",
        "/healthz",
        "/api/v1/units",
        "/static/app.css",
        "/khong-co",
    ] {
        let r = t.http.get(t.url(p)).send().await.unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{p}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{p}");
        assert!(h.contains_key("referrer-policy"), "{p}");
    }
    let r = t
        .http
        .get(t.url("/quan-tri/dang-nhap"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("utf-8")
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("Cổng Dịch vụ công Quốc Gia") && !body.contains("<script>"));
}

#[tokio::test]
async fn sms_survives_a_dead_gateway_and_is_retried() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    *t.sms.fail_next.lock().unwrap() = 1;
    let started = std::time::Instant::now();
    let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(r.0, 200, "a failing gateway must not fail the request");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // First attempt refused (503), retried after the backoff.
    let code = t.sms.wait_code(ADMIN_PHONE, 0).await;
    assert_eq!(code.len(), 6);
    // The worker records the delivery just after the gateway got it.
    let mut attempts = 0;
    for _ in 0..100 {
        let jobs = t
            .app
            .store
            .read(|r| motcua::store::sms::recent(r, 10))
            .unwrap();
        attempts = jobs[0].attempts;
        if jobs[0].status == motcua::store::sms::SmsStatus::Sent {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        attempts >= 2,
        "first attempt refused, second delivered: {attempts}"
    );
}

#[tokio::test]
async fn queued_sms_is_delivered_after_a_restart() {
    // The gateway is down while the first server runs; the message waits in
    // the database and goes out from the next server.
    let t = spawn_app_with(|c| c.sms_http_url = Some("http://127.0.0.1:9/down".into())).await;
    t.create_superadmin().await;
    let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(r.0, 200);
    let dir = t.stop().await;
    let t2 = spawn_in(dir, |_| {}).await;
    let m = t2.sms.wait_nth(ADMIN_PHONE, 1).await;
    assert!(m.text.contains("Mã OTP"), "{}", m.text);
}

#[tokio::test]
async fn phone_caps_limit_otp_sends() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let mut limited = false;
    for i in 0..11 {
        let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
        if r.0 == 429 {
            assert!(i >= 10, "limited too early at {i}");
            assert_eq!(r.1["error"]["code"], "rate_limited");
            limited = true;
        }
        t.app.clock.advance(61);
    }
    assert!(limited, "the 11th send within an hour must be refused");
}

/// The one-time link from the server terminal signs an admin in without an
/// OTP (outbox deployments), once.
#[tokio::test]
async fn terminal_sign_in_link_works_once() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let link = motcua::flows::setup::new_setup_link(&t.app, Some(ADMIN)).unwrap();
    let page = t.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = session_cookie(&page);
    let html = page.text().await.unwrap();
    let csrf = crate::helpers::csrf_in(&html);
    assert!(html.contains(ADMIN));
    let r = t
        .http
        .post(&link)
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = session_cookie(&r);
    let home = t
        .http
        .get(t.url("/quan-tri"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    // Used up.
    let again = t
        .http
        .post(&link)
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410);
    assert!(motcua::flows::setup::new_setup_link(&t.app, Some("khong-co")).is_err());
}

/// Delivered SMS that carried a code or a password keep no secret in the
/// database (http provider).
#[tokio::test]
async fn delivered_secret_sms_are_scrubbed() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(r.0, 200);
    let code = t.sms.wait_code(ADMIN_PHONE, 0).await;
    for _ in 0..100 {
        let jobs = t
            .app
            .store
            .read(|r| motcua::store::sms::recent(r, 10))
            .unwrap();
        if jobs[0].status == motcua::store::sms::SmsStatus::Sent {
            assert!(!jobs[0].text.contains(&code), "{}", jobs[0].text);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("not delivered");
}
