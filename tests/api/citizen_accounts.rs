//! Staff-assisted citizen accounts (seed part I, issue 3): every step of the
//! API and its refusals, the list, concurrency, clean-up, and the two
//! real-browser journeys.

use std::time::Duration;

use motcua::store::citizens;
use serde_json::{Value, json};

use crate::browser::console_sign_in;
use crate::helpers::*;
use crate::webdriver::Browser;

const VAN_LAM: &str = "Bộ phận một cửa UBND huyện Văn Lâm";
const KHOAI_CHAU: &str = "Bộ phận một cửa UBND huyện Khoái Châu";
const STAFF_PHONE: &str = "0987000101";
const CITIZEN_PHONE: &str = "0912345678";

struct Ctx {
    t: TestApp,
    admin: String,
    staff: String,
    unit: u64,
}

/// A running app, the province admin, and one-stop staff of Văn Lâm with
/// the permission.
async fn setup() -> Ctx {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let unit = t.unit_id(VAN_LAM).await;
    let staff = t
        .staff_with(
            &admin,
            "canbo.vanlam",
            STAFF_PHONE,
            "033185000101",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    Ctx {
        t,
        admin,
        staff,
        unit,
    }
}

fn citizen(id: &str, name: &str, dob: &str, phone: &str, unit: u64) -> Vec<(String, String)> {
    vec![
        ("id_number".into(), id.into()),
        ("full_name".into(), name.into()),
        ("birth_date".into(), dob.into()),
        ("phone".into(), phone.into()),
        ("email".into(), String::new()),
        ("unit_id".into(), unit.to_string()),
    ]
}

async fn post_request(
    t: &TestApp,
    token: &str,
    fields: &[(String, String)],
    files: &[(&str, &str, &[u8])],
) -> (u16, Value) {
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (ct, body) = multipart(&f, files);
    t.post_body("/api/v1/citizen-account-requests", Some(token), &ct, body)
        .await
}

async fn new_request(t: &TestApp, token: &str, fields: &[(String, String)]) -> String {
    let pdf = motcua::upload::samples::pdf();
    let (s, v) = post_request(t, token, fields, &[("id_scan", "CCCD.pdf", &pdf)]).await;
    assert_eq!(s, 201, "request: {v}");
    v["request_id"].as_str().unwrap().to_string()
}

/// Sends the OTP and returns the code the citizen received.
async fn otp_for(t: &TestApp, token: &str, req: &str, phone: &str) -> String {
    let seen = t.sms.all_to(phone).len();
    let (s, v) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/otp"),
            Some(token),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "otp: {v}");
    t.sms.wait_code(phone, seen).await
}

/// The whole journey through the API; returns the password SMS text.
async fn create_account(t: &TestApp, token: &str, fields: &[(String, String)]) -> String {
    let phone = fields.iter().find(|(k, _)| k == "phone").unwrap().1.clone();
    let phone = motcua::domain::PhoneNumber::parse(&phone)
        .unwrap()
        .as_str()
        .to_string();
    let req = new_request(t, token, fields).await;
    let code = otp_for(t, token, &req, &phone).await;
    let seen = t.sms.all_to(&phone).len();
    let (s, v) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/confirm"),
            Some(token),
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(s, 201, "confirm: {v}");
    t.sms.wait_nth(&phone, seen + 1).await.text
}

fn password_in(sms: &str) -> String {
    sms.split("Mật khẩu: ")
        .nth(1)
        .unwrap()
        .split('\n')
        .next()
        .unwrap()
        .to_string()
}

fn flows_count(t: &TestApp) -> u64 {
    t.app
        .store
        .read(|r| motcua::store::flows::FLOWS.len(r))
        .unwrap()
}

fn pdf_text(bytes: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.pdf");
    std::fs::write(&p, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&p)
        .arg("-")
        .output()
        .ok()?;
    assert!(out.status.success());
    Some(String::from_utf8(out.stdout).unwrap())
}

