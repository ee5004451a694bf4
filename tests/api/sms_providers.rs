//! The SMS providers over real HTTP: local doubles of eSMS.vn and SpeedSMS
//! check every field of each request against the providers' documentation
//! and answer success or one of their documented errors; the real client
//! code, queue and receipt route run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use motcua::config::SmsProvider;
use motcua::store::sms as store_sms;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, ADMIN_PASSWORD, ADMIN_PHONE, TestApp, extract_code, spawn_app_with};

/// One request the double received.
#[derive(Debug, Clone)]
struct Seen {
    authorization: Option<String>,
    content_type: Option<String>,
    path: String,
    body: Value,
    /// The status the double answered (0: it hung past the client's
    /// timeout, so the client never read an answer).
    answered: u16,
}

/// A provider double: records requests, answers from a script (then the
/// default answer).
#[derive(Clone)]
struct Double {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<Vec<(u16, Value)>>>,
    default: (u16, Value),
    url: String,
}

impl Double {
    async fn start(path: &str, default: (u16, Value)) -> Double {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let d = Double {
            seen: Arc::default(),
            script: Arc::default(),
            default,
            url: format!("http://{addr}{path}"),
        };
        let state = d.clone();
        let ep = poem::endpoint::make(move |req: poem::Request| {
            let state = state.clone();
            async move {
                let header = |n: &str| {
                    req.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let authorization = header("authorization");
                let content_type = header("content-type");
                let path = req.uri().path().to_string();
                let bytes = req.into_body().into_bytes().await.unwrap_or_default();
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let (status, answer) = {
                    let mut s = state.script.lock().unwrap();
                    if s.is_empty() {
                        state.default.clone()
                    } else {
                        s.remove(0)
                    }
                };
                state.seen.lock().unwrap().push(Seen {
                    authorization,
                    content_type,
                    path,
                    body,
                    answered: status,
                });
                // Status 0 scripts a provider that hangs: longer than the
                // worker's 10 s client timeout, then the default answer.
                let (status, answer) = if status == 0 {
                    tokio::time::sleep(Duration::from_secs(12)).await;
                    state.default.clone()
                } else {
                    (status, answer)
                };
                let mut answer = answer;
                // A default eSMS answer gets a fresh SMSID per message.
                if answer["SMSID"] == "x" {
                    answer["SMSID"] =
                        Value::String(format!("sms-{}", state.seen.lock().unwrap().len()));
                }
                poem::Response::builder()
                    .status(poem::http::StatusCode::from_u16(status).unwrap())
                    .content_type("application/json")
                    .body(answer.to_string())
            }
        });
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(ep));
        d
    }

