//! Zalo Official Account: events come to `POST /webhooks/zalo` (verified
//! here, acknowledged at once, processed in the background; see
//! docs/design/webhooks.md); answers go out through the durable queue with
//! `POST {MOTCUA_ZALO_API_URL}/v3.0/oa/message/cs`. When Zalo says the
//! access token expired (error -216) and refresh settings are given, the
//! token is refreshed once and the new pair is kept in the database.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::SendError;
use crate::app::App;
use crate::config::Config;
use crate::domain::Channel;
use crate::flows::chat::{self, Incoming, Input};
use crate::store::outbox::{self, OutJob, StoredTokens};
use crate::util;

/// Zalo's limit for a text message.
pub const MAX_TEXT: usize = 2000;
/// Events whose timestamp is further than this from our clock are refused.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;
/// Zalo's code for an expired or invalid access token.
pub const TOKEN_EXPIRED: i64 = -216;
const TOKENS_KEY: &str = "zalo";

/// Why a webhook call is refused (nothing is processed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The channel is not configured.
    NotEnabled,
    /// No `X-ZEvent-Signature: mac=…` header.
    Missing,
    /// The body is not a Zalo event.
    Malformed,
    /// The signature (or the app id) does not match.
    Bad,
    /// The timestamp is too old or in the future.
    Stale,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::NotEnabled => "channel not enabled",
            Refusal::Missing => "missing signature",
            Refusal::Malformed => "malformed event",
            Refusal::Bad => "bad signature",
            Refusal::Stale => "stale event",
        }
    }
}