#[tokio::test]
async fn happy_path_from_lookup_to_account() {
    let c = setup().await;
    let t = &c.t;
    // The unit select offers the one-stop unit.
    let (s, units) = t.get_json("/api/v1/staff/me/units", Some(&c.staff)).await;
    assert_eq!(s, 200);
    assert!(units["reason"].is_null(), "{units}");
    assert!(
        units["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == c.unit && u["selectable"] == true)
    );
    // Look-up: no account yet.
    let id = "033190001234";
    let (s, v) = t
        .get_json(
            &format!("/api/v1/citizen-accounts/lookup?id_number={id}"),
            Some(&c.staff),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["exists"], false);
    // Step 1: the request with the scanned ID.
    let fields = citizen(
        id,
        "Nguyễn Thị Thuỳ Dương",
        "05/03/1990",
        "+84 912 345 678",
        c.unit,
    );
    let req = new_request(t, &c.staff, &fields).await;
    let (s, r) = t
        .get_json(
            &format!("/api/v1/citizen-account-requests/{req}"),
            Some(&c.staff),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["phone_masked"], "091*****78");
    assert_eq!(r["otp_sent"], false);
    // Step 2: the request form, with every diacritic.
    let res = t
        .http
        .get(t.url(&format!("/api/v1/citizen-account-requests/{req}/form.pdf")))
        .bearer_auth(&c.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let pdf = res.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    eprintln!("request form PDF: {} bytes", pdf.len());
    if let Some(text) = pdf_text(&pdf) {
        for needle in [
            "Nguyễn Thị Thuỳ Dương",
            "GIẤY ĐỀ NGHỊ TẠO TÀI KHOẢN",
            VAN_LAM,
            id,
            "Nguyễn Thị Cán Bộ",
            "0912345678",
        ] {
            assert!(text.contains(needle), "{needle} not in the PDF:\n{text}");
        }
    }
    // OTP: a wrong code first, then the right one.
    let code = otp_for(t, &c.staff, &req, CITIZEN_PHONE).await;
    let otp_sms = t.sms.all_to(CITIZEN_PHONE).last().unwrap().text.clone();
    assert!(otp_sms.contains("2 phút"), "{otp_sms}");
    let wrong = wrong_code(&code);
    let (s, v) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/confirm"),
            Some(&c.staff),
            &json!({"otp": wrong}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["fields"]["otp"]
            .as_str()
            .unwrap()
            .contains("không đúng")
    );
    assert!(
        t.app
            .store
            .read(|r| motcua::store::accounts::by_id_number(r, id))
            .unwrap()
            .is_none()
    );
    let seen = t.sms.all_to(CITIZEN_PHONE).len();
    let (s, v) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/confirm"),
            Some(&c.staff),
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["id_number"], id);
    // The password SMS: Vietnamese, with the portal address; never in a response.
    let sms = t.sms.wait_nth(CITIZEN_PHONE, seen + 1).await.text;
    assert!(sms.contains("đã được tạo"), "{sms}");
    assert!(sms.contains(&t.base), "{sms}");
    assert!(sms.contains(&format!("Tên đăng nhập: {id}")), "{sms}");
    let password = password_in(&sms);
    assert!(!v.to_string().contains(&password));
    let a = t
        .app
        .store
        .read(|r| motcua::store::accounts::by_id_number(r, id))
        .unwrap()
        .unwrap();
    assert_eq!(a.username, id);
    assert!(a.must_change_password);
    assert_eq!(a.origin, motcua::store::accounts::Origin::CitizenByStaff);
    assert_eq!(a.created_by.as_deref(), Some("canbo.vanlam"));
    assert_eq!(a.created_unit, Some(c.unit));
    assert_eq!(a.birth_date.as_deref(), Some("05/03/1990"));
    assert_eq!(a.phone, CITIZEN_PHONE);
    assert!(
        t.app
            .hasher
            .verify(password.clone(), Some(a.password_hash.clone()))
            .await
    );
    assert!(
        motcua::domain::Password::parse(&password, &motcua::domain::PasswordContext::default())
            .is_ok()
    );
    // The request is gone; looking up again says the account exists.
    let (s, _) = t
        .get_json(
            &format!("/api/v1/citizen-account-requests/{req}"),
            Some(&c.staff),
        )
        .await;
    assert_eq!(s, 410);
    let (s, v) = t
        .get_json(
            &format!("/api/v1/citizen-accounts/lookup?id_number={id}"),
            Some(&c.staff),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["exists"], true);
    assert_eq!(v["phone_masked"], "091*****78");
    // In the list, newest first, with the seed's columns.
    let (s, l) = t.get_json("/api/v1/citizen-accounts", Some(&c.staff)).await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["total"], 1);
    let item = &l["items"][0];
    assert_eq!(item["id_number"], id);
    assert_eq!(item["full_name"], "Nguyễn Thị Thuỳ Dương");
    assert_eq!(item["phone"], CITIZEN_PHONE);
    assert_eq!(item["created_by"], "Nguyễn Thị Cán Bộ");
    assert_eq!(item["unit"], VAN_LAM);
    assert_eq!(item["birth_date"], "05/03/1990");
    // The scan comes back as stored.
    let res = t
        .http
        .get(t.url(&format!("/api/v1/citizen-accounts/{id}/id-scan")))
        .bearer_auth(&c.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(
        res.bytes().await.unwrap().to_vec(),
        motcua::upload::samples::pdf()
    );
    // The account's request form is regenerated.
    let res = t
        .http
        .get(t.url(&format!("/api/v1/citizen-accounts/{id}/form.pdf")))
        .bearer_auth(&c.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-"));
    // Every step is in the audit log, with the citizen masked.
    let entries = t
        .app
        .store
        .read(|r| {
            motcua::store::audit::search(r, &motcua::store::audit::AuditFilter::default(), 1000)
        })
        .unwrap();
    for action in [
        "citizen_lookup",
        "citizen_request_create",
        "citizen_form_download",
        "citizen_otp_send",
        "citizen_account_create",
        "citizen_scan_download",
    ] {
        assert!(
            entries
                .iter()
                .any(|e| e.action == action && e.object == "citizen:033******234"),
            "no {action} in the audit log"
        );
    }
    for e in &entries {
        let all = format!("{} {} {}", e.object, e.detail, e.action);
        assert!(!all.contains(id), "full ID in audit: {all}");
        assert!(!all.contains(CITIZEN_PHONE), "full phone in audit: {all}");
    }
}

#[tokio::test]
async fn otp_resend_cooldown_latest_only_and_expiry() {
    let c = setup().await;
    let t = &c.t;
    let fields = citizen(
        "033085004321",
        "Trần Văn Bình",
        "12/12/1985",
        "0977111222",
        c.unit,
    );
    let req = new_request(t, &c.staff, &fields).await;
    let confirm_path = format!("/api/v1/citizen-account-requests/{req}/confirm");
    let otp_path = format!("/api/v1/citizen-account-requests/{req}/otp");
    // Confirming before any OTP was sent says so.
    let (s, v) = t
        .post_json(&confirm_path, Some(&c.staff), &json!({"otp": "123456"}))
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["fields"]["otp"]
            .as_str()
            .unwrap()
            .contains("Gửi mã OTP")
    );
    let first = otp_for(t, &c.staff, &req, "0977111222").await;
    // A resend right away: 429 with Retry-After.
    let r = t
        .http
        .post(t.url(&otp_path))
        .bearer_auth(&c.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "{wait}");
    // After the cooldown a new code replaces the old one.
    t.app.clock.advance(61);
    let second = otp_for(t, &c.staff, &req, "0977111222").await;
    if first != second {
        let (s, _) = t
            .post_json(&confirm_path, Some(&c.staff), &json!({"otp": first}))
            .await;
        assert_eq!(s, 400, "the old code must not work");
    }
    // The new code expires after 2 minutes.
    t.app.clock.advance(121);
    let (s, v) = t
        .post_json(&confirm_path, Some(&c.staff), &json!({"otp": second}))
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hết hiệu lực"),
        "{v}"
    );
    // A fresh code works.
    let third = otp_for(t, &c.staff, &req, "0977111222").await;
    let (s, v) = t
        .post_json(&confirm_path, Some(&c.staff), &json!({"otp": third}))
        .await;
    assert_eq!(s, 201, "{v}");
}

