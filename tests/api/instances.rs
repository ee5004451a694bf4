//! Several `motcua serve` instances on one PostgreSQL database (issue 17):
//! a person's journey may meet a different instance at every step, limits
//! are counted once, and nothing is sent twice or lost — also when one
//! instance is killed under load. PostgreSQL pass only.

use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use std::time::Duration;

use serde_json::json;

use motcua::config::Config;

use crate::helpers::*;

const VAN_LAM: &str = "Bộ phận một cửa UBND huyện Văn Lâm";

/// Instance B on A's database, sending SMS to A's fake gateway, with
/// `tweak` (the same channels as A) applied.
async fn second_instance(a: &TestApp, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let url = a.app.cfg.database_url.clone().unwrap();
    let sms_url = a.sms.url();
    let mut b = spawn_app_with(move |c| {
        tweak(c);
        c.database_url = Some(url);
        c.sms_http_url = Some(sms_url);
    })
    .await;
    b.sms = a.sms.clone();
    b
}

/// How many times the fake gateway received each message id.
fn sends_by_id(sms: &SmsReceiver) -> HashMap<String, usize> {
    let mut by_id = HashMap::new();
    for m in sms.messages.lock().unwrap().iter() {
        *by_id.entry(m.id.clone()).or_default() += 1;
    }
    by_id
}

