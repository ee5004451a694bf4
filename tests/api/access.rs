//! Object-level access (issue 8, "Prove it holds"): who may download an
//! uploaded ID scan, and the console's POST actions on another unit's
//! objects. Every refusal is checked on the stored state, not only on the
//! status: a refused action must change nothing.

use motcua::store::{access_requests, accounts, audit, citizens, conversations, flows, sms, units};
use serde_json::json;

use crate::helpers::*;

const VL_ONE_STOP: &str = "Bộ phận một cửa UBND huyện Văn Lâm";
const KC_ONE_STOP: &str = "Bộ phận một cửa UBND huyện Khoái Châu";
const DT_ONE_STOP: &str = "Bộ phận một cửa UBND xã Đông Tảo";
const BM_ONE_STOP: &str = "Bộ phận một cửa UBND xã Bình Minh";
const CITIZENS: &str = "/quan-tri/tao-tai-khoan-cong-dan";
/// The CSRF token the console's pages hand out for this session.
fn csrf(t: &TestApp, token: &str) -> String {
    motcua::web::ctx::csrf_for_session(&t.app, token)
}

/// A staff-assisted request with the scanned ID, through the API; returns
/// the request id.
async fn new_request(t: &TestApp, token: &str, id: &str, phone: &str, unit: u64) -> String {
    let unit = unit.to_string();
    let (ct, body) = multipart(
        &[
            ("id_number", id),
            ("full_name", "Trần Văn Bình"),
            ("birth_date", "05/03/1990"),
            ("phone", phone),
            ("unit_id", &unit),
        ],
        &[("id_scan", "CCCD.pdf", &motcua::upload::samples::pdf())],
    );
    let (s, v) = t
        .post_body("/api/v1/citizen-account-requests", Some(token), &ct, body)
        .await;
    assert_eq!(s, 201, "request: {v}");
    v["request_id"].as_str().unwrap().to_string()
}

