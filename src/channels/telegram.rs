//! Telegram through teloxide: long polling (`getUpdates`) by default, or a
//! webhook when `MOTCUA_TELEGRAM_WEBHOOK_SECRET` is set (Telegram then
//! sends that secret in `X-Telegram-Bot-Api-Secret-Token`, checked in
//! `web::webhooks`). Text messages and button presses (callback queries,
//! answered at once) become conversation turns; answers go out through the
//! durable queue as HTML with inline buttons.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use teloxide::payloads::{GetUpdatesSetters, SendMessageSetters, SetWebhookSetters};
use teloxide::requests::Requester;
use teloxide::types::{
    AllowedUpdate, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode, Update,
    UpdateKind,
};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;

use super::SendError;
use crate::app::App;
use crate::config::Config;
use crate::domain::Channel;
use crate::flows::chat::{self, Incoming, Input};
use crate::store::outbox::OutJob;

/// Long-polling wait asked of Telegram, in seconds.
pub const POLL_TIMEOUT: u32 = 10;
/// Telegram's limit is 4096 characters; keep room for the HTML tags.
pub const MAX_TEXT: usize = 4000;
/// Telegram's limit for `callback_data`, in bytes.
const MAX_CALLBACK: usize = 64;

pub struct Telegram {
    pub bot: teloxide::Bot,
}

/// Bots built so far, by API URL and token (building the HTTP client per
/// webhook event would cost milliseconds).
type BotCache = Mutex<HashMap<(String, String), Arc<Telegram>>>;
static SHARED: LazyLock<BotCache> = LazyLock::new(|| Mutex::new(HashMap::new()));

impl Telegram {
    /// The bot of these settings, built once.
    pub fn shared(cfg: &Config) -> Result<Option<Arc<Telegram>>, String> {
        let Some(token) = cfg.telegram_token.clone() else {
            return Ok(None);
        };
        let k = (cfg.telegram_api_url.clone(), token);
        let mut map = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = map.get(&k) {
            return Ok(Some(t.clone()));
        }
        let Some(t) = Self::from_config(cfg)? else {
            return Ok(None);
        };
        let t = Arc::new(t);
        map.insert(k, t.clone());
        Ok(Some(t))
    }

    /// The bot when `MOTCUA_TELEGRAM_TOKEN` is set.
    pub fn from_config(cfg: &Config) -> Result<Option<Telegram>, String> {
        let Some(token) = cfg.telegram_token.clone() else {
            return Ok(None);
        };
        let url = reqwest::Url::parse(&cfg.telegram_api_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or("MOTCUA_TELEGRAM_API_URL is not an http(s) URL")?;
        // The client waits longer than a long poll.
        let client = teloxide::net::default_reqwest_settings()
            .timeout(Duration::from_secs(u64::from(POLL_TIMEOUT) + 20))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Some(Telegram {
            bot: teloxide::Bot::with_client(token, client).set_api_url(url),
        }))
    }

