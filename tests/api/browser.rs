//! Real-browser tests (headless Chromium through chromedriver). Screenshots
//! go to target/screenshots/.

use crate::helpers::*;
use crate::webdriver::Browser;

/// Signs in to the console through the pages: password, then the OTP read
/// from the fake SMS gateway.
pub async fn console_sign_in(
    t: &TestApp,
    b: &Browser,
    username: &str,
    password: &str,
    phone: &str,
) {
    let seen = t.sms.all_to(phone).len();
    b.goto(&t.url("/quan-tri/dang-nhap")).await;
    b.type_into("#username", username).await;
    b.type_into("#password", password).await;
    b.click("button[type=submit].primary").await;
    b.find("#otp").await;
    let code = t.sms.wait_code(phone, seen).await;
    b.type_into("#otp", &code).await;
    b.click("button[type=submit].primary").await;
}

#[tokio::test]
async fn admin_signs_in_sees_tree_and_creates_a_unit() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let b = Browser::start(1366, 768).await;
    b.goto(&t.url("/quan-tri")).await;
    b.wait_text("Đăng nhập hệ thống quản trị").await;
    b.screenshot("console-login-1366").await;
    // A wrong password first: same page, a clear message.
    b.type_into("#username", ADMIN).await;
    b.type_into("#password", "Sai#MatKhau1").await;
    b.click("button[type=submit].primary").await;
    b.wait_text("Tên đăng nhập hoặc mật khẩu không đúng.").await;
    console_sign_in(&t, &b, ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    b.wait_text("Xin chào").await;
    let menu = b.text("#side-menu").await;
    for item in [
        "Dashboard",
        "QUẢN TRỊ",
        "Quản trị hệ thống",
        "Tạo tài khoản công dân",
        "Thông báo",
    ] {
        assert!(menu.contains(item), "menu lacks {item}: {menu}");
    }
    b.screenshot("console-dashboard-1366").await;
    b.click("a[href='/quan-tri/don-vi']").await;
    b.wait_text("Thêm đơn vị").await;
    let tree = b.text("#unit-tree").await;
    assert!(tree.contains("Trung tâm Phục vụ hành chính công và Kiểm soát thủ tục hành chính"));
    assert!(tree.contains("Bộ phận một cửa UBND huyện Văn Lâm"));
    assert!(b.text(".crumbs").await.starts_with("Trang chủ / Đơn vị"));
    b.type_into("#new-name", "Bộ phận một cửa UBND xã Minh Hải")
        .await;
    b.select("#new-parent", "UBND huyện Văn Lâm").await;
    b.click("form[action='/quan-tri/don-vi'] button.primary")
        .await;
    b.wait_text("Bộ phận một cửa UBND xã Minh Hải").await;
    assert!(
        t.app
            .tree()
            .rows()
            .iter()
            .any(|r| r.name == "Bộ phận một cửa UBND xã Minh Hải" && r.eligible)
    );
    b.screenshot("console-units-1366").await;
    b.quit().await;
}

#[tokio::test]
async fn console_works_on_a_phone() {
    let t = spawn_app().await;
    t.create_superadmin().await;
    let b = Browser::start(360, 740).await;
    console_sign_in(&t, &b, ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    b.wait_text("Xin chào").await;
    // The menu is behind the toggle on a narrow screen.
    b.click(".menu-toggle").await;
    b.click("a[href='/quan-tri/don-vi']").await;
    b.wait_text("Thêm đơn vị").await;
    let width = b.exec("return document.documentElement.scrollWidth").await;
    assert!(
        width.as_u64().unwrap() <= 380,
        "page wider than the phone: {width}"
    );
    b.screenshot("console-units-360").await;
    b.quit().await;
}