    fn then(&self, status: u16, answer: Value) {
        self.script.lock().unwrap().push((status, answer));
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    async fn wait_count(&self, n: usize) -> Vec<Seen> {
        for _ in 0..200 {
            if self.count() >= n {
                return self.seen.lock().unwrap().clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the double got {} requests, wanted {n}", self.count());
    }
}

const SECRET: &str = "receipts-secret-0123456789";

fn esms_ok(id: &str) -> (u16, Value) {
    (
        200,
        json!({"CodeResult": "100", "CountRegenerate": 0, "SMSID": id}),
    )
}

async fn esms_app(d: &Double, unicode: bool) -> TestApp {
    let url = d.url.clone();
    spawn_app_with(move |c| {
        c.sms_provider = SmsProvider::Esms;
        c.sms.esms_url = url;
        c.sms.esms_api_key = "API-KEY-1".into();
        c.sms.esms_secret_key = "SECRET-KEY-1".into();
        c.sms.esms_brandname = "UBND-HUNGYEN".into();
        c.sms.callback_secret = Some(SECRET.into());
        c.sms.unicode = unicode;
    })
    .await
}

/// Starts a console sign-in, so that one OTP goes to the admin's phone.
async fn sign_in_sends_otp(t: &TestApp) -> String {
    let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(r.0, 200, "{}", r.1);
    r.1["flow_id"].as_str().unwrap().to_string()
}

/// A console bearer session for the province admin, made in the store (the
/// SMS provider under test may be refusing sign-in codes).
fn admin_session(t: &TestApp) -> String {
    let now = t.app.now();
    t.app
        .store
        .write(|w| {
            let a = motcua::store::accounts::get(w, ADMIN)?.expect("admin");
            motcua::auth::session::create(w, &a, true, true, now)
        })
        .unwrap()
}

async fn sms_page(t: &TestApp) -> String {
    let tok = admin_session(t);
    let r = t
        .http
        .get(t.url("/quan-tri/tin-nhan"))
        .bearer_auth(tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// The receipt of job `id` once the worker has recorded the outcome.
async fn receipt_of(t: &TestApp, id: u64) -> store_sms::Receipt {
    for _ in 0..100 {
        if let Some(r) = t.app.store.read(|r| store_sms::receipt(r, id)).unwrap() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no outcome recorded for job {id}");
}

fn job_to(t: &TestApp, phone: &str) -> store_sms::SmsJob {
    t.app
        .store
        .read(|r| store_sms::recent(r, 50))
        .unwrap()
        .into_iter()
        .find(|j| j.to == phone)
        .expect("a job to that phone")
}

#[tokio::test]
async fn esms_request_has_every_documented_field_and_the_receipt_is_recorded() {
    let d = Double::start(
        "/MainService.svc/json/SendMultipleMessage_V4_post_json/",
        esms_ok("sms-77"),
    )
    .await;
    let t = esms_app(&d, true).await;
    t.create_superadmin().await;
    let flow = sign_in_sends_otp(&t).await;
    let seen = d.wait_count(1).await;
    let s = &seen[0];
    assert_eq!(
        s.path,
        "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
    );
    assert!(
        s.content_type
            .as_deref()
            .unwrap_or("")
            .starts_with("application/json")
    );
    let b = &s.body;
    assert_eq!(b["ApiKey"], "API-KEY-1");
    assert_eq!(b["SecretKey"], "SECRET-KEY-1");
    assert_eq!(b["Brandname"], "UBND-HUNGYEN");
    assert_eq!(b["Phone"], ADMIN_PHONE);
    assert_eq!(b["SmsType"], "2");
    assert_eq!(b["IsUnicode"], "1");
    let job = job_to(&t, ADMIN_PHONE);
    assert_eq!(b["RequestId"], job.uid.as_str());
    assert_eq!(
        b["CallbackUrl"],
        format!("{}/webhooks/sms/esms/{SECRET}", t.base).as_str()
    );
    let content = b["Content"].as_str().unwrap();
    assert!(content.contains("Mã OTP"), "{content}");
    // The code works: the sign-in completes with it.
    let code = extract_code(content).unwrap();
    let r = t.submit_otp("staff/login", &flow, &code).await;
    assert_eq!(r.0, 200, "{}", r.1);

    // A receipt with a wrong secret changes nothing.
    let bad = t
        .http
        .get(t.url("/webhooks/sms/esms/wrong-secret-0123456789?SMSID=sms-77&SendStatus=5&SendSuccess=1&SendFailed=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
    let rec = receipt_of(&t, job.id).await;
    assert_eq!(rec.provider_id.as_deref(), Some("sms-77"));
    assert_eq!(rec.delivered, None);

    // The right one records the final status.
    let ok = t
        .http
        .get(format!(
            "{}/webhooks/sms/esms/{SECRET}?SMSID=sms-77&SendFailed=0&SendStatus=5&SendSuccess=1&TotalPrice=0&TotalReceiver=1&TotalSent=1&RequestId={}&TypeId=2&telcoid=1&phonenumber={ADMIN_PHONE}",
            t.base, job.uid
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let rec = receipt_of(&t, job.id).await;
    assert_eq!(rec.delivered, Some(true));
    assert_eq!(
        rec.segments, 2,
        "today's OTP text with diacritics is 2 segments"
    );
}

#[tokio::test]
async fn unicode_off_sends_an_unaccented_one_segment_otp() {
    let d = Double::start("/esms", esms_ok("sms-1")).await;
    let t = esms_app(&d, false).await;
    t.create_superadmin().await;
    sign_in_sends_otp(&t).await;
    let seen = d.wait_count(1).await;
    let b = &seen[0].body;
    assert_eq!(b["IsUnicode"], "0");
    let content = b["Content"].as_str().unwrap();
    assert!(content.is_ascii(), "{content}");
    assert!(content.starts_with("Ma OTP"), "{content}");
    assert!(content.chars().count() <= 160, "{content}");
    assert!(extract_code(content).is_some());
    let job = job_to(&t, ADMIN_PHONE);
    let rec = receipt_of(&t, job.id).await;
    assert_eq!(rec.segments, 1);
}

#[tokio::test]
async fn esms_configuration_error_is_held_and_shown_not_retried_every_second() {
    let d = Double::start("/esms", esms_ok("later")).await;
    d.then(
        200,
        json!({"CodeResult": "101", "CountRegenerate": 0, "ErrorMessage": "Authorize Failed"}),
    );
    let t = esms_app(&d, true).await;
    t.create_superadmin().await;
    sign_in_sends_otp(&t).await;
    d.wait_count(1).await;
    // Backoff for a transient error would retry after 2 s; a configuration
    // error waits CONFIG_RETRY_SECS.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(d.count(), 1, "a configuration error is not retried at once");
    let health = t
        .app
        .store
        .read(|r| store_sms::config_error(r, "esms"))
        .unwrap()
        .expect("the error is kept for the SMS page");
    assert_eq!(health.code, "101");
    assert!(health.message.contains("ApiKey"), "{}", health.message);
    let job = job_to(&t, ADMIN_PHONE);
    assert_eq!(job.status, store_sms::SmsStatus::Pending);
    assert!(job.next_attempt_at >= t.app.now() + 500);
    // The province admin sees it, once, in plain words.
    let html = sms_page(&t).await;
    assert!(
        html.contains("Nhà cung cấp SMS từ chối gửi tin (mã lỗi 101)"),
        "{html}"
    );
    assert_eq!(html.matches("id=\"sms-health\"").count(), 1);
    assert!(html.contains("Sai ApiKey hoặc SecretKey"));
}

#[tokio::test]
async fn esms_invalid_number_gives_up_and_5xx_retries() {
    let d = Double::start("/esms", esms_ok("ok-2")).await;
    d.then(503, json!({"error": "busy"}));
    let t = esms_app(&d, true).await;
    t.create_superadmin().await;
    sign_in_sends_otp(&t).await;
    // 503 first, then accepted on the retry (backoff 2 s).
    let seen = d.wait_count(2).await;
    assert_eq!(
        seen[0].body["RequestId"], seen[1].body["RequestId"],
        "a retry keeps its id"
    );
    for _ in 0..50 {
        if job_to(&t, ADMIN_PHONE).status == store_sms::SmsStatus::Sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(job_to(&t, ADMIN_PHONE).status, store_sms::SmsStatus::Sent);

    // A blocked number: given up, not retried.
    d.then(
        200,
        json!({"CodeResult": "99", "CountRegenerate": 0, "ErrorMessage": "Phone blocked"}),
    );
    let r = t.staff_password_step(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(r.0, 200);
    d.wait_count(3).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(d.count(), 3, "a message that can never go is not retried");
    let jobs = t.app.store.read(|r| store_sms::recent(r, 10)).unwrap();
    assert_eq!(jobs[0].status, store_sms::SmsStatus::GaveUp);
}

#[tokio::test]
async fn speedsms_request_auth_and_report() {
    let d = Double::start(
        "/index.php/sms/send",
        (
            200,
            json!({"status": "success", "code": "00", "data": {"tranId": 987654, "totalSMS": 1, "totalPrice": 250, "invalidPhone": []}}),
        ),
    )
    .await;
    let url = d.url.clone();
    let t = spawn_app_with(move |c| {
        c.sms_provider = SmsProvider::SpeedSms;
        c.sms.speedsms_url = url;
        c.sms.speedsms_token = "tok-123".into();
        c.sms.speedsms_sender = Some("UBND-HY".into());
        c.sms.callback_secret = Some(SECRET.into());
    })
    .await;
    t.create_superadmin().await;
    sign_in_sends_otp(&t).await;
    let seen = d.wait_count(1).await;
    let s = &seen[0];
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("tok-123:x")
    );
    assert_eq!(s.authorization.as_deref(), Some(expected.as_str()));
    assert_eq!(s.body["to"], json!(["84912000001"]));
    assert_eq!(s.body["sms_type"], 3);
    assert_eq!(s.body["sender"], "UBND-HY");
    assert!(extract_code(s.body["content"].as_str().unwrap()).is_some());
    let job = job_to(&t, ADMIN_PHONE);
    let rec = receipt_of(&t, job.id).await;
    assert_eq!(rec.provider_id.as_deref(), Some("987654"));

    // Its delivery report: a wrong secret is refused, the right one applies.
    let report = json!({"type": "report", "tranId": 987654, "phone": "84912000001", "status": 0});
    let bad = t
        .http
        .post(t.url("/webhooks/sms/speedsms/not-the-secret-0123456"))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
    let ok = t
        .http
        .post(t.url(&format!("/webhooks/sms/speedsms/{SECRET}")))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let rec = receipt_of(&t, job.id).await;
    assert_eq!(rec.delivered, Some(true));

    // A balance error is a configuration error.
    d.then(
        200,
        json!({"status": "error", "code": "300", "message": "balance"}),
    );
    sign_in_sends_otp(&t).await;
    d.wait_count(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let health = t
        .app
        .store
        .read(|r| store_sms::config_error(r, "speedsms"))
        .unwrap()
        .expect("shown to the admin");
    assert_eq!(health.code, "300");
}

#[tokio::test]
async fn queued_messages_go_out_through_the_provider_after_a_restart() {
    let d = Double::start("/esms", esms_ok("after-restart")).await;
    for _ in 0..20 {
        d.then(503, json!({"error": "down"}));
    }
    let t = esms_app(&d, true).await;
    t.create_superadmin().await;
    sign_in_sends_otp(&t).await;
    d.wait_count(1).await;
    let job = job_to(&t, ADMIN_PHONE);
    assert_eq!(job.status, store_sms::SmsStatus::Pending);
    let dir = t.stop().await;
    // The provider is back; the queued code goes out after the restart.
    d.script.lock().unwrap().clear();
    let url = d.url.clone();
    let t = crate::helpers::spawn_in(dir, move |c| {
        c.sms_provider = SmsProvider::Esms;
        c.sms.esms_url = url;
        c.sms.esms_api_key = "API-KEY-1".into();
        c.sms.esms_secret_key = "SECRET-KEY-1".into();
        c.sms.esms_brandname = "UBND-HUNGYEN".into();
    })
    .await;
    for _ in 0..100 {
        if t.app
            .store
            .read(|r| store_sms::receipt(r, job.id))
            .unwrap()
            .and_then(|r| r.provider_id)
            .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rec = receipt_of(&t, job.id).await;
    assert_eq!(rec.provider_id.as_deref(), Some("after-restart"));
    let seen = d.seen.lock().unwrap().clone();
    let last = seen.last().unwrap();
    assert_eq!(
        last.body["RequestId"],
        job.uid.as_str(),
        "the same message, same id"
    );
    assert_eq!(last.body["Phone"], ADMIN_PHONE);
}

/// Part I of the seed through the eSMS double: a staff member signs in
/// (OTP by SMS), files the citizen's request, sends the OTP, creates the
/// account (password by SMS); eSMS reports each message delivered.
#[tokio::test]
async fn part_one_journey_through_esms_with_receipts() {
    let d = Double::start("/esms", esms_ok("x")).await;
    let t = esms_app(&d, false).await;
    t.create_superadmin().await;
    let admin = admin_session(&t);
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let (s, v) = t
        .post_json(
            "/api/v1/staff",
            Some(&admin),
            &json!({"username": "motcua.vl", "full_name": "Lê Thị Một Cửa", "id_number": "033185000808", "phone": "0988000808", "unit_ids": [unit]}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = t
        .put_json(
            "/api/v1/staff/motcua.vl/grants",
            Some(&admin),
            &json!({"unit_id": unit, "permissions": ["citizen_accounts.create"]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let last_to = |phone: &str| -> String {
        d.seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|x| x.body["Phone"] == phone)
            .map(|x| x.body["Content"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    let wait_for = |phone: &'static str, n: usize| {
        let d = d.clone();
        async move {
            for _ in 0..200 {
                if d.seen
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|x| x.body["Phone"] == phone)
                    .count()
                    >= n
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("no SMS #{n} to {phone}");
        }
    };
    wait_for("0988000808", 1).await;
    let temp = last_to("0988000808");
    let temp = temp
        .split("Mat khau tam thoi: ")
        .nth(1)
        .and_then(|r| r.split(". Vui long").next())
        .unwrap_or_else(|| panic!("{temp}"))
        .to_string();
    // The staff member signs in: password, then the OTP from eSMS.
    let (s, v) = t.staff_password_step("motcua.vl", &temp).await;
    assert_eq!(s, 200, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    wait_for("0988000808", 2).await;
    let code = extract_code(&last_to("0988000808")).unwrap();
    let (s, v) = t.submit_otp("staff/login", &flow, &code).await;
    assert_eq!(s, 200, "{v}");
    let staff = v["token"].as_str().unwrap().to_string();
    assert_eq!(v["must_change_password"], true, "{v}");
    let (s, v) = t
        .post_json(
            "/api/v1/me/password",
            Some(&staff),
            &json!({"current_password": temp, "password": "MotCua#VanLam26", "password_confirm": "MotCua#VanLam26"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let staff = v["token"].as_str().map(str::to_string).unwrap_or(staff);
    // Steps 1-3 at the counter.
    let (status, v) = crate::helpers::file_dung_request(&t, &staff, unit).await;
    assert_eq!(status, 201, "{v}");
    let req = v["request_id"].as_str().unwrap().to_string();
    let (s, _) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/otp"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200);
    wait_for("0356789012", 1).await;
    let code = extract_code(&last_to("0356789012")).unwrap();
    let (s, v) = t
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/confirm"),
            Some(&staff),
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    wait_for("0356789012", 2).await;
    assert!(
        last_to("0356789012").contains("mat khau"),
        "the password SMS"
    );
    // Each message's segments, and eSMS reports each one delivered.
    let jobs = t.app.store.read(|r| store_sms::recent(r, 20)).unwrap();
    assert_eq!(
        jobs.len(),
        4,
        "temporary password, staff OTP, citizen OTP, citizen password: {jobs:?}"
    );
    for j in &jobs {
        let rec = receipt_of(&t, j.id).await;
        // OTPs are one GSM-7 segment unaccented; the password messages
        // (with the portal address) are two.
        let max = if j.kind == "otp" { 1 } else { 2 };
        assert!(
            rec.segments >= 1 && rec.segments <= max,
            "{} {}",
            j.kind,
            rec.segments
        );
        let r = t
            .http
            .get(t.url(&format!(
                "/webhooks/sms/esms/{SECRET}?SMSID={}&SendStatus=5&SendSuccess=1&SendFailed=0&TypeId=2&telcoid=1&phonenumber={}",
                rec.provider_id.clone().unwrap(),
                j.to
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    for j in &jobs {
        let rec = receipt_of(&t, j.id).await;
        assert_eq!(rec.delivered, Some(true), "{}", j.kind);
    }
}

/// A provider that hangs past the client's timeout, then answers 5xx:
/// each attempt is retried later with the same id (never lost, never a
/// second message), and the message goes out once the provider answers.
#[tokio::test]
async fn esms_timeout_and_5xx_are_retried_later_with_the_same_id() {
    let d = Double::start("/esms", esms_ok("x")).await;
    d.then(0, json!({})); // hangs 12 s: the worker gives up after 10 s
    d.then(502, json!({"error": "bad gateway"}));
    let t = esms_app(&d, true).await;
    t.create_superadmin().await;
    sign_in_sends_otp(&t).await;
    d.wait_count(1).await;
    // While the first attempt hangs the job stays queued.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let job = job_to(&t, ADMIN_PHONE);
    assert_eq!(job.status, store_sms::SmsStatus::Pending);
    // Timeout → retry (2 s) → 502 → retry (4 s) → accepted.
    let seen = tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            let s = d.seen.lock().unwrap().clone();
            if s.len() >= 3 {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("three attempts");
    assert_eq!(
        seen.iter().map(|s| s.answered).collect::<Vec<_>>(),
        vec![0, 502, 200]
    );
    for s in &seen {
        assert_eq!(s.body["RequestId"], job.uid.as_str(), "one message, one id");
    }
    let mut sent = None;
    for _ in 0..50 {
        let j = job_to(&t, ADMIN_PHONE);
        if j.status == store_sms::SmsStatus::Sent {
            sent = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let j = sent.expect("sent after the retries");
    assert_eq!(j.attempts, 3);
    let rec = receipt_of(&t, j.id).await;
    assert_eq!(rec.code, None, "the accepted attempt clears the error");
    assert!(rec.provider_id.is_some());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(d.count(), 3, "nothing more once accepted");
}

/// Several messages queued while the provider is down survive a restart
/// on the same data dir: each is accepted exactly once afterwards.
#[tokio::test]
async fn every_message_queued_before_a_restart_is_sent_once_after_it() {
    let d = Double::start("/esms", esms_ok("x")).await;
    for _ in 0..50 {
        d.then(503, json!({"error": "down"}));
    }
    let t = esms_app(&d, true).await;
    t.create_superadmin().await;
    let admin = admin_session(&t);
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    // Four temporary-password messages and one sign-in code.
    for i in 0..4 {
        let (s, v) = t
            .post_json(
                "/api/v1/staff",
                Some(&admin),
                &json!({"username": format!("canbo.{i}"), "full_name": "Lê Văn Cán Bộ", "id_number": format!("03318500090{i}"), "phone": format!("098800090{i}"), "unit_ids": [unit]}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    sign_in_sends_otp(&t).await;
    d.wait_count(5).await;
    let queued: Vec<store_sms::SmsJob> = t
        .app
        .store
        .read(|r| store_sms::recent(r, 50))
        .unwrap()
        .into_iter()
        .filter(|j| j.status == store_sms::SmsStatus::Pending)
        .collect();
    assert_eq!(queued.len(), 5, "all five wait for the provider");
    let dir = t.stop().await;
    d.script.lock().unwrap().clear();
    let before = d.count();
    let url = d.url.clone();
    let t = crate::helpers::spawn_in(dir, move |c| {
        c.sms_provider = SmsProvider::Esms;
        c.sms.esms_url = url;
        c.sms.esms_api_key = "API-KEY-1".into();
        c.sms.esms_secret_key = "SECRET-KEY-1".into();
        c.sms.esms_brandname = "UBND-HUNGYEN".into();
    })
    .await;
    for _ in 0..200 {
        let pending = t
            .app
            .store
            .read(|r| store_sms::recent(r, 50))
            .unwrap()
            .iter()
            .filter(|j| j.status != store_sms::SmsStatus::Sent)
            .count();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after: Vec<Seen> = d.seen.lock().unwrap()[before..].to_vec();
    for j in &queued {
        let accepted = after
            .iter()
            .filter(|s| s.answered == 200 && s.body["RequestId"] == j.uid.as_str())
            .count();
        assert_eq!(
            accepted, 1,
            "job {} ({}) sent once after the restart",
            j.id, j.kind
        );
        let now = t
            .app
            .store
            .read(|r| store_sms::SMS.get(r, &j.id))
            .unwrap()
            .unwrap();
        assert_eq!(now.status, store_sms::SmsStatus::Sent);
    }
    assert_eq!(
        after.len(),
        5,
        "no other request after the restart: {after:?}"
    );
}
