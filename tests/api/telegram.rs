//! Telegram, full loops over real HTTP: a local fake Bot API server that
//! teloxide talks to (getMe, getUpdates with long polling, sendMessage,
//! answerCallbackQuery, setWebhook/deleteWebhook; method names matched
//! case-insensitively as teloxide sends PascalCase), the console in a real
//! browser, and the webhook mode with its secret-token header.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::chat::{
    console_mark_done, console_reply, console_sees_rating, support_staff, ticket, wait_ticket,
};
use crate::helpers::*;
use crate::webdriver::Browser;

pub const TOKEN: &str = "123456:TEST-token";

#[derive(Default)]
struct State {
    next_update: u64,
    updates: Vec<Value>,
    sent: Vec<Value>,
    callbacks: Vec<String>,
    calls: Vec<(String, Value)>,
    /// While > 0, sendMessage answers 502 and counts down.
    fail_sends: u32,
}

/// A fake Telegram Bot API.
#[derive(Clone)]
pub struct FakeBotApi {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    pub url: String,
}

fn user(id: i64, bot: bool) -> Value {
    json!({"id": id, "is_bot": bot, "first_name": if bot { "Một cửa" } else { "An" }, "username": if bot { "motcua_bot" } else { "an_citizen" }})
}

fn chat_obj(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "An"})
}

fn ok(result: Value) -> poem::Response {
    poem::Response::builder()
        .content_type("application/json")
        .body(json!({"ok": true, "result": result}).to_string())
}