/// The event's timestamp exactly as it is signed (Zalo sends milliseconds,
/// as a string or a number).
fn timestamp_text(v: &Value) -> Option<String> {
    match &v["timestamp"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The expected signature: hex SHA-256 of app id + raw body + timestamp +
/// OA secret (api.md).
/// A message as Zalo gets it: plain text cut to fit, then the numbered
/// buttons; also the console's preview.
pub fn message_text(text: &str, buttons: &[super::Button], lang: &str) -> String {
    let tail = super::to_plain("", buttons, lang);
    let room = MAX_TEXT.saturating_sub(tail.chars().count()).max(100);
    super::to_plain(&chat::truncate(text, room), buttons, lang)
}

pub fn signature(app_id: &str, body: &[u8], timestamp: &str, oa_secret: &str) -> String {
    let mut data =
        Vec::with_capacity(app_id.len() + body.len() + timestamp.len() + oa_secret.len());
    data.extend_from_slice(app_id.as_bytes());
    data.extend_from_slice(body);
    data.extend_from_slice(timestamp.as_bytes());
    data.extend_from_slice(oa_secret.as_bytes());
    util::sha256_hex(&data)
}

/// Checks a webhook call over its raw body; returns the parsed event.
pub fn verify(
    cfg: &Config,
    header: Option<&str>,
    body: &[u8],
    now_ms: i64,
) -> Result<Value, Refusal> {
    let (Some(app_id), Some(secret)) = (&cfg.zalo_app_id, &cfg.zalo_oa_secret) else {
        return Err(Refusal::NotEnabled);
    };
    let given = header
        .map(str::trim)
        .and_then(|h| h.strip_prefix("mac="))
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .ok_or(Refusal::Missing)?;
    let v: Value = serde_json::from_slice(body).map_err(|_| Refusal::Malformed)?;
    let ts = timestamp_text(&v).ok_or(Refusal::Malformed)?;
    let expected = signature(app_id, body, &ts, secret);
    if !util::ct_eq(expected.as_bytes(), given.as_bytes()) {
        return Err(Refusal::Bad);
    }
    if let Some(id) = v["app_id"].as_str()
        && id != app_id
    {
        return Err(Refusal::Bad);
    }
    let ms: i64 = ts.trim().parse().map_err(|_| Refusal::Malformed)?;
    if (now_ms - ms).abs() > MAX_SKEW_MS {
        return Err(Refusal::Stale);
    }
    Ok(v)
}

/// True for the events this channel handles (others are acknowledged and
/// ignored).
pub fn handled(v: &Value) -> bool {
    v["event_name"].as_str() == Some("user_send_text")
}

/// A verified `user_send_text` event as a conversation turn.
pub fn incoming(payload: &[u8]) -> Option<Incoming> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    if !handled(&v) {
        return None;
    }
    let user = v["sender"]["id"].as_str()?;
    let text = v["message"]["text"].as_str()?.to_string();
    let mut inc = Incoming::new(Channel::Zalo, user, Input::Text(text));
    inc.event_id = v["message"]["msg_id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| timestamp_text(&v).map(|t| format!("{user}-{t}")));
    Some(inc)
}

#[derive(Debug, Clone)]
struct Tokens {
    access: String,
    refresh: Option<String>,
}

/// The lease of the one instance refreshing the Zalo token.
const REFRESH_LEASE: &str = "zalo-refresh";

pub struct Zalo {
    api_url: String,
    oauth_url: String,
    app_id: String,
    app_secret: Option<String>,
    client: reqwest::Client,
    tokens: tokio::sync::Mutex<Tokens>,
    /// Fingerprint of the configured tokens (see `StoredTokens::source`).
    source: String,
}

impl Zalo {
    /// The channel when app id, OA secret and access token are set. Tokens
    /// refreshed earlier (kept in the database) win over the configured
    /// ones, unless the operator has configured new ones since.
    pub fn from_config(app: &App) -> Option<Zalo> {
        let cfg = &app.cfg;
        let (Some(app_id), Some(_), Some(access)) = (
            cfg.zalo_app_id.clone(),
            cfg.zalo_oa_secret.as_ref(),
            cfg.zalo_access_token.clone(),
        ) else {
            return None;
        };
        let source = util::sha256_hex(
            format!(
                "{access}\n{}",
                cfg.zalo_refresh_token.as_deref().unwrap_or("")
            )
            .as_bytes(),
        );
        let stored = app
            .store
            .read(|r| outbox::tokens(r, TOKENS_KEY))
            .ok()
            .flatten()
            .filter(|t| t.source == source);
        let tokens = match stored {
            Some(t) => Tokens {
                access: t.access_token,
                refresh: t.refresh_token,
            },
            None => Tokens {
                access,
                refresh: cfg.zalo_refresh_token.clone(),
            },
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Some(Zalo {
            api_url: cfg.zalo_api_url.clone(),
            oauth_url: cfg.zalo_oauth_url.clone(),
            app_id,
            app_secret: cfg.zalo_app_secret.clone(),
            client,
            tokens: tokio::sync::Mutex::new(tokens),
            source,
        })
    }

    /// The message text: body cut to fit, then the numbered buttons.
    fn render(job: &OutJob) -> String {
        message_text(&job.text, &job.buttons, &job.lang)
    }

    /// One call of the OA message API; Zalo's `error` code (0 = sent).
    async fn post(&self, token: &str, job: &OutJob) -> Result<i64, SendError> {
        let body = serde_json::json!({
            "recipient": {"user_id": job.peer},
            "message": {"text": Self::render(job)},
        });
        let r = self
            .client
            .post(format!("{}/v3.0/oa/message/cs", self.api_url))
            .header("access_token", token)
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::Retry {
                error: format!("Zalo unreachable: {}", e.without_url()),
                after: None,
            })?;
        let status = r.status();
        if !status.is_success() {
            return Err(SendError::Retry {
                error: format!("Zalo answered {status}"),
                after: None,
            });
        }
        let v: Value = r.json().await.map_err(|_| SendError::Retry {
            error: "Zalo answered something unexpected".into(),
            after: None,
        })?;
        Ok(v["error"].as_i64().unwrap_or(0))
    }

    /// Sends one queued message, refreshing an expired token once.
    pub async fn send(&self, app: &Arc<App>, job: &OutJob) -> Result<(), SendError> {
        let token = self.tokens.lock().await.access.clone();
        let mut code = self.post(&token, job).await?;
        if code == TOKEN_EXPIRED {
            self.refresh(app, &token)
                .await
                .map_err(|error| SendError::Retry { error, after: None })?;
            let token = self.tokens.lock().await.access.clone();
            code = self.post(&token, job).await?;
        }
        match code {
            0 => Ok(()),
            TOKEN_EXPIRED => Err(SendError::Retry {
                error: "Zalo access token still refused after a refresh".into(),
                after: None,
            }),
            c => Err(SendError::Retry {
                error: format!("Zalo error {c}"),
                after: None,
            }),
        }
    }

    /// Exchanges the refresh token for a new pair (unless another send
    /// already did) and keeps it in the database.
    ///
    /// With several instances on one database a refresh token works once:
    /// an instance first takes the pair another one already stored, and
    /// only one refreshes at a time (the lease `zalo-refresh`); the others
    /// wait for its pair.
    async fn refresh(&self, app: &Arc<App>, expired: &str) -> Result<(), String> {
        let mut tokens = self.tokens.lock().await;
        if tokens.access != expired {
            return Ok(());
        }
        if let Some(newer) = self.stored_pair(app, expired).await {
            *tokens = newer;
            return Ok(());
        }
        if !app.store.is_shared() {
            return self.refresh_now(app, &mut tokens).await;
        }
        for _ in 0..40 {
            if crate::workers::take_lease(app, REFRESH_LEASE).await {
                // It may have been refreshed while this one waited.
                let r = match self.stored_pair(app, expired).await {
                    Some(newer) => {
                        *tokens = newer;
                        Ok(())
                    }
                    None => self.refresh_now(app, &mut tokens).await,
                };
                crate::workers::release_lease(app, REFRESH_LEASE).await;
                return r;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let Some(newer) = self.stored_pair(app, expired).await {
                *tokens = newer;
                return Ok(());
            }
        }
        Err("another instance is refreshing the Zalo token".into())
    }

    /// The pair kept in the database when it is newer than `expired` (and
    /// derived from the same configured tokens).
    async fn stored_pair(&self, app: &Arc<App>, expired: &str) -> Option<Tokens> {
        let stored = app
            .db(|app| Ok(app.store.read(|r| outbox::tokens(r, TOKENS_KEY))?))
            .await
            .ok()
            .flatten()?;
        (stored.source == self.source && stored.access_token != expired).then_some(Tokens {
            access: stored.access_token,
            refresh: stored.refresh_token,
        })
    }

    /// Exchanges the refresh token for a new pair and keeps it.
    async fn refresh_now(&self, app: &Arc<App>, tokens: &mut Tokens) -> Result<(), String> {
        let (Some(refresh), Some(secret)) = (tokens.refresh.clone(), self.app_secret.clone())
        else {
            return Err(
                "Zalo access token expired; set MOTCUA_ZALO_REFRESH_TOKEN and MOTCUA_ZALO_APP_SECRET to refresh it"
                    .into(),
            );
        };
        let r = self
            .client
            .post(format!("{}/v4/oa/access_token", self.oauth_url))
            .header("secret_key", secret)
            .form(&[
                ("refresh_token", refresh.as_str()),
                ("app_id", self.app_id.as_str()),
                ("grant_type", "refresh_token"),
            ])
            .send()
            .await
            .map_err(|e| format!("Zalo token refresh unreachable: {}", e.without_url()))?;
        let status = r.status();
        let v: Value = r
            .json()
            .await
            .map_err(|_| format!("Zalo token refresh answered {status}"))?;
        let Some(access) = v["access_token"].as_str().filter(|s| !s.is_empty()) else {
            return Err(format!(
                "Zalo token refresh refused (status {status}, error {})",
                v["error"]
            ));
        };
        let new = Tokens {
            access: access.to_string(),
            refresh: v["refresh_token"]
                .as_str()
                .map(str::to_string)
                .or(tokens.refresh.clone()),
        };
        let stored = StoredTokens {
            access_token: new.access.clone(),
            refresh_token: new.refresh.clone(),
            source: self.source.clone(),
            updated_at: app.now(),
        };
        app.db(move |app| {
            Ok(app
                .store
                .write(|w| outbox::set_tokens(w, TOKENS_KEY, &stored))?)
        })
        .await
        .map_err(|e| format!("cannot keep the new Zalo tokens: {e}"))?;
        *tokens = new;
        tracing::info!("Zalo access token refreshed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        let mut c = Config::load_from(None, |_| None).unwrap();
        c.zalo_app_id = Some("app1".into());
        c.zalo_oa_secret = Some("s3cret".into());
        c
    }

    #[test]
    fn signature_is_checked_over_the_raw_body() {
        let c = cfg();
        let body = br#"{"app_id":"app1","event_name":"user_send_text","timestamp":"1700000000000","sender":{"id":"u1"},"message":{"text":"hi","msg_id":"m1"}}"#;
        let mac = signature("app1", body, "1700000000000", "s3cret");
        let now = 1_700_000_000_000 + 1000;
        assert!(verify(&c, Some(&format!("mac={mac}")), body, now).is_ok());
        assert_eq!(verify(&c, None, body, now).unwrap_err(), Refusal::Missing);
        assert_eq!(
            verify(&c, Some("mac=00"), body, now).unwrap_err(),
            Refusal::Bad
        );
        // One byte changed in the body.
        let mut other = body.to_vec();
        let at = other.len() - 5;
        other[at] = b'2';
        assert_eq!(
            verify(&c, Some(&format!("mac={mac}")), &other, now).unwrap_err(),
            Refusal::Bad
        );
        assert_eq!(
            verify(&c, Some(&format!("mac={mac}")), body, now + MAX_SKEW_MS + 1).unwrap_err(),
            Refusal::Stale
        );
        let mut off = c.clone();
        off.zalo_oa_secret = None;
        assert_eq!(
            verify(&off, Some(&format!("mac={mac}")), body, now).unwrap_err(),
            Refusal::NotEnabled
        );
    }

    #[test]
    fn only_text_events_become_turns() {
        let t = incoming(br#"{"event_name":"user_send_text","timestamp":"1","sender":{"id":"u1"},"message":{"text":"quen mat khau","msg_id":"m9"}}"#).unwrap();
        assert_eq!(t.peer, "u1");
        assert_eq!(t.event_id.as_deref(), Some("m9"));
        assert!(
            incoming(br#"{"event_name":"follow","timestamp":"1","follower":{"id":"u1"}}"#)
                .is_none()
        );
        assert!(incoming(b"not json").is_none());
    }
}
