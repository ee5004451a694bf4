//! Issue 8, crash safety: the real binary on one data dir, concurrent staff
//! account creations, self-registrations, web chat and bot messages
//! (Telegram, Zalo), SIGKILL at a random moment, restart, again. Afterwards
//! every acknowledged request is there, no account is half-created (account
//! ⇔ audit entry ⇔ password SMS job), the queued SMS all reach the gateway
//! and every acknowledged bot message has its answer at the fake Bot API /
//! Zalo OA API (at least once; duplicates after a kill are counted).
//!
//! The bot side: a fake Telegram Bot API and a fake Zalo OA API live for the
//! whole test (same URLs across restarts). Each citizen message comes from
//! its own chat, so an answer names its question. Acknowledged means: Zalo,
//! the signed webhook call answered 200; Telegram, alternating by round,
//! the webhook call (secret header) answered 200, or in long-polling rounds
//! an update whose offset the server confirmed in a later getUpdates. Calls
//! that failed are delivered again in a later round, as Zalo and Telegram
//! do; the answer must still come exactly once per event (event-id
//! de-duplication), however many deliveries.

use std::collections::{BTreeSet, HashSet};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{
    SmsReceiver, extract_code, free_port, multipart, serve_command, spawn_in, wait_healthy,
};
use crate::telegram::{FakeBotApi, TOKEN};
use crate::zalo::FakeZalo;

const ROUNDS: usize = 12;
const CREATIONS: usize = 3;
const REGISTRATIONS: usize = 3;
const CHATS: usize = 2;
/// More than the registrations a run can get through.
const REGISTRY_ROWS: usize = 5000;
/// Pause between two messages of one bot channel's citizen.
const BOT_PAUSE_MS: u64 = 25;
/// What every bot citizen asks (the FAQ answers it).
const QUESTION: &str = "quên mật khẩu thì làm thế nào";
/// In the FAQ answer to [`QUESTION`].
const ANSWER_MARK: &str = "Quên mật khẩu";
const TG_SECRET: &str = "crash-webhook_secret-1";
const ZALO_APP_ID: &str = "3608465249409039";
const ZALO_OA_SECRET: &str = "oa-secret-Kq81";
/// Telegram chat ids: webhook citizens, long-polling citizens.
const TG_WEBHOOK_CHAT: i64 = 500_000_000;
const TG_POLL_CHAT: i64 = 600_000_000;
/// Webhook update ids, apart from the fake's own (1, 2, …) for polling.
const TG_WEBHOOK_UPDATE: i64 = 1_000_000;

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
    bots: Arc<Bots>,
}

/// The fake bot APIs and what the server acknowledged on those channels.
struct Bots {
    tg: FakeBotApi,
    zalo: FakeZalo,
    state: Mutex<BotState>,
}

#[derive(Default)]
struct BotState {
    next_tg: i64,
    next_zalo: u64,
    /// Telegram chats whose webhook update was answered 200.
    tg_webhook: BTreeSet<i64>,
    /// Updates put in the fake's getUpdates queue: (update id, chat).
    tg_polled: Vec<(u64, i64)>,
    /// Zalo users whose signed event was answered 200.
    zalo: BTreeSet<String>,
    /// Calls that failed, to deliver again in a later round.
    tg_retry: Vec<i64>,
    zalo_retry: Vec<String>,
    /// Deliveries of an event after a failed call.
    redelivered: usize,
}

fn zalo_user(n: u64) -> String {
    format!("7{n:015}")
}

impl Bots {
    async fn start() -> Bots {
        Bots {
            tg: FakeBotApi::start().await,
            zalo: FakeZalo::start().await,
            state: Mutex::new(BotState::default()),
        }
    }

    fn settings(&self, cmd: &mut Command, base: &str, tg_webhook: bool) {
        cmd.env("MOTCUA_PUBLIC_URL", base)
            .env("MOTCUA_TELEGRAM_TOKEN", TOKEN)
            .env("MOTCUA_TELEGRAM_API_URL", &self.tg.url)
            .env("MOTCUA_ZALO_APP_ID", ZALO_APP_ID)
            .env("MOTCUA_ZALO_OA_SECRET", ZALO_OA_SECRET)
            .env("MOTCUA_ZALO_ACCESS_TOKEN", "acc-1")
            .env("MOTCUA_ZALO_API_URL", &self.zalo.url)
            .env("MOTCUA_ZALO_OAUTH_URL", &self.zalo.url);
        if tg_webhook {
            cmd.env("MOTCUA_TELEGRAM_WEBHOOK_SECRET", TG_SECRET);
        } else {
            cmd.env_remove("MOTCUA_TELEGRAM_WEBHOOK_SECRET");
        }
    }

