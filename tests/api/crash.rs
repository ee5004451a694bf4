//! Issue 8, crash safety: the real binary on one data dir, concurrent staff
//! account creations, self-registrations and chat messages, SIGKILL at a
//! random moment, restart, again. Afterwards every acknowledged request is
//! there, no account is half-created (account ⇔ audit entry ⇔ password SMS
//! job) and the queued SMS all reach the gateway.

use std::collections::{BTreeSet, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{SmsReceiver, extract_code, spawn_in};

const ROUNDS: usize = 12;
const CREATIONS: usize = 3;
const REGISTRATIONS: usize = 3;
const CHATS: usize = 2;
/// More than the registrations a run can get through.
const REGISTRY_ROWS: usize = 5000;

#[derive(Default)]
struct Acks {
    created: Vec<(String, String)>,
    registered: Vec<String>,
    chats: Vec<String>,
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    unit: u64,
    sms: SmsReceiver,
    acks: Arc<Mutex<Acks>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &std::path::Path, sms: &SmsReceiver, registry: &std::path::Path) -> (Child, String) {
    let port = free_port();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("crash-server.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("serve")
        .env("MOTCUA_DATA_DIR", dir)
        .env("MOTCUA_LISTEN", format!("127.0.0.1:{port}"))
        .env("MOTCUA_SMS_PROVIDER", "http")
        .env("MOTCUA_SMS_HTTP_URL", sms.url())
        .env("MOTCUA_CAPTCHA", "off")
        .env("MOTCUA_ARGON2_M_KIB", "1024")
        .env("MOTCUA_BACKUP_EVERY_HOURS", "0")
        .env("MOTCUA_SUBSCRIBER_REGISTRY", registry)
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    (child, format!("http://127.0.0.1:{port}"))
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server did not start");
}

/// The newest code sent to `phone` after the first `seen` messages, waiting
/// up to 3 s; None when the server died first.
async fn code_for(sms: &SmsReceiver, phone: &str, seen: usize) -> Option<String> {
    for _ in 0..150 {
        if let Some(c) = sms
            .all_to(phone)
            .iter()
            .skip(seen)
            .rev()
            .find_map(|m| extract_code(&m.text))
        {
            return Some(c);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

impl Client {
    async fn post(&self, path: &str, auth: bool, body: &Value) -> Option<(u16, Value)> {
        let mut rb = self.http.post(format!("{}{path}", self.base)).json(body);
        if auth {
            rb = rb.bearer_auth(&self.token);
        }
        let r = rb.send().await.ok()?;
        let s = r.status().as_u16();
        Some((s, r.json().await.unwrap_or(Value::Null)))
    }

    /// A citizen account at the counter: request with scan, OTP, confirm.
    async fn create(&self, i: usize) -> Option<()> {
        let id = format!("033190{i:06}");
        let phone = format!("0977{i:06}");
        let boundary = "----crash";
        let mut body = Vec::new();
        for (k, v) in [
            ("id_number", id.as_str()),
            ("full_name", "Phạm Thị Mai"),
            ("birth_date", "05/06/1990"),
            ("phone", phone.as_str()),
            ("unit_id", &self.unit.to_string()),
        ] {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"id_scan\"; filename=\"CCCD.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
        body.extend_from_slice(&motcua::upload::samples::pdf());
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = self
            .http
            .post(format!("{}/api/v1/citizen-account-requests", self.base))
            .bearer_auth(&self.token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .ok()?;
        if r.status() != 201 {
            return None;
        }
        let req = r.json::<Value>().await.ok()?["request_id"]
            .as_str()?
            .to_string();
        let seen = self.sms.all_to(&phone).len();
        let (s, _) = self
            .post(
                &format!("/api/v1/citizen-account-requests/{req}/otp"),
                true,
                &json!({}),
            )
            .await?;
        if s != 200 {
            return None;
        }
        let code = code_for(&self.sms, &phone, seen).await?;
        let (s, v) = self
            .post(
                &format!("/api/v1/citizen-account-requests/{req}/confirm"),
                true,
                &json!({"otp": code}),
            )
            .await?;
        assert!(s == 201 || s >= 500, "confirm: {s} {v}");
        if s == 201 {
            self.acks.lock().unwrap().created.push((id, phone));
        }
        Some(())
    }

    /// Self-registration: form, OTP, password.
    async fn register(&self, i: usize) -> Option<()> {
        let id = format!("033090{i:06}");
        let phone = format!("0372{i:06}");
        let seen = self.sms.all_to(&phone).len();
        let (s, v) = self
            .post(
                "/api/v1/registrations",
                false,
                &json!({"kind": "citizen", "method": "mobile", "id_number": id,
                    "full_name": "Nguyễn Văn An", "birth_date": "15/03/1990", "phone": phone,
                    "email": null, "captcha_id": "", "captcha": "x", "consent": true}),
            )
            .await?;
        if s != 202 {
            // 429: the per-IP cap of anonymous OTP sends (all from 127.0.0.1).
            assert!(s == 429 || s >= 500, "registration: {s} {v}");
            return None;
        }
        let flow = v["flow_id"].as_str()?.to_string();
        let code = code_for(&self.sms, &phone, seen).await?;
        let (s, _) = self
            .post(
                &format!("/api/v1/registrations/{flow}/otp"),
                false,
                &json!({"otp": code}),
            )
            .await?;
        if s != 200 {
            return None;
        }
        let pw = "CongDan#An-1990x";
        let (s, _) = self
            .post(
                &format!("/api/v1/registrations/{flow}/password"),
                false,
                &json!({"password": pw, "password_confirm": pw}),
            )
            .await?;
        if s == 201 {
            self.acks.lock().unwrap().registered.push(id);
        }
        Some(())
    }

    /// A question to the bot, then a follow-up in the same conversation.
    async fn chat(&self) -> Option<()> {
        let (s, v) = self
            .post(
                "/api/v1/chat",
                false,
                &json!({"text": "làm sao đăng ký tài khoản dịch vụ công"}),
            )
            .await?;
        if s != 200 {
            return None;
        }
        let conv = v["conversation_id"].as_str()?.to_string();
        self.acks.lock().unwrap().chats.push(conv.clone());
        let _ = self
            .post(
                "/api/v1/chat",
                false,
                &json!({"conversation_id": conv, "text": "không nhận được mã OTP"}),
            )
            .await?;
        Some(())
    }
}

#[tokio::test]
async fn acknowledged_work_survives_sigkill() {
    let started = Instant::now();
    // Setup in process: an admin, a counter clerk with a session that
    // outlives restarts (sessions are in the database).
    let dir = tempfile::tempdir().unwrap();
    let t = spawn_in(dir, |c| c.captcha = false).await;
    let admin = t.admin_token().await;
    let unit = t.unit_id("Bộ phận một cửa UBND huyện Văn Lâm").await;
    let token = t
        .staff_with(
            &admin,
            "canbo.crash",
            "0988100300",
            "033185002222",
            unit,
            &["citizen_accounts.create"],
        )
        .await;
    let dir = t.stop().await;

    // Subscribers for the self-registrations.
    let registry = dir.path().join("subscribers.csv");
    let mut csv = String::from("phone,id_number,full_name,birth_date\n");
    for i in 0..REGISTRY_ROWS {
        csv.push_str(&format!(
            "0372{i:06},033090{i:06},Nguyễn Văn An,15/03/1990\n"
        ));
    }
    std::fs::write(&registry, csv).unwrap();

    let sms = SmsReceiver::start().await;
    let acks = Arc::new(Mutex::new(Acks::default()));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let next_create = Arc::new(AtomicUsize::new(0));
    let next_register = Arc::new(AtomicUsize::new(0));
    for round in 0..ROUNDS {
        let (mut child, base) = start(dir.path(), &sms, &registry);
        wait_ready(&http, &base).await;
        let c = Arc::new(Client {
            http: http.clone(),
            base,
            token: token.clone(),
            unit,
            sms: sms.clone(),
            acks: acks.clone(),
        });
        // Workers loop until the kill, so it lands in the middle of work.
        let mut tasks = vec![];
        for _ in 0..CREATIONS {
            let (c, next) = (c.clone(), next_create.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    if c.create(next.fetch_add(1, Ordering::SeqCst))
                        .await
                        .is_none()
                    {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }));
        }
        for _ in 0..REGISTRATIONS {
            let (c, next) = (c.clone(), next_register.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    if c.register(next.fetch_add(1, Ordering::SeqCst))
                        .await
                        .is_none()
                    {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }));
        }
        for _ in 0..CHATS {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if c.chat().await.is_none() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }));
        }
        let delay = 100 + u64::from(motcua::util::random_below(1400));
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let killed = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let _ = child.wait();
        for task in tasks {
            task.abort();
            if let Err(e) = task.await
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        let a = acks.lock().unwrap();
        eprintln!(
            "round {round}: killed after {delay} ms; acknowledged so far: {} accounts, {} registrations, {} chats",
            a.created.len(),
            a.registered.len(),
            a.chats.len()
        );
    }

    // A last clean run: every acknowledged thing is there, queued SMS go out.
    let (mut child, base) = start(dir.path(), &sms, &registry);
    wait_ready(&http, &base).await;
    let (created, registered, chats) = {
        let a = acks.lock().unwrap();
        (a.created.clone(), a.registered.clone(), a.chats.clone())
    };
    for (id, _) in &created {
        let r = http
            .get(format!("{base}/api/v1/citizen-accounts/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged account {id} is missing");
    }
    for conv in &chats {
        let r = http
            .get(format!("{base}/api/v1/chat/{conv}/messages"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "acknowledged conversation {conv} is missing"
        );
        let v: Value = r.json().await.unwrap();
        let items = v["items"].as_array().unwrap();
        assert!(
            items.iter().any(|m| m["from"] == "citizen")
                && items.iter().any(|m| m["from"] == "bot"),
            "acknowledged question or its answer lost in {conv}: {v}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for (id, phone) in &created {
        while !sms
            .all_to(phone)
            .iter()
            .any(|m| m.text.contains("Mật khẩu:"))
        {
            assert!(
                Instant::now() < deadline,
                "the password SMS of {id} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Give the worker a moment for unacknowledged-but-committed ones too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let _ = child.wait();

    // The store, read after the clean stop.
    let app = motcua::app::App::open(motcua::config::Config::for_tests(dir.path())).unwrap();
    let (accounts, creates, self_regs, jobs) = app
        .store
        .read(|r| {
            let all = motcua::store::accounts::all(r)?;
            let f = |a: &str| motcua::store::audit::AuditFilter {
                action: Some(a.into()),
                ..Default::default()
            };
            let creates = motcua::store::audit::search(r, &f("citizen_account_create"), 100_000)?;
            let regs = motcua::store::audit::search(r, &f("self_register"), 100_000)?;
            let jobs = motcua::store::sms::recent(r, 100_000)?;
            Ok((all, creates, regs, jobs))
        })
        .unwrap();
    use motcua::store::accounts::Origin;
    let by_staff: Vec<_> = accounts
        .iter()
        .filter(|a| a.origin == Origin::CitizenByStaff)
        .collect();
    let self_registered: BTreeSet<String> = accounts
        .iter()
        .filter(|a| a.origin == Origin::SelfRegistered)
        .map(|a| a.username.clone())
        .collect();
    for id in &registered {
        assert!(
            self_registered.contains(id),
            "acknowledged registration {id} is missing"
        );
    }
    // No half-created account: each one has its audit entry and its
    // password SMS job, and the job was delivered.
    assert_eq!(by_staff.len(), creates.len(), "accounts vs audit entries");
    assert_eq!(
        self_registered.len(),
        self_regs.len(),
        "registrations vs audit"
    );
    let staff_phones: HashSet<&str> = by_staff.iter().map(|a| a.phone.as_str()).collect();
    let password_jobs: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == "password" && staff_phones.contains(j.to.as_str()))
        .collect();
    let job_phones: HashSet<&str> = password_jobs.iter().map(|j| j.to.as_str()).collect();
    for a in &by_staff {
        assert!(
            job_phones.contains(a.phone.as_str()),
            "account {} has no password SMS job",
            a.username
        );
        assert!(
            sms.all_to(&a.phone)
                .iter()
                .any(|m| m.text.contains("Mật khẩu:")),
            "the password SMS of {} was not delivered",
            a.username
        );
    }
    assert_eq!(password_jobs.len(), by_staff.len(), "one password SMS each");
    let pending = jobs
        .iter()
        .filter(|j| j.status == motcua::store::sms::SmsStatus::Pending)
        .count();
    assert_eq!(pending, 0, "queued SMS left undelivered");
    assert!(
        !created.is_empty() && !registered.is_empty() && !chats.is_empty(),
        "too little acknowledged to judge"
    );
    eprintln!(
        "crash: {ROUNDS} SIGKILL rounds in {:?}; acknowledged {} staff-created accounts ({} in store), {} registrations ({} in store), {} conversations; {} SMS delivered, none pending",
        started.elapsed(),
        created.len(),
        by_staff.len(),
        registered.len(),
        self_registered.len(),
        chats.len(),
        sms.count()
    );
}