impl FakeBotApi {
    pub async fn start() -> FakeBotApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = FakeBotApi {
            state: Arc::new(Mutex::new(State {
                next_update: 1,
                ..State::default()
            })),
            notify: Arc::new(Notify::new()),
            url: format!("http://{addr}"),
        };
        let f = fake.clone();
        let ep = poem::endpoint::make(move |req: poem::Request| {
            let f = f.clone();
            async move {
                let path = req.uri().path().to_string();
                let ctype = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let bytes = req.into_body().into_bytes().await.unwrap_or_default();
                let body: Value = match ctype.split_once("boundary=") {
                    Some((_, boundary)) => multipart_fields(&bytes, boundary),
                    None => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                };
                let mut parts = path.trim_start_matches('/').splitn(2, '/');
                let bot = parts.next().unwrap_or("");
                let method = parts.next().unwrap_or("").to_ascii_lowercase();
                if bot != format!("bot{TOKEN}") {
                    return poem::Response::builder()
                        .status(poem::http::StatusCode::UNAUTHORIZED)
                        .body(r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#);
                }
                f.handle(&method, body).await
            }
        });
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(ep));
        fake
    }

    async fn handle(&self, method: &str, body: Value) -> poem::Response {
        self.state
            .lock()
            .unwrap()
            .calls
            .push((method.to_string(), body.clone()));
        match method {
            "getme" => ok(json!({
                "id": 1, "is_bot": true, "first_name": "Một cửa", "username": "motcua_bot",
                "can_join_groups": false, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "can_connect_to_business": false,
                "has_main_web_app": false
            })),
            "getupdates" => {
                let offset = body["offset"].as_u64().unwrap_or(0);
                let wait = body["timeout"].as_u64().unwrap_or(0).min(1);
                let deadline = Instant::now() + Duration::from_secs(wait);
                loop {
                    let notified = self.notify.notified();
                    let ready: Vec<Value> = {
                        let mut s = self.state.lock().unwrap();
                        s.updates
                            .retain(|u| u["update_id"].as_u64().unwrap_or(0) >= offset);
                        s.updates.clone()
                    };
                    if !ready.is_empty() || Instant::now() >= deadline {
                        return ok(Value::Array(ready));
                    }
                    let _ = tokio::time::timeout(
                        deadline.saturating_duration_since(Instant::now()),
                        notified,
                    )
                    .await;
                }
            }
            "sendmessage" => {
                let mut s = self.state.lock().unwrap();
                if s.fail_sends > 0 {
                    s.fail_sends -= 1;
                    return poem::Response::builder()
                        .status(poem::http::StatusCode::TOO_MANY_REQUESTS)
                        .content_type("application/json")
                        .body(r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#);
                }
                s.sent.push(body.clone());
                let n = s.sent.len();
                let chat = body["chat_id"].as_i64().unwrap_or(0);
                ok(json!({
                    "message_id": n, "date": 1_700_000_000, "chat": chat_obj(chat),
                    "from": user(1, true), "text": body["text"],
                }))
            }
            "answercallbackquery" => {
                self.state
                    .lock()
                    .unwrap()
                    .callbacks
                    .push(body["callback_query_id"].as_str().unwrap_or("").to_string());
                ok(json!(true))
            }
            "setwebhook" | "deletewebhook" => ok(json!(true)),
            _ => poem::Response::builder()
                .status(poem::http::StatusCode::NOT_FOUND)
                .body(r#"{"ok":false,"error_code":404,"description":"Not Found"}"#),
        }
    }

    fn push(&self, make: impl FnOnce(u64) -> Value) -> Value {
        let u = {
            let mut s = self.state.lock().unwrap();
            let id = s.next_update;
            s.next_update += 1;
            let u = make(id);
            s.updates.push(u.clone());
            u
        };
        self.notify.notify_waiters();
        u
    }

    /// The citizen types a text.
    pub fn text(&self, chat: i64, text: &str) -> Value {
        self.push(|id| {
            json!({"update_id": id, "message": {
                "message_id": id, "date": 1_700_000_000, "chat": chat_obj(chat),
                "from": user(chat, false), "text": text,
            }})
        })
    }

    /// The citizen presses an inline button.
    pub fn press(&self, chat: i64, data: &str) -> Value {
        self.push(|id| {
            json!({"update_id": id, "callback_query": {
                "id": format!("cb{id}"), "from": user(chat, false), "chat_instance": "ci",
                "data": data,
                "message": {"message_id": 1, "date": 1_700_000_000, "chat": chat_obj(chat), "from": user(1, true), "text": "…"},
            }})
        })
    }

    pub fn sent(&self) -> Vec<Value> {
        self.state.lock().unwrap().sent.clone()
    }

    pub fn callbacks(&self) -> Vec<String> {
        self.state.lock().unwrap().callbacks.clone()
    }

    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn fail_next_sends(&self, n: u32) {
        self.state.lock().unwrap().fail_sends = n;
    }

    /// Waits (up to 15 s) for the `n`-th sent message (1-based).
    pub async fn wait_sent(&self, n: usize) -> Value {
        for _ in 0..300 {
            let s = self.sent();
            if s.len() >= n {
                return s[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message #{n} sent; got {:#?}", self.sent());
    }
}

/// The text fields of a multipart body (teloxide sends setWebhook so).
fn multipart_fields(bytes: &[u8], boundary: &str) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let mut out = serde_json::Map::new();
    for part in text.split(&format!("--{}", boundary.trim_matches('"'))) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        {
            let v = value.trim_end_matches("\r\n").trim_matches('"').to_string();
            out.insert(name.to_string(), Value::String(v));
        }
    }
    Value::Object(out)
}

/// The callback data of the inline buttons of a sent message.
fn buttons(m: &Value) -> Vec<(String, String)> {
    m["reply_markup"]["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                .map(|b| {
                    (
                        b["text"].as_str().unwrap_or("").to_string(),
                        b["callback_data"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const CHAT: i64 = 5550001;

#[tokio::test]
async fn telegram_full_loop_with_handoff_console_reply_and_rating() {
    let fake = FakeBotApi::start().await;
    let url = fake.url.clone();
    let t = spawn_app_with(|c| {
        c.telegram_token = Some(TOKEN.into());
        c.telegram_api_url = url;
    })
    .await;
    let (user_name, phone) = ("hotro.telegram", "0372666301");
    support_staff(&t, user_name, phone, "033090007301").await;
    // /start greets in Vietnamese with the main topics as buttons.
    fake.text(CHAT, "/start");
    let m = fake.wait_sent(1).await;
    assert_eq!(m["chat_id"], CHAT);
    assert_eq!(m["parse_mode"], "HTML");
    assert!(m["text"].as_str().unwrap().starts_with("Xin chào"), "{m}");
    let b = buttons(&m);
    assert!(
        b.iter()
            .any(|(l, d)| l == "Gặp cán bộ hỗ trợ" && d == "handoff"),
        "{b:?}"
    );
    assert!(b.iter().any(|(_, d)| d == "forgot-password"));
    assert!(!fake.calls("getme").is_empty());
    // A question → the answer, **bold** as HTML.
    let started = Instant::now();
    fake.text(CHAT, "ko nhan dc ma otp");
    let m = fake.wait_sent(2).await;
    let answer_ms = started.elapsed().as_millis();
    assert!(m["text"].as_str().unwrap().contains("<b>"), "{m}");
    let tree = buttons(&m)
        .into_iter()
        .find(|(_, d)| d.starts_with("tree:"))
        .expect("a troubleshooting button");
    // A button press: the callback is answered, the step comes as a message.
    fake.press(CHAT, &tree.1);
    let m = fake.wait_sent(3).await;
    assert!(m["text"].as_str().unwrap().contains("Số điện thoại"), "{m}");
    assert_eq!(fake.callbacks().len(), 1);
    // /help.
    fake.text(CHAT, "/help");
    let m = fake.wait_sent(4).await;
    assert!(m["text"].as_str().unwrap().contains("/nguoi"));
    // /nguoi hands the chat to a person.
    fake.text(CHAT, "/nguoi");
    let m = fake.wait_sent(5).await;
    assert!(
        m["text"].as_str().unwrap().contains("Yêu cầu hỗ trợ số"),
        "{m}"
    );
    let tid = wait_ticket(&t).await;
    // The bot stays quiet while a person handles it.
    fake.text(CHAT, "em vẫn chưa nhận được mã ạ");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.sent().len(), 5, "the bot spoke: {:#?}", fake.sent());
    // A staff member answers from the console in a real browser.
    let b = Browser::start(1366, 768).await;
    console_reply(&t, &b, user_name, phone, tid, "em vẫn chưa nhận được mã ạ").await;
    let m = fake.wait_sent(6).await;
    assert_eq!(m["chat_id"], CHAT);
    let text = m["text"].as_str().unwrap();
    assert!(
        text.contains("Cán bộ hỗ trợ") && text.contains("Gửi lại OTP"),
        "{text}"
    );
    // Resolved: the rating question with buttons 1–5.
    console_mark_done(&b, tid).await;
    let m = fake.wait_sent(7).await;
    let rate = buttons(&m);
    assert_eq!(rate.len(), 5, "{m}");
    fake.press(CHAT, &rate[3].1);
    let m = fake.wait_sent(8).await;
    assert!(m["text"].as_str().unwrap().contains("4/5"));
    fake.text(CHAT, "cảm ơn cán bộ");
    fake.wait_sent(9).await;
    let tk = ticket(&t, tid);
    assert_eq!(tk.rating, Some(4));
    assert_eq!(tk.comment.as_deref(), Some("cảm ơn cán bộ"));
    console_sees_rating(&t, &b, tid, 4, "cảm ơn cán bộ").await;
    b.quit().await;
    eprintln!("telegram: question → answer delivered in {answer_ms} ms");
}

#[tokio::test]
async fn telegram_outbox_retries_in_order_and_survives_a_restart() {
    let fake = FakeBotApi::start().await;
    let url = fake.url.clone();
    let t = spawn_app_with(|c| {
        c.telegram_token = Some(TOKEN.into());
        c.telegram_api_url = url.clone();
    })
    .await;
    // The Bot API says "slow down" twice: the answer still arrives, after
    // the wait it asked for.
    fake.fail_next_sends(2);
    let started = Instant::now();
    fake.text(CHAT, "quên mật khẩu");
    let m = fake.wait_sent(1).await;
    let waited = started.elapsed();
    assert!(m["text"].as_str().unwrap().contains("Quên mật khẩu"), "{m}");
    // Whole-second clock: two waits of 1 s take more than 1 s.
    assert!(waited > Duration::from_secs(1), "no backoff: {waited:?}");
    eprintln!("telegram: delivered after 2 failures in {waited:?}");
    // Jobs queued while the process is down go out after a restart.
    let dir = t.stop().await;
    let now = chrono::Utc::now().timestamp();
    {
        let store = crate::engine::open_store(dir.path());
        store
            .write(|w| {
                for text in ["tin 1", "tin 2", "tin 3"] {
                    motcua::store::outbox::enqueue(
                        w,
                        motcua::store::outbox::NewJob {
                            channel: motcua::domain::Channel::Telegram,
                            peer: &CHAT.to_string(),
                            conversation: "c",
                            text,
                            buttons: vec![],
                            lang: "vi",
                        },
                        now,
                    )?;
                }
                Ok::<_, motcua::store::StoreError>(())
            })
            .unwrap();
    }
    let _t = spawn_in(dir, |c| {
        c.telegram_token = Some(TOKEN.into());
        c.telegram_api_url = url;
    })
    .await;
    let texts: Vec<String> = {
        fake.wait_sent(4).await;
        fake.sent()[1..4]
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        texts,
        vec!["tin 1", "tin 2", "tin 3"],
        "in order, once each"
    );
}

#[tokio::test]
async fn telegram_webhook_mode_checks_the_secret_token() {
    let fake = FakeBotApi::start().await;
    let url = fake.url.clone();
    let t = spawn_app_with(|c| {
        c.telegram_token = Some(TOKEN.into());
        c.telegram_api_url = url;
        c.telegram_webhook_secret = Some("bi-mat_webhook-123".into());
    })
    .await;
    // The webhook is registered with its secret; no long polling.
    for _ in 0..100 {
        if !fake.calls("setwebhook").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let set = fake.calls("setwebhook");
    assert_eq!(set[0]["secret_token"], "bi-mat_webhook-123");
    assert_eq!(set[0]["url"], t.url("/webhooks/telegram"));
    assert!(fake.calls("getupdates").is_empty());
    let update = json!({"update_id": 77, "message": {
        "message_id": 1, "date": 1_700_000_000, "chat": chat_obj(CHAT),
        "from": user(CHAT, false), "text": "quên mật khẩu thì làm sao"}});
    let post = |secret: Option<&'static str>, body: Value| {
        let t = &t;
        async move {
            let mut rb = t.http.post(t.url("/webhooks/telegram")).json(&body);
            if let Some(s) = secret {
                rb = rb.header("X-Telegram-Bot-Api-Secret-Token", s);
            }
            rb.send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!(post(None, update.clone()).await, 401);
    assert_eq!(post(Some("sai"), update.clone()).await, 403);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.sent().is_empty(), "a refused call was processed");
    let started = Instant::now();
    assert_eq!(post(Some("bi-mat_webhook-123"), update.clone()).await, 200);
    let ack = started.elapsed();
    let m = fake.wait_sent(1).await;
    assert!(m["text"].as_str().unwrap().contains("Quên mật khẩu"));
    // The same update again (Telegram retries) is not answered twice; an
    // update type we do not handle is acknowledged and ignored.
    assert_eq!(post(Some("bi-mat_webhook-123"), update).await, 200);
    let poll = json!({"update_id": 78, "poll": {"id": "p", "question": "?", "options": [], "total_voter_count": 0, "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false}});
    assert_eq!(post(Some("bi-mat_webhook-123"), poll).await, 200);
    assert_eq!(
        post(Some("bi-mat_webhook-123"), json!({"khong": "phai"})).await,
        200
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fake.sent().len(), 1, "{:#?}", fake.sent());
    eprintln!("telegram webhook ack in {ack:?}");
    assert!(ack < Duration::from_secs(2));
}