    /// Telegram chats whose update the server acknowledged: webhook calls
    /// answered 200, and updates below the highest offset it confirmed.
    fn tg_acked(&self) -> BTreeSet<i64> {
        let confirmed = self
            .tg
            .calls("getupdates")
            .iter()
            .filter_map(|b| b["offset"].as_u64())
            .max()
            .unwrap_or(0);
        let s = self.state.lock().unwrap();
        s.tg_polled
            .iter()
            .filter(|(id, _)| *id < confirmed)
            .map(|(_, chat)| *chat)
            .chain(s.tg_webhook.iter().copied())
            .collect()
    }

    /// Messages the fake Bot API received: (chat id, text).
    fn tg_sent(&self) -> Vec<(String, String)> {
        self.tg
            .sent()
            .iter()
            .map(|m| {
                (
                    m["chat_id"].as_i64().unwrap_or(0).to_string(),
                    m["text"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }
}

/// A Telegram citizen's update as the Bot API sends it.
fn tg_update(update_id: i64, chat: i64) -> Value {
    let who = json!({"id": chat, "is_bot": false, "first_name": "An"});
    json!({"update_id": update_id, "message": {
        "message_id": 1, "date": 1_700_000_000,
        "chat": {"id": chat, "type": "private", "first_name": "An"},
        "from": who, "text": QUESTION,
    }})
}

/// A signed Zalo `user_send_text` event of `user`: (body, signature).
fn zalo_event(user: &str) -> (String, String) {
    let ts = chrono::Utc::now().timestamp_millis().to_string();
    let body = json!({
        "app_id": ZALO_APP_ID, "user_id_by_app": "552177279717587730",
        "event_name": "user_send_text", "timestamp": ts,
        "sender": {"id": user}, "recipient": {"id": "388613280878808645"},
        "message": {"text": QUESTION, "msg_id": format!("msg-{user}")},
    })
    .to_string();
    let mut h = Sha256::new();
    h.update(ZALO_APP_ID.as_bytes());
    h.update(body.as_bytes());
    h.update(ts.as_bytes());
    h.update(ZALO_OA_SECRET.as_bytes());
    (body, format!("mac={}", hex::encode(h.finalize())))
}

/// Delivered answers per peer, checked against the acknowledged peers:
/// (answered, acknowledged but unanswered, duplicates, answered without
/// acknowledgement).
fn tally(
    acked: &BTreeSet<String>,
    sent: &[(String, String)],
) -> (usize, Vec<String>, usize, usize) {
    let mut per: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (peer, text) in sent {
        per.entry(peer.as_str()).or_default().push(text.as_str());
    }
    let answered = |p: &str| {
        per.get(p)
            .is_some_and(|v| v.iter().any(|t| t.contains(ANSWER_MARK)))
    };
    let missing: Vec<String> = acked.iter().filter(|p| !answered(p)).cloned().collect();
    let duplicates = per
        .values()
        .map(|v| v.len() - v.iter().collect::<HashSet<_>>().len())
        .sum();
    let unacked = per.keys().filter(|p| !acked.contains(**p)).count();
    (acked.len() - missing.len(), missing, duplicates, unacked)
}

fn start(
    dir: &std::path::Path,
    sms: &SmsReceiver,
    registry: &std::path::Path,
    bots: &Bots,
    tg_webhook: bool,
) -> (Child, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("crash-server.log"))
        .unwrap();
    let mut cmd = serve_command(port, sms);
    bots.settings(&mut cmd, &base, tg_webhook);
    let child = cmd
        .env("MOTCUA_DATA_DIR", dir)
        .envs(crate::engine::child_env(dir))
        .env("MOTCUA_BACKUP_EVERY_HOURS", "0")
        .env("MOTCUA_SUBSCRIBER_REGISTRY", registry)
        .env("RUST_LOG", "warn")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    (child, base)
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
        let unit = self.unit.to_string();
        let (content_type, body) = multipart(
            &[
                ("id_number", id.as_str()),
                ("full_name", "Phạm Thị Mai"),
                ("birth_date", "05/06/1990"),
                ("phone", phone.as_str()),
                ("unit_id", &unit),
            ],
            &[("id_scan", "CCCD.pdf", &motcua::upload::samples::pdf())],
        );
        let r = self
            .http
            .post(format!("{}/api/v1/citizen-account-requests", self.base))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
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

impl Client {
    /// A new Telegram citizen writes through the webhook, or one whose call
    /// failed before is delivered again (Telegram retries).
    async fn telegram_webhook(&self) {
        let chat = {
            let mut s = self.bots.state.lock().unwrap();
            match s.tg_retry.pop() {
                Some(chat) => {
                    s.redelivered += 1;
                    chat
                }
                None => {
                    s.next_tg += 1;
                    TG_WEBHOOK_CHAT + s.next_tg
                }
            }
        };
        let update = tg_update(chat - TG_WEBHOOK_CHAT + TG_WEBHOOK_UPDATE, chat);
        let status = self
            .http
            .post(format!("{}/webhooks/telegram", self.base))
            .header("X-Telegram-Bot-Api-Secret-Token", TG_SECRET)
            .json(&update)
            .send()
            .await
            .map(|r| r.status().as_u16());
        let mut s = self.bots.state.lock().unwrap();
        match status {
            Ok(200) => {
                s.tg_webhook.insert(chat);
            }
            Ok(st) if st < 500 => panic!("Telegram webhook refused: {st}"),
            _ => s.tg_retry.push(chat),
        }
    }

    /// A new Telegram citizen writes; the fake hands it out in getUpdates.
    fn telegram_push(&self) {
        let chat = {
            let mut s = self.bots.state.lock().unwrap();
            s.next_tg += 1;
            TG_POLL_CHAT + s.next_tg
        };
        let u = self.bots.tg.text(chat, QUESTION);
        let id = u["update_id"].as_u64().unwrap();
        self.bots.state.lock().unwrap().tg_polled.push((id, chat));
    }

    /// A new Zalo citizen writes (a signed event), or one whose call failed
    /// before is delivered again (Zalo retries).
    async fn zalo(&self) {
        let user = {
            let mut s = self.bots.state.lock().unwrap();
            match s.zalo_retry.pop() {
                Some(u) => {
                    s.redelivered += 1;
                    u
                }
                None => {
                    s.next_zalo += 1;
                    zalo_user(s.next_zalo)
                }
            }
        };
        let (body, mac) = zalo_event(&user);
        let status = self
            .http
            .post(format!("{}/webhooks/zalo", self.base))
            .header("content-type", "application/json")
            .header("X-ZEvent-Signature", mac)
            .body(body)
            .send()
            .await
            .map(|r| r.status().as_u16());
        let mut s = self.bots.state.lock().unwrap();
        match status {
            Ok(200) => {
                s.zalo.insert(user);
            }
            Ok(st) if st < 500 => panic!("Zalo webhook refused: {st}"),
            _ => s.zalo_retry.push(user),
        }
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
    let bots = Arc::new(Bots::start().await);
    for round in 0..ROUNDS {
        // Telegram: webhook mode in even rounds, long polling in odd ones.
        let tg_webhook = round % 2 == 0;
        let (mut child, base) = start(dir.path(), &sms, &registry, &bots, tg_webhook);
        wait_healthy(&http, &base).await;
        let c = Arc::new(Client {
            http: http.clone(),
            base,
            token: token.clone(),
            unit,
            sms: sms.clone(),
            acks: acks.clone(),
            bots: bots.clone(),
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
        {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    if tg_webhook {
                        c.telegram_webhook().await;
                    } else {
                        c.telegram_push();
                    }
                    tokio::time::sleep(Duration::from_millis(BOT_PAUSE_MS)).await;
                }
            }));
        }
        {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    c.zalo().await;
                    tokio::time::sleep(Duration::from_millis(BOT_PAUSE_MS)).await;
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
        let tg = bots.tg_acked().len();
        let zalo = bots.state.lock().unwrap().zalo.len();
        eprintln!(
            "round {round}: killed after {delay} ms (Telegram {}); acknowledged so far: {} accounts, {} registrations, {} chats, {tg} Telegram and {zalo} Zalo messages",
            if tg_webhook { "webhook" } else { "polling" },
            a.created.len(),
            a.registered.len(),
            a.chats.len()
        );
    }

    // A last clean run (Telegram polling, which also hands out the updates
    // still unconfirmed): every acknowledged thing is there, queued SMS and
    // bot answers go out.
    let final_start = Instant::now();
    let (mut child, base) = start(dir.path(), &sms, &registry, &bots, false);
    wait_healthy(&http, &base).await;
    // Every acknowledged bot message gets its answer (bounded wait).
    let zalo_acked = bots.state.lock().unwrap().zalo.clone();
    let deadline = final_start + Duration::from_secs(30);
    loop {
        let tg_acked: BTreeSet<String> = bots.tg_acked().iter().map(i64::to_string).collect();
        let (_, tg_missing, ..) = tally(&tg_acked, &bots.tg_sent());
        let (_, zalo_missing, ..) = tally(&zalo_acked, &bots.zalo.sent());
        if tg_missing.is_empty() && zalo_missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acknowledged bot messages without an answer 30 s after the restart: Telegram chats {tg_missing:?}, Zalo users {zalo_missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bots_answered_after = final_start.elapsed();
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
    // Give the workers a moment for unacknowledged-but-committed ones too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let _ = child.wait();

    // The store, read after the clean stop.
    let app = motcua::app::App::open(crate::helpers::test_config(dir.path())).unwrap();
    let tg_acked: BTreeSet<String> = bots.tg_acked().iter().map(i64::to_string).collect();
    let (tg_sent, zalo_sent) = (bots.tg_sent(), bots.zalo.sent());
    use motcua::domain::Channel;
    use motcua::store::conversations::{self as conv, Sender};
    // Each event was processed once, however often it was delivered: one
    // question and one answer in its conversation (peers with an answer,
    // acknowledged or not).
    let tg_peers: BTreeSet<&String> = tg_acked
        .iter()
        .chain(tg_sent.iter().map(|(p, _)| p))
        .collect();
    let zalo_peers: BTreeSet<&String> = zalo_acked
        .iter()
        .chain(zalo_sent.iter().map(|(p, _)| p))
        .collect();
    let peers: Vec<(Channel, &String)> = tg_peers
        .into_iter()
        .map(|p| (Channel::Telegram, p))
        .chain(zalo_peers.into_iter().map(|p| (Channel::Zalo, p)))
        .collect();
    let (turns, bot_pending, inbox_left) = app
        .store
        .read(|r| {
            let mut turns = vec![];
            for (ch, peer) in &peers {
                let Some(c) = conv::by_peer(r, *ch, peer)? else {
                    turns.push((ch.as_str(), peer.to_string(), 0, 0));
                    continue;
                };
                let m = conv::messages(r, &c.id, 0, 100)?;
                let n = |s: Sender| m.iter().filter(|x| x.from == s).count();
                turns.push((
                    ch.as_str(),
                    peer.to_string(),
                    n(Sender::Citizen),
                    n(Sender::Bot),
                ));
            }
            let pending = motcua::store::outbox::pending(r, Channel::Telegram)?
                + motcua::store::outbox::pending(r, Channel::Zalo)?;
            Ok((turns, pending, conv::inbox_pending(r, 100)?.len()))
        })
        .unwrap();
    for (ch, peer, asked, answered) in &turns {
        assert!(
            *asked == 1 && *answered == 1,
            "{ch} chat {peer}: {asked} questions and {answered} answers stored (want 1 and 1)"
        );
    }
    assert_eq!(bot_pending, 0, "bot answers left in the outbox");
    assert_eq!(inbox_left, 0, "webhook events left unprocessed");
    let (tg_answered, tg_missing, tg_dups, tg_unacked) = tally(&tg_acked, &tg_sent);
    let (zalo_answered, zalo_missing, zalo_dups, zalo_unacked) = tally(&zalo_acked, &zalo_sent);
    assert!(
        tg_missing.is_empty() && zalo_missing.is_empty(),
        "acknowledged bot messages without an answer: Telegram {tg_missing:?}, Zalo {zalo_missing:?}"
    );
    let (tg_webhook_acked, tg_polled, redelivered) = {
        let s = bots.state.lock().unwrap();
        (s.tg_webhook.len(), s.tg_polled.len(), s.redelivered)
    };
    assert!(
        tg_webhook_acked > 0 && tg_acked.len() > tg_webhook_acked && !zalo_acked.is_empty(),
        "too few bot messages acknowledged to judge"
    );

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
    eprintln!(
        "crash bots: Telegram {} acknowledged ({tg_webhook_acked} by webhook, {} by confirmed getUpdates offset, of {tg_polled} handed out), {tg_answered} answered, {tg_dups} duplicate deliveries, {tg_unacked} unacknowledged but answered; Zalo {} acknowledged, {zalo_answered} answered, {zalo_dups} duplicate deliveries, {zalo_unacked} unacknowledged but answered; {redelivered} redeliveries after a failed call; all acknowledged answers delivered {bots_answered_after:?} after the last restart",
        tg_acked.len(),
        tg_acked.len() - tg_webhook_acked,
        zalo_acked.len(),
    );
}
