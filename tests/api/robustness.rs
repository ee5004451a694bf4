//! Issue 8: enumeration timing, brute force and abuse limits, measured
//! through the API of the real server (in process, clock under test control).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, multipart, retry_after, spawn_app_with, wrong_code};
use motcua::flows::sign_in::Audience;

/// The demo subscriber registry's first two rows.
const AN: (&str, &str, &str, &str) = ("033090001234", "Nguyễn Văn An", "15/03/1990", "0372123456");
/// A citizen signed up at the counter.
const MAI: (&str, &str) = ("033190005555", "0977333444");
const BINH: (&str, &str, &str, &str) =
    ("033185002345", "Trần Thị Bình", "02/11/1985", "0912345678");

async fn post_from(t: &TestApp, path: &str, ip: &str, body: &Value) -> (u16, Value, Duration) {
    let t0 = Instant::now();
    let r = t
        .http
        .post(t.url(path))
        .header("x-forwarded-for", ip)
        .json(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let v = r.json().await.unwrap_or(Value::Null);
    (s, v, t0.elapsed())
}

fn registration(who: (&str, &str, &str, &str)) -> Value {
    json!({"kind": "citizen", "method": "mobile", "id_number": who.0, "full_name": who.1,
        "birth_date": who.2, "phone": who.3, "email": null, "captcha_id": "", "captcha": "x",
        "consent": true})
}

/// The body's shape: each key with the JSON type of its value.
fn shape(v: &Value) -> Vec<(String, &'static str)> {
    let Some(o) = v.as_object() else {
        return vec![("<not an object>".into(), "")];
    };
    o.iter()
        .map(|(k, v)| {
            let ty = match v {
                Value::Null => "null",
                Value::Bool(_) => "bool",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            (k.clone(), ty)
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Registers An through the API (start, OTP, password).
async fn register_an(t: &TestApp) {
    let (s, v, _) = post_from(t, "/api/v1/registrations", "10.0.0.1", &registration(AN)).await;
    assert_eq!(s, 202, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = t.sms.wait_code(AN.3, 0).await;
    let (s, v) = t.submit_otp("registrations", &flow, &code).await;
    assert_eq!(s, 200, "{v}");
    let pw = "CongDan#An-1990x";
    let (s, v) = t.choose_password("registrations", &flow, pw).await;
    assert_eq!(s, 201, "{v}");
}

/// Runs `trials` pairs (existing, unknown), alternating which goes first;
/// returns the medians after checking status and shape match every time.
async fn compare(
    t: &TestApp,
    trials: usize,
    path: &str,
    existing: &Value,
    unknown: &Value,
) -> (Duration, Duration) {
    let (mut te, mut tu) = (vec![], vec![]);
    for i in 0..trials {
        // A new hour each trial: per-phone and per-IP caps stay out of it.
        t.app.clock.advance(3601);
        let ip = format!("10.1.{}.{}", i / 200, i % 200 + 1);
        let (e, u) = if i % 2 == 0 {
            let e = post_from(t, path, &ip, existing).await;
            let u = post_from(t, path, &ip, unknown).await;
            (e, u)
        } else {
            let u = post_from(t, path, &ip, unknown).await;
            let e = post_from(t, path, &ip, existing).await;
            (e, u)
        };
        assert_eq!(e.0, u.0, "{path}: status differs: {} vs {}", e.1, u.1);
        assert_eq!(e.0, 202, "{path}: {}", e.1);
        assert_eq!(shape(&e.1), shape(&u.1), "{path}: {} vs {}", e.1, u.1);
        assert_eq!(e.1["resend_in"], u.1["resend_in"]);
        te.push(e.2);
        tu.push(u.2);
    }
    (median(te), median(tu))
}

#[tokio::test]
async fn registration_and_reset_do_not_reveal_existing_ids() {
    let t = spawn_app_with(|c| {
        c.captcha = false;
        c.trust_proxy = true;
    })
    .await;
    register_an(&t).await;

    let (e, u) = compare(
        &t,
        100,
        "/api/v1/registrations",
        &registration(AN),
        &registration(BINH),
    )
    .await;
    let diff = e.abs_diff(u);
    eprintln!("registration medians: existing {e:?}, unknown {u:?}, diff {diff:?}");
    assert!(diff < Duration::from_millis(10), "registration: {diff:?}");

    let (e, u) = compare(
        &t,
        100,
        "/api/v1/password-resets",
        &json!({"username": AN.0, "captcha_id": "", "captcha": "x"}),
        &json!({"username": BINH.0, "captcha_id": "", "captcha": "x"}),
    )
    .await;
    let diff = e.abs_diff(u);
    eprintln!("password reset medians: existing {e:?}, unknown {u:?}, diff {diff:?}");
    assert!(diff < Duration::from_millis(10), "password reset: {diff:?}");
}

#[tokio::test]
async fn otp_guessing_dies_per_code_and_per_flow() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    let (s, v) = t
        .post_json("/api/v1/registrations", None, &registration(BINH))
        .await;
    assert_eq!(s, 202, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let otp = format!("/api/v1/registrations/{flow}/otp");
    let resend = format!("/api/v1/registrations/{flow}/otp/resend");

    // Five wrong tries kill the code: even the right one is refused then.
    let code = t.sms.wait_code(BINH.3, 0).await;
    for left in (1..5).rev() {
        let (s, v) = t
            .post_json(&otp, None, &json!({"otp": wrong_code(&code)}))
            .await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["error"]["fields"]["otp"]
                .as_str()
                .unwrap()
                .contains(&format!("còn {left} lần")),
            "{v}"
        );
    }
    let (s, v) = t
        .post_json(&otp, None, &json!({"otp": wrong_code(&code)}))
        .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]["fields"]["otp"]
            .as_str()
            .unwrap()
            .contains("khóa"),
        "{v}"
    );
    let (s, v) = t.post_json(&otp, None, &json!({"otp": code})).await;
    assert_eq!(s, 400, "a dead code stays dead: {v}");

    // Across resends: keep guessing (5 per code) and resending until the
    // flow refuses to give more codes. The wrong tries the flow ever
    // accepted stay within the per-flow limit of 100; the flow's 15 minutes,
    // the 60 s cooldown and the phone's 10 codes an hour end it sooner.
    let mut wrong = 5;
    let mut codes = 1;
    let last = loop {
        t.app.clock.advance(61);
        let (s, v) = t.post_json(&resend, None, &json!({})).await;
        if s != 202 {
            break (s, v);
        }
        codes += 1;
        let code = t.sms.wait_code(BINH.3, codes - 1).await;
        for _ in 0..5 {
            let (s, _) = t
                .post_json(&otp, None, &json!({"otp": wrong_code(&code)}))
                .await;
            assert_eq!(s, 400);
            wrong += 1;
        }
        let (s, _) = t.post_json(&otp, None, &json!({"otp": code})).await;
        assert_eq!(s, 400, "a code killed by 5 wrong tries never works");
        assert!(wrong <= 100, "more than 100 wrong tries in one flow");
    };
    eprintln!("OTP guessing: {codes} codes, {wrong} wrong tries, then {last:?}");
    assert!(
        [429, 410].contains(&last.0),
        "the flow ends with a limit: {last:?}"
    );
    assert!(codes <= 15 && wrong <= 75, "{codes} codes, {wrong} tries");
    // 10^6 codes, at most `wrong` guesses: the flow cannot be brute-forced.
    // The per-flow rule itself (100 wrong tries across resends kills the
    // flow even with codes left) is checked in src/otp.rs unit tests.
}

#[tokio::test]
async fn sign_in_waits_grow_per_account_and_per_ip() {
    let t = spawn_app_with(|c| {
        c.captcha = false;
        c.trust_proxy = true;
    })
    .await;
    register_an(&t).await;
    let login = |ip: &'static str, user: &'static str, pw: &'static str| {
        let t = &t;
        async move {
            let r = t
                .http
                .post(t.url("/api/v1/login"))
                .header("x-forwarded-for", ip)
                .json(&json!({"username": user, "password": pw, "captcha_id": "", "captcha": "x"}))
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let ra = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i64>().ok());
            (s, ra)
        }
    };

    // Per account: 5 free failures, then the account waits 30 s, 60 s,
    // 120 s... (a right password is refused meanwhile, with the same answer).
    for _ in 0..5 {
        assert_eq!(login("10.2.0.1", AN.0, "Sai#MatKhau-1").await.0, 401);
    }
    let mut waits = vec![];
    for i in 0..3 {
        let (s, _) = login("10.2.0.1", AN.0, "CongDan#An-1990x").await;
        assert_eq!(s, 401, "locked account refuses the right password");
        // The wait is per account and client (here the IP), see
        // tests/api/hardening.rs for strangers.
        let wait = motcua::flows::sign_in::client_wait(&t.app, AN.0, "10.2.0.1", Audience::Portal)
            .unwrap();
        waits.push(wait);
        t.app.clock.advance(wait + 1);
        if i < 2 {
            assert_eq!(login("10.2.0.1", AN.0, "Sai#MatKhau-1").await.0, 401);
        }
    }
    eprintln!("per-account waits: {waits:?}");
    assert!(
        // What is left of the first 30 s wait (a second may have passed on
        // a busy machine between the failure and the question).
        waits[0] >= 29 && waits[1] > waits[0] && waits[2] > waits[1],
        "{waits:?}"
    );
    let (s, _) = login("10.2.0.1", AN.0, "CongDan#An-1990x").await;
    assert_eq!(s, 200, "after the wait the right password works");

    // Per IP: 20 free failures over any names, then 429 with a growing
    // Retry-After; another IP is not affected.
    for _ in 0..20 {
        assert_eq!(login("10.2.0.2", "khongco", "Sai#MatKhau-1").await.0, 401);
    }
    let mut ip_waits = vec![];
    for _ in 0..3 {
        let (s, ra) = login("10.2.0.2", "khongco", "Sai#MatKhau-1").await;
        assert_eq!(s, 429);
        let ra = ra.expect("Retry-After");
        ip_waits.push(ra);
        t.app.clock.advance(ra);
        assert_eq!(login("10.2.0.2", "khongco", "Sai#MatKhau-1").await.0, 401);
    }
    eprintln!("per-IP waits: {ip_waits:?}");
    assert!(
        ip_waits[1] > ip_waits[0] && ip_waits[2] > ip_waits[1],
        "{ip_waits:?}"
    );
    assert_eq!(login("10.2.0.3", "khongco", "Sai#MatKhau-1").await.0, 401);

    // Staff at a counter behind the same IP still sign in to the console:
    // citizens' portal failures do not count against it.
    t.create_superadmin().await;
    let r = t
        .http
        .post(t.url("/api/v1/staff/login"))
        .header("x-forwarded-for", "10.2.0.2")
        .json(
            &json!({"username": crate::helpers::ADMIN, "password": crate::helpers::ADMIN_PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "console sign-in from the citizens' IP");
    assert_eq!(
        login("10.2.0.2", "khongco", "Sai#MatKhau-1").await.0,
        429,
        "the portal stays throttled"
    );
}

#[tokio::test]
async fn sms_caps_per_phone_and_per_ip_spare_staff_at_the_counter() {
    let t = spawn_app_with(|c| {
        c.captcha = false;
        c.trust_proxy = true;
    })
    .await;
    register_an(&t).await;
    let reset = json!({"username": AN.0, "captcha_id": "", "captcha": "x"});
    // An's registration code is an hour old before the caps are counted.
    t.app.clock.advance(3601);

    // Per phone: the 60 s cooldown of a flow's resend.
    let (s, v, _) = post_from(&t, "/api/v1/password-resets", "10.3.0.1", &reset).await;
    assert_eq!(s, 202, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let r = t
        .http
        .post(t.url(&format!("/api/v1/password-resets/{flow}/otp/resend")))
        .header("x-forwarded-for", "10.3.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let ra = retry_after(&r);
    assert!(ra > 0 && ra <= 60, "{ra}");

    // Per phone: 10 an hour (each from a new IP, a minute apart). The
    // reset answers the same past the cap (no enumeration), but no SMS goes.
    t.sms.wait_nth(AN.3, 2).await;
    let before = t.sms.all_to(AN.3).len();
    for i in 0..12 {
        t.app.clock.advance(61);
        let (s, v, _) = post_from(
            &t,
            "/api/v1/password-resets",
            &format!("10.3.1.{i}"),
            &reset,
        )
        .await;
        assert_eq!(s, 202, "{v}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = t.sms.all_to(AN.3).len() - before;
    // The first reset above counts too: 10 in the hour.
    assert_eq!(sent, 9, "per-phone hourly cap");

    // Per phone: 50 a day (60 resets six minutes apart, each hour under
    // its cap of 10).
    t.app.clock.advance(86_400);
    let before = t.sms.all_to(AN.3).len();
    for i in 0..60 {
        t.app.clock.advance(361);
        let (s, _, _) = post_from(
            &t,
            "/api/v1/password-resets",
            &format!("10.3.2.{i}"),
            &reset,
        )
        .await;
        assert_eq!(s, 202);
    }
    let mut day = 0;
    for _ in 0..50 {
        day = t.sms.all_to(AN.3).len() - before;
        if day >= 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    day = day.max(t.sms.all_to(AN.3).len() - before);
    eprintln!("per-phone: 60 resets over 6 h, {day} codes sent");
    assert_eq!(day, 50, "per-phone daily cap");

    // Per IP: anonymous flows get 30 codes an hour from one address, then
    // 429 with Retry-After, for existing and unknown IDs alike.
    t.app.clock.advance(86_400);
    let mut ok = 0;
    let mut refused = None;
    for i in 0..40 {
        let who = if i % 2 == 0 { AN.0 } else { "033185009999" };
        let (s, v, _) = post_from(
            &t,
            "/api/v1/password-resets",
            "10.3.9.9",
            &json!({"username": who, "captcha_id": "", "captcha": "x"}),
        )
        .await;
        match s {
            202 => ok += 1,
            429 => {
                refused = Some(v);
                break;
            }
            _ => panic!("{s} {v}"),
        }
    }
    eprintln!("per-IP: {ok} codes before 429");
    assert_eq!(ok, motcua::otp::PER_IP_HOUR);
    assert_eq!(refused.unwrap()["error"]["code"], "rate_limited");
    let (s, v, _) = post_from(&t, "/api/v1/registrations", "10.3.9.9", &registration(BINH)).await;
    assert_eq!(s, 429, "registration shares the per-IP cap: {v}");
    let (s, _, _) = post_from(&t, "/api/v1/registrations", "10.3.9.8", &registration(BINH)).await;
    assert_eq!(s, 202, "another IP is not affected");

    // Staff signed in at the counter, behind the same IP, are not blocked:
    // their sign-in and the citizen-account OTP do not use citizens' cap.
    let admin = t.admin_token().await;
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let staff = t
        .staff_with(
            &admin,
            "canbo.quay",
            "0988100200",
            "033185001111",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    let (s, v) = t.get_json("/api/v1/staff/me", Some(&staff)).await;
    assert_eq!(s, 200, "{v}");
    let r = t
        .http
        .get(t.url("/api/v1/citizen-accounts/lookup?id_number=033190005555"))
        .header("x-forwarded-for", "10.3.9.9")
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let req = counter_request(&t, &staff, unit, "10.3.9.9", MAI).await;
    let r = t
        .http
        .post(t.url(&format!("/api/v1/citizen-account-requests/{req}/otp")))
        .header("x-forwarded-for", "10.3.9.9")
        .bearer_auth(&staff)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "staff at the counter are exempt");
    t.sms.wait_code("0977333444", 0).await;
}

/// A citizen-account request with a scan, made by `staff` from `ip`.
pub async fn counter_request(
    t: &TestApp,
    staff: &str,
    unit: u64,
    ip: &str,
    (id, phone): (&str, &str),
) -> String {
    let pdf = motcua::upload::samples::pdf();
    let (content_type, body) = multipart(
        &[
            ("id_number", id),
            ("full_name", "Phạm Thị Mai"),
            ("birth_date", "05/06/1990"),
            ("phone", phone),
            ("unit_id", &unit.to_string()),
        ],
        &[("id_scan", "CCCD.pdf", &pdf)],
    );
    let r = t
        .http
        .post(t.url("/api/v1/citizen-account-requests"))
        .header("x-forwarded-for", ip)
        .bearer_auth(staff)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(s, 201, "{v}");
    v["request_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_solved_captcha_works_once() {
    let t = spawn_app_with(|_| {}).await;
    let (id, answer) = t.captcha().await;
    let body = json!({"username": AN.0, "captcha_id": id, "captcha": answer});
    let (s, v) = t.post_json("/api/v1/password-resets", None, &body).await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = t.post_json("/api/v1/password-resets", None, &body).await;
    assert_eq!(s, 400, "replayed captcha: {v}");
    assert!(v["error"]["fields"]["captcha"].is_string(), "{v}");
    let mut reg = registration(BINH);
    reg["captcha_id"] = json!(id);
    reg["captcha"] = json!(answer);
    let (s, v) = t.post_json("/api/v1/registrations", None, &reg).await;
    assert_eq!(s, 400, "replayed in another flow: {v}");
    assert!(v["error"]["fields"]["captcha"].is_string(), "{v}");
}

/// The status of `m path` for a bearer token (None: anonymous); pages are
/// not followed, so a redirect shows as 303 with its Location.
async fn call(t: &TestApp, m: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut rb = match m {
        "GET" => t.http.get(t.url(path)),
        "PUT" => t.http.put(t.url(path)).json(&json!({})),
        // The multipart endpoint: a well-formed (empty) form, so the
        // answer is about the caller, not the body.
        _ if path.ends_with("/citizen-account-requests") => t
            .http
            .post(t.url(path))
            .header("content-type", "multipart/form-data; boundary=x")
            .body("--x--\r\n"),
        _ => t
            .http
            .post(t.url(path))
            .json(&json!({"otp": "123456", "reason": "Không đủ điều kiện", "permissions": ["stats.view"], "unit_id": 1, "position": "Cán bộ"})),
    };
    if let Some(tok) = token {
        rb = rb.bearer_auth(tok);
    }
    let r = rb.send().await.unwrap();
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (r.status().as_u16(), loc)
}

#[tokio::test]
async fn every_later_route_refuses_the_wrong_caller() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    let admin = t.admin_token().await;
    let unit_a = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let unit_b = t.unit_id("Bộ phận một cửa UBND huyện Khoái Châu").await;
    let all = [
        "citizen_accounts.create",
        "support.manage",
        "survey.process",
        "stats.view",
        "users.create",
    ];
    let plain = t
        .staff_with(
            &admin,
            "cb.thuong",
            "0988100401",
            "033185003331",
            unit_a,
            &[],
        )
        .await;
    let clerk_a = t
        .staff_with(
            &admin,
            "cb.vanlam",
            "0988100402",
            "033185003332",
            unit_a,
            &all,
        )
        .await;
    let clerk_b = t
        .staff_with(
            &admin,
            "cb.khoaichau",
            "0988100403",
            "033185003333",
            unit_b,
            &all,
        )
        .await;

    // Objects of unit A: a finished citizen account, a pending request, a
    // support request from a web conversation.
    let done = counter_request(&t, &clerk_a, unit_a, "127.0.0.1", MAI).await;
    let (s, v) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{done}/otp"),
            Some(&clerk_a),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let code = t.sms.wait_code("0977333444", 0).await;
    let (s, v) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{done}/confirm"),
            Some(&clerk_a),
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = "033190005555";
    let seq = t
        .app
        .store
        .read(|r| motcua::store::citizens::get(r, id))
        .unwrap()
        .unwrap()
        .seq;
    let pending = counter_request(
        &t,
        &clerk_a,
        unit_a,
        "127.0.0.1",
        ("033190005556", "0977333445"),
    )
    .await;
    let (s, v) = t
        .post_json("/api/v1/chat", None, &json!({"text": "tôi cần gặp cán bộ"}))
        .await;
    assert_eq!(s, 200, "{v}");
    let conv = v["conversation_id"].as_str().unwrap().to_string();
    let (s, v) = t
        .post_json(
            &format!("/api/v1/chat/{conv}/handoff?unit_id={unit_a}"),
            None,
            &json!({}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let ticket = v["ticket_id"]
        .as_str()
        .map_or_else(|| v["ticket_id"].to_string(), str::to_string);
    // The owners can reach them (so the refusals below are about the caller).
    for p in [
        format!("/api/v1/citizen-accounts/{id}"),
        format!("/api/v1/citizen-accounts/{id}/id-scan"),
        format!("/api/v1/citizen-accounts/{id}/form.pdf"),
        format!("/api/v1/citizen-account-requests/{pending}"),
        format!("/api/v1/citizen-account-requests/{pending}/form.pdf"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}/cmnd-cccd"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}/giay-de-nghi.pdf"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{pending}"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{pending}/giay-de-nghi.pdf"),
        format!("/quan-tri/ho-tro/{ticket}"),
    ] {
        assert_eq!(
            call(&t, "GET", &p, Some(&clerk_a)).await.0,
            200,
            "owner {p}"
        );
    }

    // API: anonymous 401, staff without the permission 403.
    let api: Vec<(&str, String)> = vec![
        ("GET", "/api/v1/citizen-accounts".into()),
        (
            "GET",
            format!("/api/v1/citizen-accounts/lookup?id_number={id}"),
        ),
        ("GET", format!("/api/v1/citizen-accounts/{id}")),
        ("GET", format!("/api/v1/citizen-accounts/{id}/id-scan")),
        ("GET", format!("/api/v1/citizen-accounts/{id}/form.pdf")),
        ("POST", "/api/v1/citizen-account-requests".into()),
        ("GET", format!("/api/v1/citizen-account-requests/{pending}")),
        (
            "GET",
            format!("/api/v1/citizen-account-requests/{pending}/form.pdf"),
        ),
        (
            "POST",
            format!("/api/v1/citizen-account-requests/{pending}/otp"),
        ),
        (
            "POST",
            format!("/api/v1/citizen-account-requests/{pending}/confirm"),
        ),
        ("GET", "/api/v1/staff-access-requests".into()),
        ("POST", "/api/v1/staff-access-requests/1/approve".into()),
        ("POST", "/api/v1/staff-access-requests/1/reject".into()),
    ];
    for (m, p) in &api {
        assert_eq!(call(&t, m, p, None).await.0, 401, "anonymous {m} {p}");
        let (s, _) = call(&t, m, p, Some(&plain)).await;
        assert!(
            // Object routes may answer 404 (the unit's objects are not
            // visible at all); access-request scoping by unit is walked in
            // access_requests.rs.
            s == 403
                || ((p.contains("/citizen-account-requests/")
                    || p.contains("/staff-access-requests/"))
                    && s == 404),
            "staff without permission {m} {p}: {s}"
        );
    }
    for (m, p) in [
        ("GET", "/api/v1/me"),
        ("POST", "/api/v1/staff-access-requests"),
    ] {
        assert_eq!(call(&t, m, p, None).await.0, 401, "anonymous {m} {p}");
    }

    // Another unit's objects: 404, through the API and the console.
    for (m, p) in [
        ("GET", format!("/api/v1/citizen-accounts/{id}")),
        ("GET", format!("/api/v1/citizen-accounts/{id}/id-scan")),
        ("GET", format!("/api/v1/citizen-accounts/{id}/form.pdf")),
        ("GET", format!("/api/v1/citizen-account-requests/{pending}")),
        (
            "GET",
            format!("/api/v1/citizen-account-requests/{pending}/form.pdf"),
        ),
        (
            "POST",
            format!("/api/v1/citizen-account-requests/{pending}/otp"),
        ),
        (
            "POST",
            format!("/api/v1/citizen-account-requests/{pending}/confirm"),
        ),
        (
            "GET",
            format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}"),
        ),
        (
            "GET",
            format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}/cmnd-cccd"),
        ),
        (
            "GET",
            format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}/giay-de-nghi.pdf"),
        ),
        (
            "GET",
            format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{pending}"),
        ),
        (
            "GET",
            format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{pending}/giay-de-nghi.pdf"),
        ),
        ("GET", format!("/quan-tri/ho-tro/{ticket}")),
    ] {
        assert_eq!(
            call(&t, m, &p, Some(&clerk_b)).await.0,
            404,
            "other unit {m} {p}"
        );
    }
    // Another unit's list search does not show the account.
    let (s, v) = t
        .get_json(
            &format!("/api/v1/citizen-accounts?id_number={id}"),
            Some(&clerk_b),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(!v.to_string().contains("Phạm Thị Mai"), "{v}");

    // Another citizen's conversation, by a guessed id: 404.
    for guess in ["1", "abc", "c-0000000000000000", &conv[..conv.len() - 1]] {
        let (s, _) = call(&t, "GET", &format!("/api/v1/chat/{guess}/messages"), None).await;
        assert_eq!(s, 404, "guessed conversation {guess}");
        let (s, _) = call(&t, "POST", &format!("/api/v1/chat/{guess}/handoff"), None).await;
        assert_eq!(s, 404, "handoff of a guessed conversation {guess}");
    }
    // Writing into a guessed conversation id starts a new one instead.
    let (s, v) = t
        .post_json(
            "/api/v1/chat",
            None,
            &json!({"conversation_id": &conv[..conv.len() - 1], "text": "xin chào"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_ne!(v["conversation_id"].as_str(), Some(&conv[..conv.len() - 1]));
    assert_ne!(v["conversation_id"].as_str(), Some(conv.as_str()));

    // Console pages: anonymous → sign-in; staff without the permission → 403.
    let pages = [
        "/quan-tri/tao-tai-khoan-cong-dan".to_string(),
        "/quan-tri/tao-tai-khoan-cong-dan/them-moi".into(),
        format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{pending}"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{pending}/giay-de-nghi.pdf"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}/cmnd-cccd"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/tai-khoan/{seq}/giay-de-nghi.pdf"),
        "/quan-tri/thong-ke".into(),
        "/quan-tri/thong-ke/tai-khoan-theo-don-vi.csv".into(),
        "/quan-tri/ho-tro".into(),
        format!("/quan-tri/ho-tro/{ticket}"),
        "/quan-tri/khao-sat".into(),
        "/quan-tri/cau-hoi-chua-tra-loi".into(),
        "/quan-tri/yeu-cau-cap-quyen".into(),
    ];
    for p in &pages {
        let (s, loc) = call(&t, "GET", p, None).await;
        assert_eq!(
            (s, loc.as_str()),
            (303, "/quan-tri/dang-nhap"),
            "anonymous {p}"
        );
        let (s, _) = call(&t, "GET", p, Some(&plain)).await;
        // A support request is an object scoped by unit: without the
        // permission anywhere it is simply not found.
        let object = p.starts_with("/quan-tri/ho-tro/");
        assert!(
            s == 403 || (object && s == 404),
            "staff without permission {p}: {s}"
        );
    }
    for p in [
        format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{pending}/gui-otp"),
        format!("/quan-tri/tao-tai-khoan-cong-dan/yeu-cau/{pending}/tao-tai-khoan"),
        format!("/quan-tri/ho-tro/{ticket}/tra-loi"),
        format!("/quan-tri/ho-tro/{ticket}/trang-thai"),
        "/quan-tri/yeu-cau-cap-quyen/1/duyet".into(),
        "/quan-tri/yeu-cau-cap-quyen/1/tu-choi".into(),
    ] {
        let (s, _) = call(&t, "POST", &p, None).await;
        assert!(s == 303 || s == 403, "anonymous POST {p}: {s}");
    }

    // Portal pages needing a citizen session: anonymous → portal sign-in;
    // a staff (console) session is not a portal session.
    for p in [
        "/tai-khoan",
        "/tai-khoan/doi-mat-khau",
        "/tai-khoan/de-nghi-cap-quyen",
    ] {
        for tok in [None, Some(clerk_a.as_str())] {
            let (s, loc) = call(&t, "GET", p, tok).await;
            assert_eq!(s, 303, "{p}");
            assert!(loc.starts_with("/dang-nhap"), "{p} → {loc}");
        }
    }
}

#[tokio::test]
async fn wrong_sign_in_codes_lock_the_account_across_flows() {
    let t = spawn_app_with(|c| c.captcha = false).await;
    register_an(&t).await;
    let pw = "CongDan#An-1990x";
    let body = json!({"username": AN.0, "password": pw, "captcha_id": "", "captcha": "x"});
    let (s, v) = t.post_json("/api/v1/login", None, &body).await;
    assert_eq!(s, 200, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = t.sms.wait_code(AN.3, 1).await;
    for _ in 0..5 {
        let (s, _) = t.submit_otp("login", &flow, wrong_code(&code)).await;
        assert_eq!(s, 400);
    }
    // The five wrong codes count as sign-in failures of the account: a new
    // sign-in with the right password is refused until the wait is over,
    // so starting new flows does not give fresh guesses.
    let (s, v) = t.post_json("/api/v1/login", None, &body).await;
    assert_eq!(s, 401, "locked after wrong codes: {v}");
    let a = t
        .app
        .store
        .read(|r| motcua::store::accounts::get(r, AN.0))
        .unwrap()
        .unwrap();
    assert_eq!(a.failed_logins, 5);
    t.app.clock.advance(a.locked_until - t.app.now() + 1);
    let (s, v) = t.post_json("/api/v1/login", None, &body).await;
    assert_eq!(s, 200, "after the wait: {v}");
}