#[tokio::test]
async fn upload_refusals_write_nothing() {
    let c = setup().await;
    let t = &c.t;
    let fields = citizen(
        "033190001234",
        "Lê Thị Hoa",
        "05/03/1990",
        CITIZEN_PHONE,
        c.unit,
    );
    let before_flows = flows_count(t);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let pdf = motcua::upload::samples::pdf();
    type Files<'a> = Vec<(&'a str, &'a str, &'a [u8])>;
    let cases: Vec<(&str, Files, u16, &str)> = vec![
        ("no file", vec![], 400, "Vui lòng đính kèm"),
        ("empty", vec![("id_scan", "CCCD.pdf", b"")], 400, "rỗng"),
        (
            "wrong type by content",
            vec![("id_scan", "CCCD.pdf", &png)],
            415,
            "không dựa vào tên tệp",
        ),
        (
            "two files",
            vec![
                ("id_scan", "mat-truoc.pdf", &pdf),
                ("id_scan", "mat-sau.pdf", &pdf),
            ],
            400,
            "Chỉ đính kèm 1 tệp",
        ),
    ];
    for (what, files, status, message) in cases {
        let (s, v) = post_request(t, &c.staff, &fields, &files).await;
        assert_eq!(s, status, "{what}: {v}");
        assert!(v.to_string().contains(message), "{what}: {v}");
    }
    // Too large: refused from the declared length, nothing read.
    let big = vec![b'%'; motcua::upload::MAX_SCAN_BYTES + 1];
    let (s, v) = post_request(t, &c.staff, &fields, &[("id_scan", "CCCD.pdf", &big)]).await;
    assert_eq!(s, 413, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tối đa 5 MB")
    );
    assert_eq!(flows_count(t), before_flows);
    assert_eq!(uploads_count(t), 0);
}

#[tokio::test]
async fn scans_just_under_the_cap_and_doc_or_docx_by_content_are_accepted() {
    let c = setup().await;
    let t = &c.t;
    let fields = citizen(
        "033190001234",
        "Lê Thị Hoa",
        "05/03/1990",
        CITIZEN_PHONE,
        c.unit,
    );
    // Just under the cap is fine when it is a PDF.
    let mut ok = motcua::upload::samples::pdf();
    ok.resize(motcua::upload::MAX_SCAN_BYTES - 100, b' ');
    let (s, v) = post_request(t, &c.staff, &fields, &[("id_scan", "CCCD.pdf", &ok)]).await;
    assert_eq!(s, 201, "{v}");
    // doc and docx are accepted by content, whatever their names.
    let docx = motcua::upload::samples::docx();
    let doc = motcua::upload::samples::ole2("WordDocument");
    for (name, bytes) in [("scan.bin", &docx), ("scan", &doc)] {
        let f = citizen(
            "033190001235",
            "Lê Thị Hoa",
            "05/03/1990",
            CITIZEN_PHONE,
            c.unit,
        );
        let (s, v) = post_request(t, &c.staff, &f, &[("id_scan", name, bytes)]).await;
        assert_eq!(s, 201, "{name}: {v}");
    }
    assert_eq!(uploads_count(t), 3);
}

/// A 50 MB upload sent without a declared length is refused with 413 once
/// the file passes 5 MB, without the server reading (or keeping) the rest.
#[tokio::test]
async fn streaming_cap_refuses_a_50mb_upload_early() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let c = setup().await;
    let t = &c.t;
    let stream = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let boundary = "XyZbOuNdArY";
    let head = format!(
        "POST /api/v1/citizen-account-requests HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n",
        t.addr, c.staff
    );
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sent2 = sent.clone();
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let chunk = |data: &[u8]| {
            let mut v = format!("{:x}\r\n", data.len()).into_bytes();
            v.extend_from_slice(data);
            v.extend_from_slice(b"\r\n");
            v
        };
        let preamble = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"id_number\"\r\n\r\n033190001234\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"id_scan\"; filename=\"big.pdf\"\r\n\r\n%PDF-1.4\n"
        );
        wr.write_all(&chunk(preamble.as_bytes())).await?;
        let block = vec![b'0'; 256 * 1024];
        for _ in 0..200 {
            wr.write_all(&chunk(&block)).await?;
            sent2.fetch_add(block.len(), std::sync::atomic::Ordering::SeqCst);
        }
        Ok::<_, std::io::Error>(())
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    response.extend_from_slice(&buf[..n]);
                    if response.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to the oversized upload");
    let sent_at_answer = sent.load(std::sync::atomic::Ordering::SeqCst);
    let text = String::from_utf8_lossy(&response).to_string();
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    eprintln!(
        "50 MB upload: refused after {:.1} MB sent",
        sent_at_answer as f64 / 1_048_576.0
    );
    assert!(
        sent_at_answer < 16 * 1024 * 1024,
        "sent {sent_at_answer} bytes before the answer"
    );
    writer.abort();
    assert_eq!(uploads_count(t), 0);
}