    /// Sends one queued message.
    pub async fn send(&self, job: &OutJob) -> Result<(), SendError> {
        let chat: i64 = job
            .peer
            .parse()
            .map_err(|_| SendError::Permanent("not a Telegram chat id".into()))?;
        let text = message_html(&job.text);
        let mut req = self
            .bot
            .send_message(ChatId(chat), text)
            .parse_mode(ParseMode::Html);
        if !job.buttons.is_empty() {
            let rows: Vec<Vec<InlineKeyboardButton>> = job
                .buttons
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let data = if b.id.len() <= MAX_CALLBACK {
                        b.id.clone()
                    } else {
                        format!("n:{i}")
                    };
                    vec![InlineKeyboardButton::callback(button_label(&b.label), data)]
                })
                .collect();
            req = req.reply_markup(InlineKeyboardMarkup::new(rows));
        }
        match req.await {
            Ok(_) => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

fn classify(e: RequestError) -> SendError {
    match e {
        RequestError::RetryAfter(s) => SendError::Retry {
            error: "Telegram asked to slow down".into(),
            after: Some(i64::from(s.seconds())),
        },
        RequestError::Api(ApiError::BotBlocked)
        | RequestError::Api(ApiError::ChatNotFound)
        | RequestError::Api(ApiError::UserDeactivated)
        | RequestError::Api(ApiError::BotKicked) => {
            SendError::Permanent(format!("Telegram refused: {e}"))
        }
        RequestError::Api(a) => SendError::Retry {
            error: format!("Telegram error: {a}"),
            after: None,
        },
        RequestError::Network(n) => SendError::Retry {
            error: format!("Telegram unreachable: {}", n.without_url_ref()),
            after: None,
        },
        other => SendError::Retry {
            error: format!("Telegram: {}", other.kind_str()),
            after: None,
        },
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    /// The error without its URL (which holds the bot token).
    fn without_url_ref(&self) -> String {
        let kind = if self.is_timeout() {
            "timeout"
        } else if self.is_connect() {
            "connection failed"
        } else if let Some(s) = self.status() {
            return format!("status {s}");
        } else {
            "request failed"
        };
        kind.to_string()
    }
}

trait KindStr {
    fn kind_str(&self) -> &'static str;
}

impl KindStr for RequestError {
    fn kind_str(&self) -> &'static str {
        match self {
            RequestError::InvalidJson { .. } => "unexpected answer",
            RequestError::Io(_) => "i/o error",
            RequestError::MigrateToChatId(_) => "chat moved",
            _ => "request failed",
        }
    }
}

/// A conversation turn from an update, answering a button press at once.
/// Anything else (edits, stickers, member updates…) gives `None`.
pub async fn incoming(tg: &Telegram, u: Update) -> Option<Incoming> {
    let event = format!("u{}", u.id.0);
    let mut inc = match u.kind {
        UpdateKind::Message(m) => {
            let text = m.text()?.to_string();
            Incoming::new(
                Channel::Telegram,
                &m.chat.id.0.to_string(),
                Input::Text(text),
            )
        }
        UpdateKind::CallbackQuery(q) => {
            // Stops the button's spinner; the answer itself comes as a message.
            if let Err(e) = tg.bot.answer_callback_query(q.id.clone()).await {
                tracing::debug!(error = %classify_log(&e), "answerCallbackQuery failed");
            }
            let chat = q
                .message
                .as_ref()
                .map(|m| m.chat().id.0)
                .unwrap_or(q.from.id.0 as i64);
            let data = q.data?;
            Incoming::new(Channel::Telegram, &chat.to_string(), Input::Button(data))
        }
        _ => return None,
    };
    inc.event_id = Some(event);
    Some(inc)
}

fn classify_log(e: &RequestError) -> String {
    match e {
        RequestError::Network(n) => n.without_url_ref(),
        RequestError::Api(a) => a.to_string(),
        other => other.kind_str().to_string(),
    }
}

/// A webhook body (already verified) as a conversation turn.
pub async fn incoming_from_json(app: &Arc<App>, payload: &[u8]) -> Option<Incoming> {
    let u: Update = match serde_json::from_slice(payload) {
        Ok(u) => u,
        Err(_) => {
            tracing::debug!("Telegram update ignored: not understood");
            return None;
        }
    };
    let tg = Telegram::shared(&app.cfg).ok().flatten()?;
    incoming(&tg, u).await
}

/// Long polling until `stop`: each update becomes a conversation turn
/// (one transaction each; the answer is queued and the worker woken).
pub async fn poll(app: Arc<App>, tg: Arc<Telegram>, mut stop: watch::Receiver<bool>) {
    // getUpdates does not work while a webhook is set.
    if let Err(e) = tg.bot.delete_webhook().await {
        tracing::warn!(error = %classify_log(&e), "Telegram deleteWebhook failed");
    }
    match tg.bot.get_me().await {
        Ok(me) => tracing::info!(bot = %me.username(), "Telegram long polling started"),
        Err(e) => tracing::warn!(error = %classify_log(&e), "Telegram getMe failed"),
    }
    let mut offset: i32 = 0;
    let mut failures: u32 = 0;
    loop {
        let req = tg
            .bot
            .get_updates()
            .offset(offset)
            .timeout(POLL_TIMEOUT)
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let r = tokio::select! {
            r = req => r,
            _ = stop.changed() => return,
        };
        match r {
            Ok(updates) => {
                failures = 0;
                for u in updates {
                    offset = offset.max(u.id.0 as i32 + 1);
                    if let Some(inc) = incoming(&tg, u).await
                        && let Err(e) = chat::receive(&app, inc).await
                    {
                        tracing::warn!(error = %e, "Telegram message not processed");
                    }
                }
            }
            Err(e) => {
                failures += 1;
                let wait = crate::sms::backoff(failures).min(60) as u64;
                tracing::warn!(error = %classify_log(&e), wait, "Telegram getUpdates failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// The webhook address Telegram calls in webhook mode.
/// A message's text as Telegram gets it (HTML, cut to fit); also the
/// console's preview.
pub fn message_html(text: &str) -> String {
    super::to_html(&chat::truncate(text, MAX_TEXT))
}

/// A button's label as Telegram gets it (one button per row).
pub fn button_label(label: &str) -> String {
    chat::truncate(label, 60)
}

pub fn webhook_url(cfg: &Config) -> String {
    format!("{}/webhooks/telegram", cfg.public_url)
}

/// Webhook mode: registers the webhook with its secret, retrying until it
/// is accepted.
pub async fn register_webhook(app: Arc<App>, tg: Arc<Telegram>, mut stop: watch::Receiver<bool>) {
    let Some(secret) = app.cfg.telegram_webhook_secret.clone() else {
        return;
    };
    let Ok(url) = reqwest::Url::parse(&webhook_url(&app.cfg)) else {
        tracing::error!("MOTCUA_PUBLIC_URL does not make a valid Telegram webhook URL");
        return;
    };
    let mut failures = 0;
    loop {
        let req = tg
            .bot
            .set_webhook(url.clone())
            .secret_token(secret.clone())
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        match req.await {
            Ok(_) => {
                tracing::info!(url = %url, "Telegram webhook registered");
                return;
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %classify_log(&e), "Telegram setWebhook failed");
            }
        }
        let wait = crate::sms::backoff(failures).min(300) as u64;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(wait)) => {}
            _ = stop.changed() => return,
        }
    }
}
