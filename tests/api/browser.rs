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

/// The knowledge-base editor in a real browser: add an intent, preview it
/// as web chat / Telegram / Zalo show it, publish (figures), a refused
/// change (reasons), restore a version in one click.
#[tokio::test]
async fn faq_editor_edit_preview_publish_refuse_restore() {
    use crate::faq_editor::{MARK, NEW_INTENT, QUESTION, ask, new_intent_body};
    let t = spawn_app().await;
    t.create_superadmin().await;
    let b = Browser::start(1366, 900).await;
    console_sign_in(&t, &b, ADMIN, ADMIN_PASSWORD, ADMIN_PHONE).await;
    b.wait_text("Xin chào").await;
    b.click("#side-menu a[href='/quan-tri/cau-hoi-thuong-gap']")
        .await;
    b.wait_text("Phiên bản đang dùng").await;
    assert!(
        b.text("#faq-intents")
            .await
            .contains("Quên hoặc đổi mật khẩu")
    );
    b.screenshot("faq-list").await;
    b.click("a[href='/quan-tri/cau-hoi-thuong-gap/them']").await;
    b.find("#f-id").await;
    let body = new_intent_body();
    let join = |k: &str| {
        body[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    };
    b.type_into("#f-id", NEW_INTENT).await;
    b.type_into("#f-title", body["title"].as_str().unwrap())
        .await;
    b.type_into("#f-title-en", body["title_en"].as_str().unwrap())
        .await;
    b.type_into("#f-answer-vi", body["answer_vi"].as_str().unwrap())
        .await;
    b.type_into("#f-answer-en", body["answer_en"].as_str().unwrap())
        .await;
    b.type_into("#f-examples", &join("examples")).await;
    b.type_into("#f-examples-en", &join("examples_en")).await;
    b.click("input[name=suggest][value=register-at-office]")
        .await;
    // Preview.
    b.click("#btn-preview").await;
    b.find("#faq-preview").await;
    let web = b.text("#preview-web-vi").await;
    assert!(web.contains(MARK), "{web}");
    assert!(b.try_find("#preview-web-vi strong").await.is_some());
    assert!(
        b.try_find("#preview-telegram-vi .tg-bubble b")
            .await
            .is_some()
    );
    let zalo = b.text("#preview-zalo-vi").await;
    assert!(
        zalo.contains("1. Nhờ cán bộ một cửa tạo tài khoản"),
        "{zalo}"
    );
    assert!(!zalo.contains("**"));
    b.screenshot("faq-preview").await;
    assert_eq!(t.app.bot().version, 0, "a preview publishes nothing");
    // Publish: the figures, and the bot answers at once.
    b.click("#btn-publish").await;
    b.wait_text("Đã xuất bản phiên bản 1").await;
    let result = b.text("#faq-result").await;
    assert!(result.contains("Trả lời đúng chủ đề"), "{result}");
    b.screenshot("faq-published").await;
    assert_eq!(ask(&t, QUESTION).await["intent"], NEW_INTENT);
    // Edit it: a change that breaks other answers is refused with reasons.
    b.goto(&t.url("/quan-tri/cau-hoi-thuong-gap/them")).await;
    b.type_into("#f-id", "thu-tuc-khac").await;
    b.type_into("#f-title", "Các thủ tục hành chính khác").await;
    b.type_into("#f-answer-vi", "Anh/chị liên hệ Bộ phận một cửa.")
        .await;
    b.type_into("#f-answer-en", "Please contact the one-stop office.")
        .await;
    let eval = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/faq/eval/faq-eval.jsonl"
    ))
    .unwrap();
    let oos: Vec<String> = eval
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["intent"].is_null())
        .map(|v| v["q"].as_str().unwrap().to_string())
        .collect();
    b.type_into("#f-examples", &oos.join("\n")).await;
    b.click("#btn-publish").await;
    b.wait_text("Chưa xuất bản").await;
    let refused = b.text("#faq-refused").await;
    assert!(refused.contains("ngoài phạm vi"), "{refused}");
    assert!(
        refused.contains("thu-tuc-khac"),
        "the confusions are listed: {refused}"
    );
    b.screenshot("faq-refused").await;
    assert_eq!(t.app.bot().version, 1);
    // Versions: restore version 0 in one click.
    b.goto(&t.url("/quan-tri/cau-hoi-thuong-gap/phien-ban"))
        .await;
    b.wait_text("Thêm chủ đề").await;
    b.click("button[aria-label='Khôi phục phiên bản 0']").await;
    b.wait_text("Đã xuất bản phiên bản 2").await;
    assert_eq!(b.text("#faq-current").await, "2");
    b.screenshot("faq-restored").await;
    assert_ne!(ask(&t, QUESTION).await["intent"], NEW_INTENT);
    b.quit().await;
}