#[tokio::test]
async fn validation_errors_write_nothing() {
    let c = setup().await;
    let t = &c.t;
    let pdf = motcua::upload::samples::pdf();
    let before_flows = flows_count(t);
    let other_unit = t.unit_id(KHOAI_CHAU).await;
    let not_eligible = t.unit_id("Sở Tư pháp").await;
    let cases = [
        (
            citizen(
                "033190001234",
                "Lê Thị Hoa",
                "05/03/1985",
                CITIZEN_PHONE,
                c.unit,
            ),
            "birth_date",
            "không khớp",
        ),
        (
            citizen(
                "03319000123",
                "Lê Thị Hoa",
                "05/03/1990",
                CITIZEN_PHONE,
                c.unit,
            ),
            "id_number",
            "12 chữ số",
        ),
        (
            citizen(
                "033190001234",
                "Lê Thị Hoa 2",
                "05/03/1990",
                CITIZEN_PHONE,
                c.unit,
            ),
            "full_name",
            "chữ số",
        ),
        (
            citizen(
                "033190001234",
                "Lê Thị Hoa",
                "31/02/1990",
                CITIZEN_PHONE,
                c.unit,
            ),
            "birth_date",
            "không có thật",
        ),
        (
            citizen(
                "033190001234",
                "Lê Thị Hoa",
                "05/03/1990",
                "0241234567",
                c.unit,
            ),
            "phone",
            "máy bàn",
        ),
        (
            citizen(
                "033190001234",
                "Lê Thị Hoa",
                "05/03/1990",
                CITIZEN_PHONE,
                other_unit,
            ),
            "unit_id",
            "không hợp lệ",
        ),
        (
            citizen(
                "033190001234",
                "Lê Thị Hoa",
                "05/03/1990",
                CITIZEN_PHONE,
                not_eligible,
            ),
            "unit_id",
            "không hợp lệ",
        ),
    ];
    for (fields, field, message) in cases {
        let (s, v) = post_request(t, &c.staff, &fields, &[("id_scan", "a.pdf", &pdf)]).await;
        assert_eq!(s, 400, "{field}: {v}");
        let m = v["error"]["fields"][field].as_str().unwrap_or_default();
        assert!(m.contains(message), "{field}: {v}");
    }
    let mut with_email = citizen(
        "033190001234",
        "Lê Thị Hoa",
        "05/03/1990",
        CITIZEN_PHONE,
        c.unit,
    );
    with_email[4].1 = "khong-phai-email".into();
    let (s, v) = post_request(t, &c.staff, &with_email, &[("id_scan", "a.pdf", &pdf)]).await;
    assert_eq!(s, 400);
    assert!(v["error"]["fields"]["email"].is_string(), "{v}");
    assert_eq!(uploads_count(t), 0);
    assert_eq!(flows_count(t), before_flows);
}

#[tokio::test]
async fn existing_account_is_reported_and_refused() {
    let c = setup().await;
    let t = &c.t;
    // The staff member's own ID is an account already (one ID, one identity).
    let (s, v) = t
        .get_json(
            "/api/v1/citizen-accounts/lookup?id_number=033185000101",
            Some(&c.staff),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["exists"], true);
    assert_eq!(v["phone_masked"], "098*****01");
    assert!(v["message"].as_str().unwrap().contains("không cần tạo mới"));
    let fields = citizen(
        "033185000101",
        "Nguyễn Thị Cán Bộ",
        "01/01/1985",
        CITIZEN_PHONE,
        c.unit,
    );
    let pdf = motcua::upload::samples::pdf();
    let (s, v) = post_request(t, &c.staff, &fields, &[("id_scan", "a.pdf", &pdf)]).await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("không cần tạo mới")
    );
    assert_eq!(uploads_count(t), 0);
    // A bad ID number in the look-up is a 400 with the field.
    let (s, v) = t
        .get_json(
            "/api/v1/citizen-accounts/lookup?id_number=12ab",
            Some(&c.staff),
        )
        .await;
    assert_eq!(s, 400);
    assert!(v["error"]["fields"]["id_number"].is_string());
}

#[tokio::test]
async fn concurrent_creation_gives_one_account_and_one_409() {
    let c = setup().await;
    let t = &c.t;
    let kc = t.unit_id(KHOAI_CHAU).await;
    let other = t
        .staff_with(
            &c.admin,
            "canbo.khoaichau",
            "0987000202",
            "033185000202",
            kc,
            &["citizen_accounts.create"],
        )
        .await;
    let id = "033190007777";
    let a = new_request(
        t,
        &c.staff,
        &citizen(id, "Phạm Văn An", "05/03/1990", "0912000777", c.unit),
    )
    .await;
    let b = new_request(
        t,
        &other,
        &citizen(id, "Phạm Văn An", "05/03/1990", "0912000778", kc),
    )
    .await;
    let code_a = otp_for(t, &c.staff, &a, "0912000777").await;
    let code_b = otp_for(t, &other, &b, "0912000778").await;
    let pa = format!("/api/v1/citizen-account-requests/{a}/confirm");
    let pb = format!("/api/v1/citizen-account-requests/{b}/confirm");
    let (ba, bb) = (json!({"otp": code_a}), json!({"otp": code_b}));
    let (ra, rb) = tokio::join!(
        t.post_json(&pa, Some(&c.staff), &ba),
        t.post_json(&pb, Some(&other), &bb),
    );
    let mut statuses = [ra.0, rb.0];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{ra:?} {rb:?}");
    let loser = if ra.0 == 409 { &ra.1 } else { &rb.1 };
    assert!(
        loser["error"]["message"]
            .as_str()
            .unwrap()
            .contains("đã có tài khoản"),
        "{loser}"
    );
    let all = t.app.store.read(motcua::store::accounts::all).unwrap();
    assert_eq!(
        all.iter()
            .filter(|a| a.id_number.as_deref() == Some(id))
            .count(),
        1
    );
    let total = t.app.store.read(|r| citizens::RECORDS.len(r)).unwrap();
    assert_eq!(total, 1);
    // Only the winner's scan remains (both requests sent the same bytes,
    // which are stored once).
    assert_eq!(uploads_count(t), 1);
}

