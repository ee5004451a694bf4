//! Zalo OA, full loops over real HTTP: signed and unsigned webhook calls,
//! a local fake of the OA message API and of the OAuth token refresh
//! (error -216), the console in a real browser, the rating; and a Zalo API
//! that is down while Telegram keeps answering.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::chat::{
    console_mark_done, console_reply, console_sees_rating, support_staff, ticket, wait_ticket,
};
use crate::helpers::*;
use crate::telegram::FakeBotApi;
use crate::webdriver::Browser;

const APP_ID: &str = "3608465249409039";
const OA_SECRET: &str = "oa-secret-Kq81";
const APP_SECRET: &str = "app-secret-77";
const USER: &str = "2468458835291979";

#[derive(Default)]
struct State {
    valid_access: String,
    valid_refresh: String,
    issued: u32,
    sent: Vec<(String, String)>,
    tokens_used: Vec<String>,
    refreshes: u32,
    down: bool,
}

/// A fake Zalo OA API (message/cs) and OAuth server (token refresh).
#[derive(Clone)]
pub struct FakeZalo {
    state: Arc<Mutex<State>>,
    pub url: String,
}

impl FakeZalo {
    pub async fn start() -> FakeZalo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = FakeZalo {
            state: Arc::new(Mutex::new(State {
                valid_access: "acc-1".into(),
                valid_refresh: "ref-1".into(),
                issued: 1,
                ..State::default()
            })),
            url: format!("http://{addr}"),
        };
        let f = fake.clone();
        let ep = poem::endpoint::make(move |req: poem::Request| {
            let f = f.clone();
            async move {
                let path = req.uri().path().to_string();
                let header = |k: &str| {
                    req.headers()
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let token = header("access_token");
                let secret = header("secret_key");
                let bytes = req.into_body().into_bytes().await.unwrap_or_default();
                let mut s = f.state.lock().unwrap();
                if s.down {
                    return poem::Response::builder()
                        .status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
                        .body("down");
                }
                let reply = match path.as_str() {
                    "/v3.0/oa/message/cs" => {
                        s.tokens_used.push(token.clone());
                        if token != s.valid_access {
                            json!({"error": -216, "message": "Access token is invalid"})
                        } else {
                            let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
                            let to = v["recipient"]["user_id"].as_str().unwrap_or("").to_string();
                            let text = v["message"]["text"].as_str().unwrap_or("").to_string();
                            s.sent.push((to.clone(), text));
                            json!({"error": 0, "message": "Success", "data": {"message_id": format!("m{}", s.sent.len()), "user_id": to}})
                        }
                    }
                    "/v4/oa/access_token" => {
                        let form: Vec<(String, String)> =
                            serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
                        let get = |k: &str| {
                            form.iter()
                                .find(|(a, _)| a == k)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default()
                        };
                        if secret != APP_SECRET
                            || get("app_id") != APP_ID
                            || get("grant_type") != "refresh_token"
                            || get("refresh_token") != s.valid_refresh
                        {
                            json!({"error": -14014, "error_name": "Invalid refresh token"})
                        } else {
                            s.issued += 1;
                            s.refreshes += 1;
                            s.valid_access = format!("acc-{}", s.issued);
                            s.valid_refresh = format!("ref-{}", s.issued);
                            json!({"access_token": s.valid_access, "refresh_token": s.valid_refresh, "expires_in": "90000"})
                        }
                    }
                    _ => {
                        return poem::Response::builder()
                            .status(poem::http::StatusCode::NOT_FOUND)
                            .finish();
                    }
                };
                poem::Response::builder()
                    .content_type("application/json")
                    .body(reply.to_string())
            }
        });
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(ep));
        fake
    }

    /// The access token expires (Zalo now answers -216 to it).
    pub fn expire_access_token(&self) {
        self.state.lock().unwrap().valid_access = "acc-expired".into();
    }

    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    pub fn sent(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().sent.clone()
    }

    pub fn refreshes(&self) -> u32 {
        self.state.lock().unwrap().refreshes
    }

    pub fn tokens_used(&self) -> Vec<String> {
        self.state.lock().unwrap().tokens_used.clone()
    }

    /// Waits (up to 15 s) for the `n`-th delivered message (1-based).
    pub async fn wait_sent(&self, n: usize) -> String {
        for _ in 0..300 {
            let s = self.sent();
            if s.len() >= n {
                assert_eq!(s[n - 1].0, USER);
                return s[n - 1].1.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no Zalo message #{n}; got {:#?}", self.sent());
    }
}

pub(crate) fn configure(c: &mut motcua::config::Config, fake: &FakeZalo) {
    c.zalo_app_id = Some(APP_ID.into());
    c.zalo_oa_secret = Some(OA_SECRET.into());
    c.zalo_access_token = Some("acc-1".into());
    c.zalo_refresh_token = Some("ref-1".into());
    c.zalo_app_secret = Some(APP_SECRET.into());
    c.zalo_api_url = fake.url.clone();
    c.zalo_oauth_url = fake.url.clone();
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A Zalo event body as Zalo sends it.
fn text_event(text: &str, msg_id: &str, ts: i64) -> String {
    json!({
        "app_id": APP_ID, "user_id_by_app": "552177279717587730", "event_name": "user_send_text",
        "timestamp": ts.to_string(), "sender": {"id": USER}, "recipient": {"id": "388613280878808645"},
        "message": {"text": text, "msg_id": msg_id},
    })
    .to_string()
}

fn mac(body: &str, ts: i64) -> String {
    let mut h = Sha256::new();
    h.update(APP_ID.as_bytes());
    h.update(body.as_bytes());
    h.update(ts.to_string().as_bytes());
    h.update(OA_SECRET.as_bytes());
    format!("mac={}", hex::encode(h.finalize()))
}

async fn post(t: &TestApp, body: &str, signature: Option<String>) -> (u16, Duration) {
    let started = Instant::now();
    let mut rb = t
        .http
        .post(t.url("/webhooks/zalo"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(s) = signature {
        rb = rb.header("X-ZEvent-Signature", s);
    }
    let s = rb.send().await.unwrap().status().as_u16();
    (s, started.elapsed())
}

/// The citizen writes on Zalo (a correctly signed event).
pub(crate) async fn say(t: &TestApp, text: &str, msg_id: &str) -> Duration {
    let ts = now_ms();
    let body = text_event(text, msg_id, ts);
    let (s, ack) = post(t, &body, Some(mac(&body, ts))).await;
    assert_eq!(s, 200);
    ack
}

#[tokio::test]
async fn zalo_full_loop_signature_refresh_handoff_and_rating() {
    let fake = FakeZalo::start().await;
    let f2 = fake.clone();
    let t = spawn_app_with(move |c| configure(c, &f2)).await;
    let (user_name, phone) = ("hotro.zalo", "0372666401");
    support_staff(&t, user_name, phone, "033090007401").await;

    // Refused calls: nothing processed.
    let ts = now_ms();
    let body = text_event("quên mật khẩu", "m-x", ts);
    assert_eq!(post(&t, &body, None).await.0, 401, "unsigned");
    assert_eq!(
        post(&t, &body, Some("mac=".to_string() + &"0".repeat(64)))
            .await
            .0,
        403,
        "wrong"
    );
    let tampered = body.replace("quên", "nhớ");
    assert_eq!(
        post(&t, &tampered, Some(mac(&body, ts))).await.0,
        403,
        "body changed"
    );
    let old = ts - 10 * 60 * 1000;
    let stale = text_event("quên mật khẩu", "m-old", old);
    assert_eq!(
        post(&t, &stale, Some(mac(&stale, old))).await.0,
        403,
        "stale"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(fake.sent().is_empty(), "a refused call was processed");

    // Signed: acknowledged at once, answered through the API.
    let mut acks = vec![];
    acks.push(say(&t, "quên mật khẩu thì làm thế nào", "m1").await);
    let text = fake.wait_sent(1).await;
    assert!(text.contains("Quên mật khẩu"), "{text}");
    assert!(!text.contains("**"));
    assert!(
        text.contains("Anh/chị nhắn số tương ứng để chọn:\n1. "),
        "{text}"
    );
    // Other events are acknowledged and ignored.
    let ts = now_ms();
    let follow = json!({"app_id": APP_ID, "event_name": "follow", "timestamp": ts.to_string(), "follower": {"id": USER}}).to_string();
    assert_eq!(post(&t, &follow, Some(mac(&follow, ts))).await.0, 200);
    // The same event again (a redelivery) is not answered twice.
    let ts = now_ms();
    let again = text_event("quên mật khẩu thì làm thế nào", "m1", ts);
    assert_eq!(post(&t, &again, Some(mac(&again, ts))).await.0, 200);

    // The token expires: refreshed once, the message still goes, the new
    // refresh token is kept.
    fake.expire_access_token();
    acks.push(say(&t, "1", "m2").await);
    let text = fake.wait_sent(2).await;
    assert!(!text.is_empty());
    assert_eq!(fake.refreshes(), 1);
    let kept = t
        .app
        .store
        .read(|r| motcua::store::outbox::tokens(r, "zalo"))
        .unwrap()
        .unwrap();
    assert_eq!(kept.access_token, "acc-2");
    assert_eq!(kept.refresh_token.as_deref(), Some("ref-2"));
    assert_eq!(fake.sent().len(), 2, "{:#?}", fake.sent());

    // A person, please.
    acks.push(say(&t, "/nguoi", "m3").await);
    let text = fake.wait_sent(3).await;
    assert!(text.contains("Yêu cầu hỗ trợ số"), "{text}");
    let tid = wait_ticket(&t).await;
    acks.push(say(&t, "em đổi điện thoại rồi, không nhận được mã", "m4").await);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        fake.sent().len(),
        3,
        "the bot spoke while a person handles it"
    );

    let b = Browser::start(1366, 768).await;
    console_reply(&t, &b, user_name, phone, tid, "em đổi điện thoại rồi").await;
    let text = fake.wait_sent(4).await;
    assert!(text.starts_with("👤 Cán bộ hỗ trợ:\n"), "{text}");
    assert!(text.contains("Gửi lại OTP"));
    console_mark_done(&b, tid).await;
    let text = fake.wait_sent(5).await;
    assert!(text.contains("đánh giá mức độ hài lòng"), "{text}");
    assert!(text.contains("5. 5 – Rất hài lòng"), "{text}");
    acks.push(say(&t, "5", "m5").await);
    let text = fake.wait_sent(6).await;
    assert!(text.contains("5/5"), "{text}");
    acks.push(say(&t, "1", "m6").await); // 1 = "Bỏ qua"
    let text = fake.wait_sent(7).await;
    assert!(text.contains("Cảm ơn anh/chị"), "{text}");
    let tk = ticket(&t, tid);
    assert_eq!(tk.rating, Some(5));
    assert_eq!(tk.comment, None);
    console_sees_rating(&t, &b, tid, 5, "5/5").await;
    b.quit().await;
    let max = acks.iter().max().unwrap();
    eprintln!("zalo webhook acks: max {max:?} over {} calls", acks.len());
    assert!(*max < Duration::from_secs(2), "ack took {max:?}");
}

#[tokio::test]
async fn zalo_down_does_not_slow_telegram_and_catches_up() {
    let zalo = FakeZalo::start().await;
    let tg = FakeBotApi::start().await;
    let (z2, tg_url) = (zalo.clone(), tg.url.clone());
    let t = spawn_app_with(move |c| {
        configure(c, &z2);
        c.telegram_token = Some(crate::telegram::TOKEN.into());
        c.telegram_api_url = tg_url;
    })
    .await;
    zalo.set_down(true);
    for i in 0..3 {
        say(&t, &format!("quên mật khẩu lần {i}"), &format!("d{i}")).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Telegram answers at its usual speed meanwhile.
    let started = Instant::now();
    tg.text(4440001, "không nhận được mã otp");
    let m = tg.wait_sent(1).await;
    let tg_ms = started.elapsed();
    assert!(m["text"].as_str().unwrap().contains("OTP"));
    assert!(
        tg_ms < Duration::from_secs(2),
        "Telegram slowed down: {tg_ms:?}"
    );
    let pending = t
        .app
        .store
        .read(|r| motcua::store::outbox::pending(r, motcua::domain::Channel::Zalo))
        .unwrap();
    assert_eq!(pending, 3, "the Zalo answers wait in the queue");
    // Zalo comes back: the queue drains in order, nothing lost.
    zalo.set_down(false);
    let started = Instant::now();
    zalo.wait_sent(3).await;
    let texts = zalo.sent();
    assert_eq!(texts.len(), 3);
    eprintln!(
        "telegram answered in {tg_ms:?} while Zalo was down; Zalo caught up {:?} after it came back",
        started.elapsed()
    );
}

#[tokio::test]
async fn zalo_refreshed_token_is_used_after_a_restart() {
    let fake = FakeZalo::start().await;
    let f2 = fake.clone();
    let t = spawn_app_with(move |c| configure(c, &f2)).await;
    fake.expire_access_token();
    say(&t, "quên mật khẩu", "r1").await;
    fake.wait_sent(1).await;
    assert_eq!(fake.refreshes(), 1);
    let dir = t.stop().await;
    let f3 = fake.clone();
    let t = spawn_in(dir, move |c| configure(c, &f3)).await;
    let before = fake.tokens_used().len();
    say(&t, "cảm ơn", "r2").await;
    fake.wait_sent(2).await;
    assert_eq!(fake.refreshes(), 1, "no second refresh");
    assert_eq!(fake.tokens_used()[before..], ["acc-2".to_string()]);
}
