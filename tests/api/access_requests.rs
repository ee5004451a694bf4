//! Staff access requests (issue 9): one identity from portal to console.

use crate::helpers::*;
use motcua::store::accounts::{self, Origin};
use serde_json::json;

#[tokio::test]
async fn request_approve_then_console_sign_in_with_the_same_account() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let unit = t.unit_id("Bộ phận một cửa UBND xã Đông Tảo").await;
    let citizen = portal_account(&t, "033190001234", "Vũ Thị Hoa", "0372555111").await;
    // The console refuses a plain portal account.
    let r = t.staff_password_step("033190001234", PORTAL_PASSWORD).await;
    assert_eq!(r.0, 401);
    let r = t
        .post_json("/api/v1/staff-access-requests", Some(&citizen), &json!({"unit_id": unit, "position": "Cán bộ tiếp nhận", "note": "Xin quyền tạo tài khoản"}))
        .await;
    assert_eq!(r.0, 201, "{}", r.1);
    let id = r.1["request_id"].as_u64().unwrap();
    // One open request per person per unit.
    let r2 = t
        .post_json(
            "/api/v1/staff-access-requests",
            Some(&citizen),
            &json!({"unit_id": unit, "position": "Cán bộ"}),
        )
        .await;
    assert_eq!(r2.0, 409);
    let (s, list) = t
        .get_json("/api/v1/staff-access-requests?status=pending", Some(&admin))
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["total"], 1);
    let item = &list["items"][0];
    assert_eq!(item["full_name"], "Vũ Thị Hoa");
    assert_eq!(item["id_number_masked"], "033******234");
    assert_eq!(item["status"], "pending");
    let r = t
        .post_json(
            &format!("/api/v1/staff-access-requests/{id}/approve"),
            Some(&admin),
            &json!({"permissions": ["citizen_accounts.create"]}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let sms = t.sms.wait_nth("0372555111", 1).await;
    assert!(sms.text.contains("đã được duyệt"), "{}", sms.text);
    // Same username (ID number), same password, OTP: the console opens.
    let token = t
        .staff_token("033190001234", PORTAL_PASSWORD, "0372555111")
        .await;
    let (s, units) = t.get_json("/api/v1/staff/me/units", Some(&token)).await;
    assert_eq!(s, 200);
    assert!(
        units["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == unit && u["selectable"] == true),
        "{units}"
    );
    // Deciding twice is refused.
    let r = t
        .post_json(
            &format!("/api/v1/staff-access-requests/{id}/reject"),
            Some(&admin),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.0, 409);
    // Revoking takes effect at the next request.
    let r = t
        .put_json(
            "/api/v1/staff/033190001234/grants",
            Some(&admin),
            &json!({"unit_id": unit, "permissions": []}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let (_, units) = t.get_json("/api/v1/staff/me/units", Some(&token)).await;
    assert!(units["reason"].is_object(), "{units}");
}

#[tokio::test]
async fn reject_and_scoping_and_no_escalation() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let van_lam = t.unit_id("UBND huyện Văn Lâm").await;
    let lac_dao = t.unit_id("Bộ phận một cửa UBND xã Lạc Đạo").await;
    let dong_tao = t.unit_id("Bộ phận một cửa UBND xã Đông Tảo").await;
    // A Văn Lâm admin who holds users.create and citizen_accounts.create only.
    let vl = t
        .staff_with(
            &admin,
            "qtvl",
            "0372555201",
            "033090008888",
            van_lam,
            &["users.create", "citizen_accounts.create"],
        )
        .await;
    let c1 = portal_account(&t, "033190002345", "Đỗ Văn Nam", "0372555202").await;
    let c2 = portal_account(&t, "033190003456", "Ngô Thị Lan", "0372555203").await;
    let r = t
        .post_json(
            "/api/v1/staff-access-requests",
            Some(&c1),
            &json!({"unit_id": lac_dao, "position": "Cán bộ một cửa"}),
        )
        .await;
    let in_scope = r.1["request_id"].as_u64().unwrap();
    let r = t
        .post_json(
            "/api/v1/staff-access-requests",
            Some(&c2),
            &json!({"unit_id": dong_tao, "position": "Cán bộ một cửa"}),
        )
        .await;
    let out_of_scope = r.1["request_id"].as_u64().unwrap();
    // The Văn Lâm admin sees only the Lạc Đạo request.
    let (_, list) = t
        .get_json("/api/v1/staff-access-requests?status=pending", Some(&vl))
        .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["id"], in_scope);
    // Cannot decide another district's request (not even learn it exists).
    let r = t
        .post_json(
            &format!("/api/v1/staff-access-requests/{out_of_scope}/approve"),
            Some(&vl),
            &json!({"permissions": ["citizen_accounts.create"]}),
        )
        .await;
    assert_eq!(r.0, 404);
    let r = t
        .post_json(
            &format!("/api/v1/staff-access-requests/{out_of_scope}/reject"),
            Some(&vl),
            &json!({"reason": "Không thuộc đơn vị"}),
        )
        .await;
    assert_eq!(r.0, 404);
    // Cannot grant what they lack.
    let r = t
        .post_json(
            &format!("/api/v1/staff-access-requests/{in_scope}/approve"),
            Some(&vl),
            &json!({"permissions": ["stats.view"]}),
        )
        .await;
    assert_eq!(r.0, 403);
    // Reject needs a reason; then it is SMSed.
    let r = t
        .post_json(
            &format!("/api/v1/staff-access-requests/{in_scope}/reject"),
            Some(&vl),
            &json!({"reason": "  "}),
        )
        .await;
    assert_eq!(r.0, 400);
    let r = t
        .post_json(
            &format!("/api/v1/staff-access-requests/{in_scope}/reject"),
            Some(&vl),
            &json!({"reason": "Chưa có quyết định phân công"}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let sms = t.sms.wait_nth("0372555202", 1).await;
    assert!(
        sms.text.contains("Chưa có quyết định phân công"),
        "{}",
        sms.text
    );
    // Anonymous and staff tokens cannot file portal requests; bad input is 400.
    let r = t
        .post_json(
            "/api/v1/staff-access-requests",
            None,
            &json!({"unit_id": lac_dao, "position": "X y"}),
        )
        .await;
    assert_eq!(r.0, 401);
    let r = t
        .post_json(
            "/api/v1/staff-access-requests",
            Some(&c1),
            &json!({"unit_id": 987654, "position": ""}),
        )
        .await;
    assert_eq!(r.0, 400);
    assert!(
        r.1["error"]["fields"]["unit_id"].is_string()
            && r.1["error"]["fields"]["position"].is_string(),
        "{}",
        r.1
    );
    // Both decisions are audited.
    let entries = t
        .app
        .store
        .read(|r| motcua::store::audit::search(r, &Default::default(), 100))
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "access_request_reject" && e.actor == "qtvl")
    );
    // A staff member without users.create cannot list.
    let plain = t
        .staff_with(
            &admin,
            "cbplain",
            "0372555204",
            "033090009999",
            lac_dao,
            &["citizen_accounts.create"],
        )
        .await;
    let (s, _) = t
        .get_json("/api/v1/staff-access-requests?status=pending", Some(&plain))
        .await;
    assert_eq!(s, 403);
}

/// Issue 9 in a real browser: a portal account asks, the province admin
/// approves, and the same account opens the console.
#[tokio::test]
async fn browser_request_and_approval() {
    use crate::browser::console_sign_in;
    use crate::webdriver::Browser;
    let t = spawn_app().await;
    t.create_superadmin().await;
    let hash = t.app.hasher.hash(PORTAL_PASSWORD.into()).await.unwrap();
    let id = motcua::domain::CitizenId::parse("033190007777").unwrap();
    let ph = motcua::domain::PhoneNumber::parse("0372555999").unwrap();
    let now = t.app.now();
    let a = motcua::store::accounts::Account::new(
        "033190007777",
        Some(&id),
        "Đinh Thị Thu",
        &ph,
        None,
        hash,
        Origin::SelfRegistered,
        now,
    );
    let portal_token = t
        .app
        .store
        .write(|w| {
            accounts::put(w, &a)?;
            motcua::auth::session::create(w, &a, false, false, now)
        })
        .unwrap();
    let b = Browser::start(1366, 768).await;
    b.goto(&t.url("/")).await;
    b.add_cookie("mc_session", &portal_token).await;
    b.goto(&t.url("/tai-khoan")).await;
    b.click("#staff-access-request").await;
    b.wait_text("Đề nghị cấp quyền cán bộ").await;
    b.type_into("#unit-filter", "dong tao").await;
    b.select("#unit_id", "Bộ phận một cửa UBND xã Đông Tảo")
        .await;
    b.type_into("#position", "Cán bộ tiếp nhận hồ sơ").await;
    b.click("form[action='/tai-khoan/de-nghi-cap-quyen'] button.primary")
        .await;
    b.wait_text("Đề nghị đã được gửi").await;
    assert!(b.text("#my-requests").await.contains("Chờ duyệt"));
    b.screenshot("access-request-portal-1366").await;
    b.delete_cookies().await;
    // The province admin approves in the console.
    console_sign_in(&t, &b, ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    b.wait_text("Xin chào").await;
    assert!(
        b.text("#side-menu").await.contains("Yêu cầu cấp quyền 1"),
        "menu count"
    );
    b.click("a[href='/quan-tri/yeu-cau-cap-quyen']").await;
    b.wait_text("Đinh Thị Thu").await;
    b.screenshot("access-request-console-1366").await;
    b.click("form[action$='/duyet'] button.primary").await;
    b.wait_text("Không có đề nghị nào.").await;
    let sms = t.sms.wait_nth("0372555999", 1).await;
    assert!(sms.text.contains("đã được duyệt"));
    b.delete_cookies().await;
    // The same account, same password, now in the console.
    console_sign_in(&t, &b, "033190007777", PORTAL_PASSWORD, "0372555999").await;
    b.wait_text("Xin chào").await;
    b.click("a[href='/quan-tri/tao-tai-khoan-cong-dan']").await;
    b.wait_text("Tạo tài khoản công dân").await;
    let body = b.body_text().await;
    assert!(body.contains("Bộ phận một cửa UBND xã Đông Tảo"), "{body}");
    b.screenshot("access-request-staff-console-1366").await;
    b.quit().await;
}