#[tokio::test]
async fn permissions_and_scoping() {
    let c = setup().await;
    let t = &c.t;
    let id = "033190001234";
    create_account(
        t,
        &c.staff,
        &citizen(id, "Nguyễn Văn A", "05/03/1990", CITIZEN_PHONE, c.unit),
    )
    .await;
    let req = new_request(
        t,
        &c.staff,
        &citizen(
            "033190001299",
            "Nguyễn Văn B",
            "05/03/1990",
            "0912000299",
            c.unit,
        ),
    )
    .await;
    // Anonymous: 401 everywhere.
    for path in [
        "/api/v1/citizen-accounts".to_string(),
        format!("/api/v1/citizen-accounts/lookup?id_number={id}"),
        format!("/api/v1/citizen-accounts/{id}"),
        format!("/api/v1/citizen-accounts/{id}/id-scan"),
        format!("/api/v1/citizen-account-requests/{req}"),
    ] {
        let (s, _) = t.get_json(&path, None).await;
        assert_eq!(s, 401, "{path}");
    }
    // Staff without the permission: 403.
    let kc = t.unit_id(KHOAI_CHAU).await;
    let plain = t
        .staff_with(
            &c.admin,
            "canbo.khac",
            "0987000303",
            "033185000303",
            c.unit,
            &[],
        )
        .await;
    for path in [
        "/api/v1/citizen-accounts".to_string(),
        format!("/api/v1/citizen-accounts/lookup?id_number={id}"),
        format!("/api/v1/citizen-accounts/{id}"),
    ] {
        let (s, v) = t.get_json(&path, Some(&plain)).await;
        assert_eq!(s, 403, "{path}: {v}");
    }
    let pdf = motcua::upload::samples::pdf();
    let (s, _) = post_request(
        t,
        &plain,
        &citizen(
            "033190001288",
            "Lê Văn C",
            "05/03/1990",
            CITIZEN_PHONE,
            c.unit,
        ),
        &[("id_scan", "a.pdf", &pdf)],
    )
    .await;
    assert_eq!(s, 403);
    // Staff of another unit: the account and the request do not exist for them.
    let other = t
        .staff_with(
            &c.admin,
            "canbo.khoaichau",
            "0987000202",
            "033185000202",
            kc,
            &["citizen_accounts.create"],
        )
        .await;
    let (s, l) = t.get_json("/api/v1/citizen-accounts", Some(&other)).await;
    assert_eq!(s, 200);
    assert_eq!(l["total"], 0);
    for path in [
        format!("/api/v1/citizen-accounts/{id}"),
        format!("/api/v1/citizen-accounts/{id}/id-scan"),
        format!("/api/v1/citizen-accounts/{id}/form.pdf"),
        format!("/api/v1/citizen-account-requests/{req}"),
        format!("/api/v1/citizen-account-requests/{req}/form.pdf"),
    ] {
        let (s, _) = t.get_json(&path, Some(&other)).await;
        assert_eq!(s, 404, "{path}");
    }
    let (s, _) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/otp"),
            Some(&other),
            &json!({}),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = t
        .get_json(
            &format!("/api/v1/citizen-accounts?unit_id={}", c.unit),
            Some(&other),
        )
        .await;
    assert_eq!(s, 400, "a unit outside the scope is not a filter");
    // The province admin sees everything.
    let (s, l) = t.get_json("/api/v1/citizen-accounts", Some(&c.admin)).await;
    assert_eq!(s, 200);
    assert_eq!(l["total"], 1);
    let (s, _) = t
        .get_json(&format!("/api/v1/citizen-accounts/{id}"), Some(&c.admin))
        .await;
    assert_eq!(s, 200);
    // A district-level grant covers the units below it.
    let district = t.unit_id("UBND huyện Văn Lâm").await;
    let lead = t
        .staff_with(
            &c.admin,
            "truongphong",
            "0987000404",
            "033185000404",
            district,
            &["citizen_accounts.create"],
        )
        .await;
    let (s, l) = t.get_json("/api/v1/citizen-accounts", Some(&lead)).await;
    assert_eq!(s, 200);
    assert_eq!(l["total"], 1);
}

/// Files accounts straight into the store (list tests need many).
fn seed(t: &TestApp, rows: &[(&str, &str, &str, u64, &str, &str, i64)]) {
    t.app
        .store
        .write(|w| {
            for (id, name, phone, unit, by, by_name, at) in rows {
                let mut rec = citizens::CitizenRecord {
                    seq: 0,
                    id_number: id.to_string(),
                    full_name: name.to_string(),
                    birth_date: "01/01/1990".into(),
                    phone: phone.to_string(),
                    email: None,
                    unit: *unit,
                    unit_name: String::new(),
                    created_by: by.to_string(),
                    created_by_name: by_name.to_string(),
                    created_by_phone: "0987000000".into(),
                    created_at: *at,
                    scan: citizens::ScanRef {
                        hash: "0".repeat(64),
                        kind: motcua::upload::ScanKind::Pdf,
                        size: 10,
                        file_name: "a.pdf".into(),
                    },
                    request_code: "SEED".into(),
                };
                citizens::insert(w, &mut rec)?;
            }
            Ok::<_, motcua::store::StoreError>(())
        })
        .unwrap();
}