/// The console's multipart form (Thêm mới, with the scanned ID), CSRF
/// token inside the multipart body as the page sends it.
async fn console_multipart(
    t: &TestApp,
    token: &str,
    path: &str,
    fields: &[(&str, &str)],
    scan: &[u8],
) -> (u16, String) {
    let csrf = csrf(t, token);
    let mut all: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let (ct, body) = multipart(&all, &[("id_scan", "CCCD.pdf", scan)]);
    let r = t
        .http
        .post(t.url(path))
        .header("cookie", format!("mc_session={token}"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A console GET with the session cookie: status and body bytes.
async fn console_get(t: &TestApp, token: &str, path: &str) -> (u16, Vec<u8>) {
    let r = t.console_get(token, path).await;
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// An API GET with a bearer token: status and body bytes.
async fn api_get(t: &TestApp, token: Option<&str>, path: &str) -> (u16, Vec<u8>) {
    let mut rb = t.http.get(t.url(path));
    if let Some(tok) = token {
        rb = rb.bearer_auth(tok);
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

fn audit_entries(t: &TestApp) -> Vec<audit::AuditEntry> {
    t.app
        .store
        .read(|r| audit::AUDIT.all(r))
        .expect("audit log")
}

/// A console POST: what it tries, the path, the form fields.
type Action<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

/// Everything a console action on units, staff, access requests, support
/// requests or citizen requests could change.
#[derive(Debug)]
struct State {
    accounts: Vec<accounts::Account>,
    units: Vec<units::Unit>,
    access: Vec<access_requests::AccessRequest>,
    tickets: Vec<conversations::Ticket>,
    messages: Vec<conversations::Message>,
    citizens: Vec<citizens::CitizenRecord>,
    flows: Vec<flows::Flow>,
    sms: u64,
}

/// The parts of the state that differ (empty: nothing changed).
fn changed(a: &State, b: &State) -> Vec<&'static str> {
    let mut out = vec![];
    let parts = [
        ("accounts", a.accounts == b.accounts),
        ("units", a.units == b.units),
        ("access requests", a.access == b.access),
        ("support requests", a.tickets == b.tickets),
        ("chat messages", a.messages == b.messages),
        ("citizen accounts", a.citizens == b.citizens),
        ("flows (citizen requests, OTPs)", a.flows == b.flows),
        ("SMS queue", a.sms == b.sms),
    ];
    for (name, same) in parts {
        if !same {
            out.push(name);
        }
    }
    out
}

fn state(t: &TestApp) -> State {
    t.app
        .store
        .read(|r| {
            Ok(State {
                accounts: accounts::ACCOUNTS.all(r)?,
                units: units::UNITS.all(r)?,
                access: access_requests::REQUESTS.all(r)?,
                tickets: conversations::TICKETS.all(r)?,
                messages: conversations::MESSAGES.all(r)?,
                citizens: citizens::RECORDS.all(r)?,
                flows: flows::FLOWS.all(r)?,
                sms: sms::SMS.len(r)?,
            })
        })
        .expect("state")
}

/// (a) The scanned ID card of a staff-assisted account. The rule
/// (docs/design/uploads.md): while the request is pending it is its
/// creator's alone (the citizen is at that desk and the OTP is read out
/// there), so even a colleague gets 404; once the account exists, the scan
/// is part of the unit's records: anyone holding `citizen_accounts.create`
/// on the account's unit (or above it) may download it, as a colleague
/// covering the counter must. Staff of the same unit without that
/// permission get 403, another unit's staff 404, and only allowed
/// downloads reach the audit log.
#[tokio::test]
async fn id_scan_downloads_follow_the_unit_and_the_permission() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let vl = t.unit_id(VL_ONE_STOP).await;
    let kc = t.unit_id(KC_ONE_STOP).await;
    let perm = &["citizen_accounts.create"];
    let owner = t
        .staff_with(&admin, "cb.chu", "0987000501", "033185000501", vl, perm)
        .await;
    let colleague = t
        .staff_with(
            &admin,
            "cb.dongnghiep",
            "0987000502",
            "033185000502",
            vl,
            perm,
        )
        .await;
    let no_perm = t
        .staff_with(
            &admin,
            "cb.hotro",
            "0987000503",
            "033185000503",
            vl,
            &["support.manage"],
        )
        .await;
    let other = t
        .staff_with(
            &admin,
            "cb.khoaichau",
            "0987000504",
            "033185000504",
            kc,
            perm,
        )
        .await;
    let (id, phone) = ("033190005678", "0912000501");
    let req = new_request(&t, &owner, id, phone, vl).await;

    // Pending: the owner's alone.
    let (s, _) = api_get(
        &t,
        Some(&owner),
        &format!("/api/v1/citizen-account-requests/{req}"),
    )
    .await;
    assert_eq!(s, 200, "the owner sees the request");
    let before = state(&t);
    for (who, tok, want) in [
        ("colleague", &colleague, 404),
        ("other unit", &other, 404),
        ("no permission", &no_perm, 403),
    ] {
        for path in [
            format!("/api/v1/citizen-account-requests/{req}"),
            format!("/api/v1/citizen-account-requests/{req}/form.pdf"),
        ] {
            let (s, body) = api_get(&t, Some(tok), &path).await;
            assert_eq!(s, want, "{who} GET {path}");
            assert!(!body.starts_with(b"%PDF"), "{who} got a PDF from {path}");
        }
        let (s, _) = console_get(&t, tok, &format!("{CITIZENS}/yeu-cau/{req}")).await;
        assert_eq!(s, want, "{who}: console request page");
        let (s, _) = t
            .console_post(tok, &format!("{CITIZENS}/yeu-cau/{req}/gui-otp"), &[])
            .await;
        assert_eq!(s, want, "{who}: console send OTP");
        let r = t
            .post_json(
                &format!("/api/v1/citizen-account-requests/{req}/otp"),
                Some(tok),
                &json!({}),
            )
            .await;
        assert_eq!(r.0, want, "{who}: API send OTP: {}", r.1);
    }
    let diff = changed(&before, &state(&t));
    assert!(
        diff.is_empty(),
        "refused calls on the request changed {diff:?}"
    );
    assert!(t.sms.all_to(phone).is_empty(), "no OTP went to the citizen");

    // The owner finishes: the account exists, with the scan.
    let seen = t.sms.all_to(phone).len();
    let r = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/otp"),
            Some(&owner),
            &json!({}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let code = t.sms.wait_code(phone, seen).await;
    let r = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/confirm"),
            Some(&owner),
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(r.0, 201, "{}", r.1);
    let seq = t
        .app
        .store
        .read(|r| citizens::get(r, id))
        .unwrap()
        .expect("the account")
        .seq;
    let api_scan = format!("/api/v1/citizen-accounts/{id}/id-scan");
    let console_scan = format!("{CITIZENS}/tai-khoan/{seq}/cmnd-cccd");
    let pdf = motcua::upload::samples::pdf();

    // Refused: anonymous, another unit, the same unit without the permission.
    let downloads_before = audit_entries(&t)
        .iter()
        .filter(|e| e.action == "citizen_scan_download")
        .count();
    let (s, _) = api_get(&t, None, &api_scan).await;
    assert_eq!(s, 401);
    let r = t.http.get(t.url(&console_scan)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/quan-tri/dang-nhap");
    for (who, tok, want) in [
        ("other unit", &other, 404),
        ("no permission", &no_perm, 403),
    ] {
        let api = api_get(&t, Some(tok), &api_scan).await;
        let console = console_get(&t, tok, &console_scan).await;
        for (kind, (s, body)) in [("API", api), ("console", console)] {
            assert_eq!(s, want, "{who} {kind} scan download");
            assert!(
                !body.windows(pdf.len()).any(|w| w == pdf),
                "{who} {kind}: the scan leaked"
            );
        }
        // Nor the account's other views of it.
        let (s, _) = api_get(&t, Some(tok), &format!("/api/v1/citizen-accounts/{id}")).await;
        assert_eq!(s, want, "{who} account");
        let (s, _) = console_get(&t, tok, &format!("{CITIZENS}/tai-khoan/{seq}")).await;
        assert_eq!(s, want, "{who} console account page");
    }
    let entries = audit_entries(&t);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "citizen_scan_download")
            .count(),
        downloads_before,
        "a refused download was recorded as a download"
    );
    assert!(
        !entries.iter().any(|e| {
            (e.actor == "cb.khoaichau" || e.actor == "cb.hotro") && e.action.starts_with("citizen_")
        }),
        "refused staff left citizen traces in the audit log"
    );

    // Allowed: the owner and a colleague with the permission in the same
    // unit, the exact bytes, as attachments.
    for (who, tok) in [("owner", &owner), ("colleague", &colleague)] {
        let r = t
            .http
            .get(t.url(&api_scan))
            .bearer_auth(tok)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{who} API scan download");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(
            r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment;")
        );
        assert_eq!(r.bytes().await.unwrap().to_vec(), pdf, "{who}");
        let (s, body) = console_get(&t, tok, &console_scan).await;
        assert_eq!(s, 200, "{who} console scan download");
        assert_eq!(body, pdf, "{who}");
    }
    let downloaders: Vec<String> = audit_entries(&t)
        .into_iter()
        .filter(|e| e.action == "citizen_scan_download")
        .map(|e| e.actor)
        .collect();
    assert_eq!(
        downloaders.iter().filter(|a| *a == "cb.dongnghiep").count(),
        2,
        "{downloaders:?}"
    );

    // Revoking the colleague's permission takes effect at the next request.
    let r = t
        .put_json(
            "/api/v1/staff/cb.dongnghiep/grants",
            Some(&admin),
            &json!({"unit_id": vl, "permissions": []}),
        )
        .await;
    assert_eq!(r.0, 200, "{}", r.1);
    let (s, _) = api_get(&t, Some(&colleague), &api_scan).await;
    assert_eq!(s, 403, "revoked: API");
    let (s, body) = console_get(&t, &colleague, &console_scan).await;
    assert_eq!(s, 403, "revoked: console");
    assert_ne!(body, pdf);
}

/// A portal account (self-registered) that files a staff access request
/// for `unit`; returns the request id.
async fn access_request(t: &TestApp, portal: &str, unit: u64) -> u64 {
    let r = t
        .post_json(
            "/api/v1/staff-access-requests",
            Some(portal),
            &json!({"unit_id": unit, "position": "Cán bộ tiếp nhận"}),
        )
        .await;
    assert_eq!(r.0, 201, "{}", r.1);
    r.1["request_id"].as_u64().unwrap()
}

/// (b) The console's POST actions (units, staff, grants, access requests,
/// support requests, citizen requests) aimed at another unit's objects, by
/// a unit admin who holds every permission in their own unit (404: the
/// objects do not exist for them) and by a staff member who holds none
/// (403 or 404). Each attempt is well-formed (valid session and CSRF
/// pair) and must leave the stored state exactly as it was; the same
/// forms sent by the right unit's staff afterwards do take effect, so the
/// refusals are not an artefact of a malformed request.
#[tokio::test]
async fn console_posts_on_another_units_objects_change_nothing() {
    let t = spawn_app().await;
    let admin = t.admin_token().await;
    let vl_district = t.unit_id("UBND huyện Văn Lâm").await;
    let vl = t.unit_id(VL_ONE_STOP).await;
    let kc_district = t.unit_id("UBND huyện Khoái Châu").await;
    let kc = t.unit_id(KC_ONE_STOP).await;
    let dt = t.unit_id(DT_ONE_STOP).await;
    let bm = t.unit_id(BM_ONE_STOP).await;
    let all = &["users.create", "citizen_accounts.create", "support.manage"];
    let vl_admin = t
        .staff_with(
            &admin,
            "qt.vanlam",
            "0987000601",
            "033185000601",
            vl_district,
            all,
        )
        .await;
    let vl_plain = t
        .staff_with(&admin, "cb.vanlam", "0987000602", "033185000602", vl, &[])
        .await;
    let kc_admin = t
        .staff_with(
            &admin,
            "qt.khoaichau",
            "0987000603",
            "033185000603",
            kc_district,
            all,
        )
        .await;
    let kc_staff = t
        .staff_with(
            &admin,
            "cb.khoaichau",
            "0987000604",
            "033185000604",
            kc,
            &["citizen_accounts.create"],
        )
        .await;

    // Khoái Châu's objects: two access requests, a support request, a
    // citizen request with its OTP sent (by its owner, from the console).
    let applicant = portal_account(&t, "033190006001", "Vũ Thị Hoa", "0372555601").await;
    let ar_dt = access_request(&t, &applicant, dt).await;
    let ar_bm = access_request(&t, &applicant, bm).await;
    let (s, c) = t
        .post_json(
            "/api/v1/chat",
            None,
            &json!({"text": "tôi ở xã Đông Tảo, không đăng nhập được"}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let conv = c["conversation_id"].as_str().unwrap().to_string();
    let (s, h) = t
        .post_json(&format!("/api/v1/chat/{conv}/handoff"), None, &json!({}))
        .await;
    assert_eq!(s, 201, "{h}");
    let tid = h["ticket_id"].as_u64().unwrap();
    let ticket = |t: &TestApp| {
        t.app
            .store
            .read(|r| conversations::ticket(r, tid))
            .unwrap()
            .unwrap()
    };
    assert_eq!(ticket(&t).unit, dt, "routed to Đông Tảo");
    let (cid, cphone) = ("033190006002", "0912000601");
    let req = new_request(&t, &kc_staff, cid, cphone, kc).await;
    let (s, body) = t
        .console_post(&kc_staff, &format!("{CITIZENS}/yeu-cau/{req}/gui-otp"), &[])
        .await;
    assert_eq!(s, 303, "the owner sends the OTP: {body}");
    let code = t.sms.wait_code(cphone, 0).await;

    let kc_s = kc.to_string();
    let kc_district_s = kc_district.to_string();
    let actions: Vec<Action> = vec![
        (
            "rename the district",
            format!("/quan-tri/don-vi/{kc_district}"),
            vec![("name", "UBND huyện Đổi Tên")],
        ),
        (
            "rename the one-stop unit",
            format!("/quan-tri/don-vi/{kc}"),
            vec![("name", "Bộ phận một cửa UBND huyện Đổi Tên")],
        ),
        (
            "create a unit under it",
            "/quan-tri/don-vi".into(),
            vec![("name", "Tổ công tác lạ"), ("parent_id", &kc_district_s)],
        ),
        (
            "create staff in it",
            "/quan-tri/can-bo".into(),
            vec![
                ("username", "cb.xam.nhap"),
                ("full_name", "Lê Văn Lạ"),
                ("id_number", "033185000699"),
                ("phone", "0987000699"),
                ("unit_id", &kc_s),
            ],
        ),
        (
            "revoke its staff's grant",
            "/quan-tri/can-bo/cb.khoaichau/quyen".into(),
            vec![("unit_id", &kc_s)],
        ),
        (
            "extend its staff's grant",
            "/quan-tri/can-bo/cb.khoaichau/quyen".into(),
            vec![
                ("unit_id", &kc_s),
                ("perm", "citizen_accounts.create"),
                ("perm", "support.manage"),
            ],
        ),
        (
            "revoke its admin's grant",
            "/quan-tri/can-bo/qt.khoaichau/quyen".into(),
            vec![("unit_id", &kc_district_s)],
        ),
        (
            "approve its access request",
            format!("/quan-tri/yeu-cau-cap-quyen/{ar_dt}/duyet"),
            vec![("perm", "citizen_accounts.create")],
        ),
        (
            "reject its access request",
            format!("/quan-tri/yeu-cau-cap-quyen/{ar_bm}/tu-choi"),
            vec![("reason", "Không thuộc đơn vị")],
        ),
        (
            "answer its support request",
            format!("/quan-tri/ho-tro/{tid}/tra-loi"),
            vec![("text", "Trả lời từ đơn vị khác")],
        ),
        (
            "answer with a canned reply",
            format!("/quan-tri/ho-tro/{tid}/tra-loi"),
            vec![("text", ""), ("canned", "otp")],
        ),
        (
            "take its support request",
            format!("/quan-tri/ho-tro/{tid}/trang-thai"),
            vec![("status", "in_progress")],
        ),
        (
            "close its support request",
            format!("/quan-tri/ho-tro/{tid}/trang-thai"),
            vec![("status", "done")],
        ),
        (
            "resend its citizen OTP",
            format!("{CITIZENS}/yeu-cau/{req}/gui-otp"),
            vec![],
        ),
        (
            "create its citizen account with the right code",
            format!("{CITIZENS}/yeu-cau/{req}/tao-tai-khoan"),
            vec![("otp", &code)],
        ),
    ];
    let before = state(&t);
    let audit_mark = audit_entries(&t).iter().map(|e| e.id).max().unwrap_or(0);
    for (who, tok, allowed) in [
        ("Văn Lâm admin", &vl_admin, &[404u16][..]),
        (
            "Văn Lâm staff without permissions",
            &vl_plain,
            &[403, 404][..],
        ),
    ] {
        for (what, path, fields) in &actions {
            let (s, body) = t.console_post(tok, path, fields).await;
            assert!(
                allowed.contains(&s),
                "{who}: {what} (POST {path}) answered {s}, expected {allowed:?}: {}",
                body.chars().take(400).collect::<String>()
            );
            let diff = changed(&before, &state(&t));
            assert!(
                diff.is_empty(),
                "{who}: {what} (POST {path}) changed {diff:?}"
            );
        }
    }
    // A new citizen request (with a scan of its own) filed into the other
    // unit through the console's multipart form.
    let mut other_scan = motcua::upload::samples::pdf();
    other_scan.extend_from_slice(b"\n% another scan\n");
    let files = uploads_count(&t);
    for (who, tok) in [("Văn Lâm admin", &vl_admin), ("Văn Lâm staff", &vl_plain)] {
        let (s, body) = console_multipart(
            &t,
            tok,
            &format!("{CITIZENS}/them-moi"),
            &[
                ("id_number", "033190006003"),
                ("full_name", "Đỗ Thị Lan"),
                ("birth_date", "01/02/1990"),
                ("phone", "0912000602"),
                ("email", ""),
                ("unit_id", &kc_s),
            ],
            &other_scan,
        )
        .await;
        assert!(
            [400, 403, 404].contains(&s),
            "{who}: citizen request into Khoái Châu answered {s}: {}",
            body.chars().take(400).collect::<String>()
        );
        // Refused for the unit, not for some other field.
        let field_errors: Vec<&str> = body
            .lines()
            .filter(|l| l.contains("class=\"field-error\">"))
            .collect();
        if s == 400 {
            assert!(
                field_errors.len() == 1 && field_errors[0].contains("Đơn vị đã chọn không hợp lệ"),
                "{who}: {field_errors:?}"
            );
        }
        let diff = changed(&before, &state(&t));
        assert!(
            diff.is_empty(),
            "{who}: the refused request changed {diff:?}"
        );
        assert_eq!(
            uploads_count(&t),
            files,
            "{who}: the refused scan was stored"
        );
    }
    assert_eq!(t.sms.all_to("0372555601").len(), 0, "no decision SMS");
    assert_eq!(t.sms.all_to(cphone).len(), 1, "only the owner's OTP");
    let done: Vec<audit::AuditEntry> = audit_entries(&t)
        .into_iter()
        .filter(|e| e.id > audit_mark && (e.actor == "qt.vanlam" || e.actor == "cb.vanlam"))
        .collect();
    assert!(done.is_empty(), "refused actions were audited: {done:?}");
    // Văn Lâm's admin still acts in Văn Lâm (the refusals are about the
    // objects, not the actor).
    let (s, _) = t
        .console_post(
            &vl_admin,
            &format!("/quan-tri/don-vi/{vl}"),
            &[("name", "Bộ phận một cửa UBND huyện Văn Lâm")],
        )
        .await;
    assert_eq!(s, 303, "Văn Lâm's admin renames their own unit");

    // The same forms from Khoái Châu's own staff take effect.
    let (s, body) = t
        .console_post(
            &kc_staff,
            &format!("{CITIZENS}/yeu-cau/{req}/tao-tai-khoan"),
            &[("otp", &code)],
        )
        .await;
    assert_eq!(s, 303, "the owner creates the account: {body}");
    assert!(
        t.app
            .store
            .read(|r| citizens::get(r, cid))
            .unwrap()
            .is_some(),
        "account created"
    );
    let (s, _) = t
        .console_post(
            &kc_admin,
            "/quan-tri/don-vi",
            &[
                ("name", "Tổ công tác lưu động"),
                ("parent_id", &kc_district_s),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let new_unit = t.unit_id("Tổ công tác lưu động").await;
    let (s, _) = t
        .console_post(
            &kc_admin,
            &format!("/quan-tri/don-vi/{new_unit}"),
            &[("name", "Tổ công tác lưu động Khoái Châu")],
        )
        .await;
    assert_eq!(s, 303);
    let renamed = t
        .app
        .store
        .read(|r| units::get(r, new_unit))
        .unwrap()
        .unwrap();
    assert_eq!(renamed.name, "Tổ công tác lưu động Khoái Châu");
    let (s, _) = t
        .console_post(
            &kc_admin,
            "/quan-tri/can-bo",
            &[
                ("username", "cb.binhminh"),
                ("full_name", "Lê Văn Minh"),
                ("id_number", "033185000698"),
                ("phone", "0987000698"),
                ("unit_id", &kc_s),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let read_account = |t: &TestApp, u: &str| {
        t.app
            .store
            .read(|r| accounts::get(r, u))
            .unwrap()
            .unwrap_or_else(|| panic!("no account {u}"))
    };
    assert_eq!(read_account(&t, "cb.binhminh").units, vec![kc]);
    let (s, _) = t
        .console_post(
            &kc_admin,
            "/quan-tri/can-bo/cb.khoaichau/quyen",
            &[
                ("unit_id", &kc_s),
                ("perm", "citizen_accounts.create"),
                ("perm", "support.manage"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let granted = read_account(&t, "cb.khoaichau").grant_on(kc);
    assert!(granted.contains(motcua::domain::Permission::SupportManage));
    let (s, _) = t
        .console_post(
            &kc_admin,
            &format!("/quan-tri/yeu-cau-cap-quyen/{ar_dt}/duyet"),
            &[("perm", "citizen_accounts.create")],
        )
        .await;
    assert_eq!(s, 303);
    let (s, _) = t
        .console_post(
            &kc_admin,
            &format!("/quan-tri/yeu-cau-cap-quyen/{ar_bm}/tu-choi"),
            &[("reason", "Đơn vị đã đủ cán bộ")],
        )
        .await;
    assert_eq!(s, 303);
    let decided: Vec<(u64, access_requests::Status)> = t
        .app
        .store
        .read(access_requests::all)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.status))
        .collect();
    assert!(decided.contains(&(ar_dt, access_requests::Status::Approved)));
    assert!(decided.contains(&(ar_bm, access_requests::Status::Rejected)));
    let (s, _) = t
        .console_post(
            &kc_admin,
            &format!("/quan-tri/ho-tro/{tid}/tra-loi"),
            &[("text", "Cán bộ Khoái Châu xin trả lời")],
        )
        .await;
    assert_eq!(s, 303);
    let (s, _) = t
        .console_post(
            &kc_admin,
            &format!("/quan-tri/ho-tro/{tid}/trang-thai"),
            &[("status", "done")],
        )
        .await;
    assert_eq!(s, 303);
    let tk = ticket(&t);
    assert_eq!(tk.status, motcua::domain::TicketStatus::Done);
    assert_eq!(tk.resolved_by.as_deref(), Some("qt.khoaichau"));
}