/// Every SMS job in the database went out, each exactly once at the
/// gateway (counted by the job's unique id).
async fn every_sms_sent_once(a: &TestApp) -> usize {
    use motcua::store::sms as s;
    let mut jobs = vec![];
    for _ in 0..200 {
        jobs = a.app.store.read(|r| s::recent(r, 10_000)).unwrap();
        if jobs.iter().all(|j| j.status == s::SmsStatus::Sent) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give a second sender, if there were one, time to send again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let by_id = sends_by_id(&a.sms);
    for j in &jobs {
        assert_eq!(j.status, s::SmsStatus::Sent, "job {} ({})", j.id, j.kind);
        assert_eq!(
            by_id.get(j.uid.as_str()).copied().unwrap_or(0),
            1,
            "job {} ({}) reached the gateway once",
            j.id,
            j.kind
        );
    }
    assert_eq!(a.sms.count(), jobs.len(), "nothing else was sent");
    jobs.len()
}

#[tokio::test]
async fn journeys_alternate_between_two_instances_on_one_database() {
    if !crate::engine::postgres_pass_only("two instances") {
        return;
    }
    let a = spawn_app().await;
    let b = second_instance(&a, |_| {}).await;

    // Part I. The admin signs in on A; the session works on B, where the
    // staff member is created and signs in.
    let admin = a.admin_token().await;
    let unit = b.unit_id(VAN_LAM).await;
    let staff_phone = "0912000777";
    let staff = b
        .staff_with(
            &admin,
            "canbo.hai",
            staff_phone,
            "033185000777",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    // The request with its scan is filed on A, its code sent by B and
    // confirmed on A; B serves the scan: it lives in the database.
    let pdf = motcua::upload::samples::pdf();
    let fields = [
        ("id_number", "033301004567"),
        ("full_name", "Phạm Thị Dung"),
        ("birth_date", "09/09/2001"),
        ("phone", "0356789012"),
        ("email", ""),
        ("unit_id", &unit.to_string()),
    ];
    let (ct, body) = multipart(&fields, &[("id_scan", "CCCD.pdf", &pdf)]);
    let (s, v) = a
        .post_body("/api/v1/citizen-account-requests", Some(&staff), &ct, body)
        .await;
    assert_eq!(s, 201, "{v}");
    let req = v["request_id"].as_str().unwrap().to_string();
    let seen = a.sms.all_to("0356789012").len();
    let (s, v) = b
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/otp"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let code = a.sms.wait_code("0356789012", seen).await;
    let (s, v) = a
        .post_json(
            &format!("/api/v1/citizen-account-requests/{req}/confirm"),
            Some(&staff),
            &json!({"otp": code}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let scan = b
        .http
        .get(b.url("/api/v1/citizen-accounts/033301004567/id-scan"))
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(scan.status(), 200);
    assert_eq!(scan.bytes().await.unwrap().as_ref(), pdf.as_slice());
    assert_eq!(files_on_disk(&a) + files_on_disk(&b), 0, "no file on disk");

    // Part II. A captcha drawn by A is answered on B; the code that B's
    // registration sent is confirmed on A, the password chosen on B.
    let (id, answer) = a.captcha().await;
    let person = json!({
        "kind": "citizen", "method": "mobile", "id_number": "033185002345",
        "full_name": "Trần Thị Bình", "birth_date": "02/11/1985", "phone": "0912345678",
        "email": null, "consent": true, "captcha_id": id, "captcha": answer,
    });
    let (s, v) = b.post_json("/api/v1/registrations", None, &person).await;
    assert_eq!(s, 202, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    // The captcha was used up on B: A refuses it too.
    let (s, _) = a.post_json("/api/v1/registrations", None, &person).await;
    assert_eq!(s, 400, "a captcha works once, on any instance");
    let code = a.sms.wait_code("0912345678", 0).await;
    let (s, v) = a.submit_otp("registrations", &flow, &code).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = b
        .choose_password("registrations", &flow, "Cong#Dan2026")
        .await;
    assert_eq!(s, 201, "{v}");

    // Sign-in: four wrong codes on A, the fifth on B locks the account on
    // both.
    let login = json!({"username": "033185002345", "password": "Cong#Dan2026"});
    let seen = a.sms.all_to("0912345678").len();
    let (s, v) = a.post_json_captcha("/api/v1/login", login.clone()).await;
    assert_eq!(s, 200, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = a.sms.wait_code("0912345678", seen).await;
    for (i, t) in [&a, &a, &a, &a, &b].into_iter().enumerate() {
        let (s, v) = t.submit_otp("login", &flow, wrong_code(&code)).await;
        assert_eq!(s, 400, "wrong code #{}: {v}", i + 1);
    }
    let (s, v) = b.submit_otp("login", &flow, &code).await;
    assert_ne!(s, 200, "the right code after five wrong ones: {v}");
    for t in [&a, &b] {
        let (s, v) = t.post_json_captcha("/api/v1/login", login.clone()).await;
        assert_eq!(s, 401, "locked on every instance: {v}");
    }
    // Once the wait has passed it opens (each refused attempt lengthened
    // it); the token made on B works on A.
    let until = a
        .app
        .store
        .read(|r| motcua::store::accounts::get(r, "033185002345"))
        .unwrap()
        .unwrap()
        .locked_until;
    let wait = until - a.app.now() + 1;
    assert!(wait > 0, "locked in the database");
    a.app.clock.advance(wait);
    b.app.clock.advance(wait);
    let seen = a.sms.all_to("0912345678").len();
    let (s, v) = b.post_json_captcha("/api/v1/login", login.clone()).await;
    assert_eq!(s, 200, "{v}");
    let flow = v["flow_id"].as_str().unwrap().to_string();
    let code = a.sms.wait_code("0912345678", seen).await;
    let (s, v) = b.submit_otp("login", &flow, &code).await;
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let (s, v) = a
        .post_json(
            "/api/v1/me/password",
            Some(&token),
            &json!({"current_password": "Cong#Dan2026", "password": "Moi@MatKhau2026", "password_confirm": "Moi@MatKhau2026"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // Both instances ran their SMS workers the whole time: still every
    // message reached the gateway exactly once.
    let n = every_sms_sent_once(&a).await;
    assert!(n >= 8, "{n} messages");
    b.stop().await;
    a.stop().await;
}

/// A `motcua serve` child on the database `url` with its own data dir.
fn start_instance(dir: &Path, url: &str, sms: &SmsReceiver) -> (Child, String) {
    let port = free_port();
    let child = serve_command(port, sms)
        .env("MOTCUA_DATA_DIR", dir)
        .env("MOTCUA_DATABASE_URL", url)
        .env("MOTCUA_BACKUP_EVERY_HOURS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

/// Creates staff member `i` through `base`; true when acknowledged (201).
async fn create_staff(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    unit: u64,
    i: usize,
) -> bool {
    let r = http
        .post(format!("{base}/api/v1/staff"))
        .bearer_auth(admin)
        .json(&json!({
            "username": format!("canbo.{i}"), "full_name": "Lê Văn Cán Bộ",
            "id_number": format!("0331850{i:05}"), "phone": format!("0988{i:06}"),
            "unit_ids": [unit],
        }))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    matches!(r, Ok(r) if r.status().as_u16() == 201)
}

#[tokio::test]
async fn killing_one_of_two_instances_under_load_loses_nothing_and_sends_once() {
    if !crate::engine::postgres_pass_only("two instances, one killed") {
        return;
    }
    let sms = SmsReceiver::start().await;
    // The office: its admin and a bearer session made in process.
    let setup = tempfile::tempdir().unwrap();
    let url = crate::engine::database_for(setup.path()).unwrap();
    let mut cfg = test_config(setup.path());
    cfg.database_url = Some(url.clone());
    let app = motcua::app::App::open(cfg).unwrap();
    motcua::flows::setup::create_superadmin(&app, ADMIN, ADMIN_PHONE, ADMIN_PASSWORD)
        .await
        .unwrap();
    let unit = app
        .tree()
        .rows()
        .into_iter()
        .find(|r| r.name.contains(VAN_LAM))
        .unwrap()
        .id;
    let now = app.now();
    let admin = app
        .store
        .write(|w| {
            let a = motcua::store::accounts::get(w, ADMIN)?.unwrap();
            motcua::auth::session::create(w, &a, true, true, now)
        })
        .unwrap();
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut a, base_a) = start_instance(da.path(), &url, &sms);
    let (mut b, base_b) = start_instance(db.path(), &url, &sms);
    let http = reqwest::Client::new();
    wait_healthy(&http, &base_a).await;
    wait_healthy(&http, &base_b).await;

    // Staff creations alternate between the instances, four at a time; A
    // is killed in the middle of it, the rest go on through B.
    const TOTAL: usize = 60;
    const KILL_AT: usize = 24;
    let mut acked = vec![];
    let mut killed = false;
    let mut last_before_kill = 0;
    use motcua::store::sms as s;
    for chunk in (0..TOTAL).collect::<Vec<_>>().chunks(4) {
        let mut calls = vec![];
        for &i in chunk {
            let base = if i % 2 == 0 && !killed {
                base_a.clone()
            } else {
                base_b.clone()
            };
            let (http, admin) = (http.clone(), admin.clone());
            calls.push(tokio::spawn(async move {
                (i, create_staff(&http, &base, &admin, unit, i).await)
            }));
        }
        if !killed && chunk[0] >= KILL_AT {
            // SIGKILL while these requests are in flight.
            tokio::time::sleep(Duration::from_millis(5)).await;
            a.kill().unwrap();
            a.wait().unwrap();
            killed = true;
            last_before_kill = app
                .store
                .read(|r| s::recent(r, 1))
                .unwrap()
                .first()
                .map_or(0, |j| j.id);
        }
        for c in calls {
            let (i, ok) = c.await.unwrap();
            if ok {
                acked.push(i);
            }
        }
    }
    assert!(killed);
    assert!(acked.len() >= TOTAL - 4, "{} acknowledged", acked.len());

    // Every acknowledged account is there, and every SMS job reaches the
    // gateway (B takes over what A had claimed once the claim runs out).
    for i in &acked {
        let name = format!("canbo.{i}");
        let acc = app
            .store
            .read(|r| motcua::store::accounts::get(r, &name))
            .unwrap();
        assert!(acc.is_some(), "acknowledged {name} is stored");
    }
    let mut jobs = vec![];
    for _ in 0..(s::CLAIM_SECS * 10 + 150) {
        jobs = app.store.read(|r| s::recent(r, 10_000)).unwrap();
        if jobs.iter().all(|j| j.status == s::SmsStatus::Sent) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let by_id = sends_by_id(&sms);
    let mut repeated = 0;
    for j in &jobs {
        assert_eq!(j.status, s::SmsStatus::Sent, "job {} sent", j.id);
        let n = by_id.get(&j.uid).copied().unwrap_or(0);
        assert!(n >= 1, "job {} reached the gateway", j.id);
        // The same id twice is only possible for a message the killed
        // instance had handed to the gateway but not yet recorded (a
        // gateway drops the repeat by its id: eSMS answers 124); never for
        // one queued after the kill.
        assert!(
            n == 1 || j.id <= last_before_kill,
            "job {} (queued after the kill) sent {n} times",
            j.id
        );
        repeated += n - 1;
    }
    assert!(jobs.len() >= acked.len(), "a password SMS per account");
    eprintln!(
        "two instances: {} accounts acknowledged, {} SMS, {repeated} repeated by id after SIGKILL",
        acked.len(),
        jobs.len()
    );
    b.kill().unwrap();
    b.wait().unwrap();
}

#[tokio::test]
async fn telegram_long_polling_runs_on_one_instance_and_moves_when_it_stops() {
    if !crate::engine::postgres_pass_only("Telegram lease") {
        return;
    }
    use crate::telegram::{FakeBotApi, TOKEN};
    let fake = FakeBotApi::start().await;
    let tg = fake.url.clone();
    let a = spawn_app_with({
        let tg = tg.clone();
        move |c| {
            c.telegram_token = Some(TOKEN.into());
            c.telegram_api_url = tg;
        }
    })
    .await;
    let b = second_instance(&a, move |c| {
        c.telegram_token = Some(TOKEN.into());
        c.telegram_api_url = tg;
    })
    .await;
    // One instance starts polling (getMe opens a polling session); the
    // other waits for the lease.
    fake.text(7_700_001, "quên mật khẩu thì làm thế nào");
    fake.wait_sent(1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(fake.calls("getme").len(), 1, "one instance polls");
    assert_eq!(fake.sent().len(), 1, "the question answered once");
    // The holder stops (a restart, an upgrade): the other takes over
    // within a renewal period and answers the next question.
    let holder_is_a = a
        .app
        .store
        .read(|r| motcua::store::lease::LEASES.get(r, "telegram-poll"))
        .unwrap()
        .unwrap()
        .holder
        == a.app.instance.holder;
    let still = if holder_is_a {
        a.stop().await;
        b
    } else {
        b.stop().await;
        a
    };
    fake.text(7_700_002, "không nhận được mã OTP");
    fake.wait_sent(2).await;
    assert_eq!(fake.calls("getme").len(), 2, "the other instance polls now");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fake.sent().len(), 2, "each question answered once");
    still.stop().await;
}

#[tokio::test]
async fn a_zalo_token_refreshed_by_one_instance_is_taken_by_the_other() {
    if !crate::engine::postgres_pass_only("Zalo tokens") {
        return;
    }
    use crate::zalo::{FakeZalo, configure, say};
    let fake = FakeZalo::start().await;
    let f = fake.clone();
    let a = spawn_app_with(move |c| configure(c, &f)).await;
    let f = fake.clone();
    let b = second_instance(&a, move |c| configure(c, &f)).await;
    // The token expires; A's answer refreshes it (a refresh token works
    // once: Zalo issues a new pair).
    fake.expire_access_token();
    say(&a, "quên mật khẩu thì làm thế nào", "z1").await;
    fake.wait_sent(1).await;
    assert_eq!(fake.refreshes(), 1);
    // A goes away; B still holds the old pair in memory. Its answer meets
    // the expired token and takes A's pair from the database instead of
    // spending the used refresh token.
    a.stop().await;
    say(&b, "không nhận được mã OTP", "z2").await;
    fake.wait_sent(2).await;
    assert_eq!(fake.refreshes(), 1, "no second refresh");
    b.stop().await;
}