#[tokio::test]
async fn list_filters_paging_and_order() {
    let c = setup().await;
    let t = &c.t;
    let kc = t.unit_id(KHOAI_CHAU).await;
    let day = |s: &str| motcua::util::parse_day_start(s).unwrap() + 9 * 3600;
    let mut rows: Vec<(String, String, String, u64, &str, &str, i64)> = vec![];
    for i in 0..45 {
        rows.push((
            format!("{:09}", 100_000_000 + i),
            [
                "Nguyễn Văn A",
                "Trần Thị Bích Ngọc",
                "Lê Văn An",
                "Đặng Đức Đạt",
            ][i % 4]
                .to_string(),
            format!("09120001{:02}", i),
            if i % 3 == 0 { kc } else { c.unit },
            if i % 2 == 0 {
                "canbo.vanlam"
            } else {
                "canbo.kia"
            },
            if i % 2 == 0 {
                "Nguyễn Thị Cán Bộ"
            } else {
                "Phạm Thị Thúy Hà"
            },
            day("01/10/2026") + i as i64 * 86_400,
        ));
    }
    let refs: Vec<(&str, &str, &str, u64, &str, &str, i64)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1.as_str(), r.2.as_str(), r.3, r.4, r.5, r.6))
        .collect();
    seed(t, &refs);
    let q = |s: &str| format!("/api/v1/citizen-accounts?{s}");
    let get = |path: String| {
        let admin = c.admin.clone();
        async move {
            let (s, v) = t.get_json(&path, Some(&admin)).await;
            assert_eq!(s, 200, "{path}: {v}");
            v
        }
    };
    // Everything, newest first, 20 a page.
    let all = get(q("")).await;
    assert_eq!(all["total"], 45);
    assert_eq!(all["items"].as_array().unwrap().len(), 20);
    assert_eq!(all["items"][0]["id_number"], "100000044");
    let p3 = get(q("page=3")).await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 5);
    assert_eq!(p3["items"][4]["id_number"], "100000000");
    let p2 = get(q("page=2&per_page=10")).await;
    assert_eq!(p2["items"][0]["id_number"], "100000034");
    // Name: case and diacritics ignored, whole words in order.
    let v = get(q("name=nguyen%20van%20a")).await;
    assert_eq!(v["total"], 12);
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["full_name"] == "Nguyễn Văn A")
    );
    let v = get(q("name=DANG%20DUC")).await;
    assert_eq!(v["total"], 11);
    let v = get(q("name=van%20an")).await;
    assert_eq!(v["total"], 11);
    // Phone in any accepted format.
    for p in [
        "0912000107",
        "%2B84912000107",
        "84%20912%20000%20107",
        "0912.000.107",
    ] {
        let v = get(q(&format!("phone={p}"))).await;
        assert_eq!(v["total"], 1, "{p}");
        assert_eq!(v["items"][0]["id_number"], "100000007");
    }
    // ID number, creator by name or username, unit, dates.
    let v = get(q("id_number=100000013")).await;
    assert_eq!(v["total"], 1);
    let v = get(q("created_by=thuy%20ha")).await;
    assert_eq!(v["total"], 22);
    let v = get(q("created_by=canbo.vanlam")).await;
    assert_eq!(v["total"], 23);
    let v = get(q(&format!("unit_id={kc}"))).await;
    assert_eq!(v["total"], 15);
    let v = get(q("from=05/10/2026&to=09/10/2026")).await;
    assert_eq!(v["total"], 5);
    assert_eq!(v["items"][0]["id_number"], "100000008");
    // Combined.
    let v = get(q(&format!(
        "name=nguyen&unit_id={}&created_by=can%20bo&from=01/10/2026&to=31/10/2026",
        c.unit
    )))
    .await;
    let want = rows
        .iter()
        .filter(|r| {
            r.1.starts_with("Nguyễn")
                && r.3 == c.unit
                && r.4 == "canbo.vanlam"
                && r.6 < day("01/11/2026")
        })
        .count();
    assert_eq!(v["total"], want as u64);
    // Nothing found.
    let v = get(q("name=khong%20co%20ai")).await;
    assert_eq!(v["total"], 0);
    // Bad filters: 400 with the field.
    for (s, field) in [
        ("phone=12345", "phone"),
        ("from=32/01/2026", "from"),
        ("from=05/10/2026&to=01/10/2026", "to"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("id_number=abc", "id_number"),
    ] {
        let (st, v) = t.get_json(&q(s), Some(&c.admin)).await;
        assert_eq!(st, 400, "{s}: {v}");
        assert!(v["error"]["fields"][field].is_string(), "{s}: {v}");
    }
    // Staff of Văn Lâm see only Văn Lâm's accounts.
    let (_, v) = t.get_json(&q(""), Some(&c.staff)).await;
    assert_eq!(v["total"], 30);
}

