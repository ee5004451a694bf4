//! Webhooks of the bot channels (docs/design/webhooks.md):
//! - `POST /webhooks/zalo`: `X-ZEvent-Signature: mac=<sha256 hex of app id
//!   + raw body + timestamp + OA secret>`, timestamp within 5 minutes;
//! - `POST /webhooks/telegram` (webhook mode only): Telegram's
//!   `X-Telegram-Bot-Api-Secret-Token` equal to `MOTCUA_TELEGRAM_WEBHOOK_SECRET`.
//!
//! A refused call changes nothing. An accepted event is kept in the inbox
//! (one durable commit), acknowledged with 200, and processed in the
//! background; event types we do not handle are acknowledged and ignored.

pub mod sms;

use std::sync::Arc;
use std::time::Instant;

use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use crate::app::App;
use crate::channels::{self, zalo as zalo_channel};
use crate::domain::Channel;

/// Largest event body accepted.
pub const MAX_BODY: usize = 256 * 1024;

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        serde_json::json!({"error": {"code": code, "message": message}}),
    )
}

fn not_enabled() -> Response {
    refused(
        StatusCode::NOT_FOUND,
        "not_found",
        "Kênh này chưa được bật trên hệ thống.",
    )
}

async fn read_body(body: Body) -> Result<Vec<u8>, Response> {
    body.into_bytes_limit(MAX_BODY)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "Dữ liệu gửi lên quá lớn.",
            )
        })
}

/// Keeps the event, answers, and processes it in the background.
async fn accept(app: &Arc<App>, ch: Channel, body: Vec<u8>, started: Instant) -> Response {
    let Some(id) = channels::accept_event(app, ch, body).await else {
        // Not kept: let the sender retry.
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Hệ thống đang bận, vui lòng gửi lại sau.",
        );
    };
    let a = app.clone();
    tokio::spawn(async move { channels::process_inbox(&a, id).await });
    tracing::debug!(
        channel = ch.as_str(),
        ack_ms = started.elapsed().as_secs_f64() * 1000.0,
        "webhook event accepted"
    );
    json(StatusCode::OK, serde_json::json!({"ok": true}))
}

#[handler]
pub async fn zalo(req: &Request, body: Body, Data(app): Data<&Arc<App>>) -> Response {
    let started = Instant::now();
    if app.cfg.zalo_app_id.is_none() || app.cfg.zalo_oa_secret.is_none() {
        return not_enabled();
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let header = req
        .headers()
        .get("x-zevent-signature")
        .and_then(|v| v.to_str().ok());
    let now_ms = app.now() * 1000 + i64::from(chrono::Utc::now().timestamp_subsec_millis());
    let event = match zalo_channel::verify(&app.cfg, header, &body, now_ms) {
        Ok(v) => v,
        Err(zalo_channel::Refusal::NotEnabled) => return not_enabled(),
        Err(r) => {
            tracing::warn!(reason = r.reason(), ip = %super::client_ip(req), "Zalo webhook refused");
            let status = if r == zalo_channel::Refusal::Missing {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            return refused(status, "invalid_signature", "Chữ ký sự kiện không hợp lệ.");
        }
    };
    if !zalo_channel::handled(&event) {
        tracing::debug!(
            event = event["event_name"].as_str().unwrap_or(""),
            "Zalo event ignored"
        );
        return json(StatusCode::OK, serde_json::json!({"ok": true}));
    }
    accept(app, Channel::Zalo, body, started).await
}

#[handler]
pub async fn telegram(req: &Request, body: Body, Data(app): Data<&Arc<App>>) -> Response {
    let started = Instant::now();
    let (Some(secret), Some(_)) = (&app.cfg.telegram_webhook_secret, &app.cfg.telegram_token)
    else {
        return not_enabled();
    };
    let given = req
        .headers()
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok());
    match given {
        Some(g) if crate::util::ct_eq(g.as_bytes(), secret.as_bytes()) => {}
        other => {
            tracing::warn!(ip = %super::client_ip(req), "Telegram webhook refused");
            let status = if other.is_none() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            return refused(
                status,
                "invalid_secret",
                "Mã bí mật của webhook không đúng.",
            );
        }
    }
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    accept(app, Channel::Telegram, body, started).await
}