#[tokio::test]
async fn lookups_are_rate_limited() {
    let c = setup().await;
    let t = &c.t;
    for i in 0..motcua::flows::citizen_accounts::LOOKUPS_PER_WINDOW {
        let (s, v) = t
            .get_json(
                &format!(
                    "/api/v1/citizen-accounts/lookup?id_number={:09}",
                    200_000_000 + i
                ),
                Some(&c.staff),
            )
            .await;
        assert_eq!(s, 200, "{i}: {v}");
    }
    let r = t
        .http
        .get(t.url("/api/v1/citizen-accounts/lookup?id_number=299999999"))
        .bearer_auth(&c.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tra cứu quá nhiều")
    );
    // Another staff member is not limited by it.
    let (s, _) = t
        .get_json(
            "/api/v1/citizen-accounts/lookup?id_number=299999999",
            Some(&c.admin),
        )
        .await;
    assert_eq!(s, 200);
    // After the window, the staff member may look up again.
    t.app
        .clock
        .advance(motcua::flows::citizen_accounts::LOOKUP_WINDOW + 1);
    let (s, _) = t
        .get_json(
            "/api/v1/citizen-accounts/lookup?id_number=299999999",
            Some(&c.staff),
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn expired_request_is_cleaned_up() {
    let c = setup().await;
    let t = &c.t;
    let before_flows = flows_count(t);
    let req = new_request(
        t,
        &c.staff,
        &citizen(
            "033190001234",
            "Lê Thị Hoa",
            "05/03/1990",
            CITIZEN_PHONE,
            c.unit,
        ),
    )
    .await;
    assert_eq!(uploads_count(t), 1);
    t.app
        .clock
        .advance(motcua::flows::citizen_accounts::REQUEST_TTL + 1);
    // The session has timed out too: sign in again.
    let staff = t
        .staff_token("canbo.vanlam", "Doi#MatKhau2026", STAFF_PHONE)
        .await;
    let (s, v) = t
        .get_json(
            &format!("/api/v1/citizen-account-requests/{req}"),
            Some(&staff),
        )
        .await;
    assert_eq!(s, 410, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("hết hạn"));
    let removed = motcua::flows::citizen_accounts::sweep(&t.app)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(uploads_count(t), 0);
    assert_eq!(flows_count(t), before_flows);
    let (s, _) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/otp"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(s, 410);
}

#[tokio::test]
async fn non_eligible_unit_reason_via_api() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    // Granted on a unit whose name lacks the required words.
    let stp = t.unit_id("Sở Tư pháp").await;
    let s1 = t
        .staff_with(
            &admin,
            "canbo.stp",
            "0987000505",
            "033185000505",
            stp,
            &["citizen_accounts.create"],
        )
        .await;
    let (s, v) = t.get_json("/api/v1/staff/me/units", Some(&s1)).await;
    assert_eq!(s, 200);
    assert_eq!(v["reason"]["code"], "unit_name", "{v}");
    assert!(
        v["reason"]["message"]
            .as_str()
            .unwrap()
            .contains("Sở Tư pháp")
    );
    // Creating a request there is refused on the unit.
    let pdf = motcua::upload::samples::pdf();
    let (s, v) = post_request(
        &t,
        &s1,
        &citizen(
            "033190001234",
            "Lê Thị Hoa",
            "05/03/1990",
            CITIZEN_PHONE,
            stp,
        ),
        &[("id_scan", "a.pdf", &pdf)],
    )
    .await;
    assert_eq!(s, 400);
    assert!(v["error"]["fields"]["unit_id"].is_string());
}

// ------------------------------------------------------------------ browser

/// (a) A staff member with the permission: look-up, form with the scanned
/// ID, the request form PDF, the OTP, the account; then the list with filters.
#[tokio::test]
async fn browser_staff_creates_account_end_to_end() {
    let c = setup().await;
    let t = &c.t;
    let b = Browser::start(1366, 900).await;
    console_sign_in(t, &b, "canbo.vanlam", "Doi#MatKhau2026", STAFF_PHONE).await;
    b.wait_text("Đăng xuất").await;
    b.click("a[href='/quan-tri/tao-tai-khoan-cong-dan']").await;
    b.wait_text("Thông tin tìm kiếm").await;
    b.wait_text("Không tìm thấy tài khoản thỏa mãn các tiêu chí trên")
        .await;
    assert!(b.text("#result-count").await.contains("Tìm thấy 0 kết quả"));
    b.screenshot("citizen-list-empty-1366").await;
    b.click("#add-new").await;
    // The staff member's own ID: an account exists; say so and stop.
    b.type_into("#lookup-id", "033185000101").await;
    b.click("#lookup-btn").await;
    b.wait_text("Công dân đã có tài khoản, không cần tạo mới.")
        .await;
    assert!(b.text("#lookup-result").await.contains("098*****01"));
    assert!(b.try_find("#create-form").await.is_none());
    b.screenshot("citizen-lookup-exists").await;
    // A new citizen.
    b.type_into("#lookup-id", "033190001234").await;
    b.click("#lookup-btn").await;
    b.wait_text("Chưa có tài khoản").await;
    b.find("#create-form").await;
    let body = b.body_text().await;
    for label in [
        "Thông tin công dân",
        "Thông tin cán bộ",
        "Yêu cầu số điện thoại của chính chủ",
        "Chọn đơn vị là Bộ phận một cửa nơi cán bộ đang làm việc",
        "Đề nghị đính kèm 1 file định dạng file doc, docx, pdf gồm 2 mặt CCCD/CMND",
    ] {
        assert!(body.contains(label), "form lacks {label}");
    }
    b.type_into("#c-name", "Nguyễn Văn A").await;
    b.type_into("#c-dob", "05/03/1990").await;
    b.type_into("#c-phone", "0912 345 678").await;
    let dir = tempfile::tempdir().unwrap();
    // A picture renamed to .pdf is refused by its content; the typed values stay.
    let fake = dir.path().join("anh-chup.pdf");
    std::fs::write(&fake, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    b.type_into("#c-scan", fake.to_str().unwrap()).await;
    b.select("#s-unit", VAN_LAM).await;
    b.click("#create-btn").await;
    b.wait_text("không dựa vào tên tệp").await;
    assert_eq!(
        b.exec("return document.getElementById('c-name').value;")
            .await,
        "Nguyễn Văn A"
    );
    b.screenshot("citizen-form-wrong-type").await;
    let scan = dir.path().join("CCCD.pdf");
    std::fs::write(&scan, motcua::upload::samples::pdf()).unwrap();
    b.type_into("#c-scan", scan.to_str().unwrap()).await;
    b.select("#s-unit", VAN_LAM).await;
    b.screenshot("citizen-form-filled").await;
    b.click("#create-btn").await;
    b.wait_text("Bước 2: Xác nhận của công dân").await;
    assert!(b.url().await.contains("/yeu-cau/"));
    // Download the request form (through the page's session).
    let href = b
        .exec("return document.getElementById('download-form').getAttribute('href');")
        .await;
    let js = format!(
        "return fetch('{}').then(r => r.arrayBuffer().then(buf => {{ var b = new Uint8Array(buf); var s = ''; for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]); return [r.status, r.headers.get('content-type'), r.headers.get('content-disposition'), btoa(s)]; }}));",
        href.as_str().unwrap()
    );
    let got = b.exec(&js).await;
    assert_eq!(got[0], 200, "{got}");
    assert_eq!(got[1], "application/pdf");
    assert!(got[2].as_str().unwrap().starts_with("attachment"));
    use base64::Engine;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(got[3].as_str().unwrap())
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("Nguyễn Văn A"), "{text}");
    }
    // The OTP.
    let seen = t.sms.all_to(CITIZEN_PHONE).len();
    b.click("#send-otp").await;
    b.wait_text("Đã gửi mã OTP").await;
    b.wait_text("Anh/chị nhập mã OTP gồm 6 số đã được gửi tới số điện thoại đăng ký của công dân")
        .await;
    b.wait_text("Mã OTP còn hiệu lực").await;
    assert!(
        b.text("#otp-help")
            .await
            .contains("Công dân không nhận được mã OTP?")
    );
    let disabled = b
        .exec("return document.getElementById('send-otp').disabled;")
        .await;
    assert_eq!(disabled, true, "resend waits for the cooldown");
    let code = t.sms.wait_code(CITIZEN_PHONE, seen).await;
    b.exec("document.getElementById('otp-help').open = true; document.getElementById('send-otp').scrollIntoView();")
        .await;
    b.screenshot("citizen-otp-step").await;
    b.type_into("#otp", &code).await;
    b.click("#create-account").await;
    b.wait_text("Đã tạo tài khoản cho công dân Nguyễn Văn A")
        .await;
    assert!(b.body_text().await.contains("091*****78"));
    b.screenshot("citizen-created").await;
    let sms = t.sms.wait_nth(CITIZEN_PHONE, seen + 2).await.text;
    let password = password_in(&sms);
    assert!(
        !b.source().await.contains(&password),
        "the password is never shown to staff"
    );
    // The list, filtered.
    b.click("#back-list").await;
    b.wait_text("Tìm thấy 1 kết quả").await;
    b.type_into("#f-name", "nguyen van a").await;
    b.type_into("#f-phone", "+84912345678").await;
    b.select("#f-unit", VAN_LAM).await;
    let today = motcua::util::fmt_date(t.app.now());
    b.type_into("#f-from", &today).await;
    b.type_into("#f-to", &today).await;
    b.click("#search-btn").await;
    b.wait_text("Tìm thấy 1 kết quả").await;
    let row = b.text("#citizen-list tbody tr").await;
    for cell in [
        "Nguyễn Văn A",
        "033190001234",
        "0912345678",
        "Nguyễn Thị Cán Bộ",
        VAN_LAM,
        "Xem chi tiết",
        "Tải CMND/CCCD",
        "Tải giấy đề nghị",
    ] {
        assert!(row.contains(cell), "row lacks {cell}: {row}");
    }
    b.screenshot("citizen-list-filtered-1366").await;
    b.type_into("#f-name", "tran thi").await;
    b.click("#search-btn").await;
    b.wait_text("Không tìm thấy tài khoản thỏa mãn các tiêu chí trên")
        .await;
    // A phone-sized screen still shows the list.
    b.goto(&t.url("/quan-tri/tao-tai-khoan-cong-dan")).await;
    b.wait_text("Tìm thấy 1 kết quả").await;
    b.quit().await;
    let small = Browser::start(360, 740).await;
    console_sign_in(t, &small, "canbo.vanlam", "Doi#MatKhau2026", STAFF_PHONE).await;
    small.wait_text("Đăng xuất").await;
    small.goto(&t.url("/quan-tri/tao-tai-khoan-cong-dan")).await;
    small.wait_text("Tìm thấy 1 kết quả").await;
    small.screenshot("citizen-list-360").await;
    small.quit().await;
}

/// (b) A staff member whose unit is not a one-stop unit sees why no unit can
/// be chosen, and who can fix it.
#[tokio::test]
async fn browser_non_eligible_unit_sees_reason() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let stp = t.unit_id("Sở Tư pháp").await;
    t.staff_with(
        &admin,
        "canbo.stp",
        "0987000505",
        "033185000505",
        stp,
        &["citizen_accounts.create"],
    )
    .await;
    let b = Browser::start(1366, 768).await;
    console_sign_in(&t, &b, "canbo.stp", "Doi#MatKhau2026", "0987000505").await;
    b.wait_text("Đăng xuất").await;
    b.goto(&t.url("/quan-tri/tao-tai-khoan-cong-dan")).await;
    b.wait_text("Anh/chị chưa chọn được đơn vị để tạo tài khoản công dân.")
        .await;
    let reason = b.text("#unit-reason").await;
    assert!(reason.contains("Sở Tư pháp"), "{reason}");
    assert!(
        reason.contains("Trung tâm phục vụ hành chính công"),
        "{reason}"
    );
    assert!(reason.contains("Bộ phận một cửa"), "{reason}");
    assert!(reason.contains("Ai có thể khắc phục"), "{reason}");
    assert!(b.try_find("#add-new").await.is_none());
    b.screenshot("citizen-unit-reason-name").await;
    b.goto(&t.url("/quan-tri/tao-tai-khoan-cong-dan/them-moi"))
        .await;
    b.wait_text("Anh/chị chưa chọn được đơn vị").await;
    b.quit().await;
    // Without the permission at all: 403 with the reason.
    let vl = t.unit_id(VAN_LAM).await;
    t.staff_with(&admin, "canbo.moi", "0987000606", "033185000606", vl, &[])
        .await;
    let b = Browser::start(1366, 768).await;
    console_sign_in(&t, &b, "canbo.moi", "Doi#MatKhau2026", "0987000606").await;
    b.wait_text("Đăng xuất").await;
    b.goto(&t.url("/quan-tri/tao-tai-khoan-cong-dan")).await;
    b.wait_text("Anh/chị chưa được cấp “Quyền tạo tài khoản công dân”.")
        .await;
    assert!(b.text("#unit-reason").await.contains(VAN_LAM));
    b.screenshot("citizen-unit-reason-permission").await;
    b.quit().await;
}
