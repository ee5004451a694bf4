//! `/webhooks/sms/<provider>/<secret>`: delivery receipts of the SMS
//! provider (`sms::receipts`). Enabled by `MOTCUA_SMS_CALLBACK_SECRET`;
//! the secret in the path must match (compared in constant time), else
//! 403 and nothing changes. The provider in the path must be the one in
//! use. Always answers quickly: one small write.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, IntoResponse, Request, Response, handler};

use crate::app::App;
use crate::sms::receipts;

/// Largest receipt body read.
const MAX_BODY: usize = 16 * 1024;

fn answer(status: StatusCode, code: &str, message: &str) -> Response {
    let body = if status.is_success() {
        serde_json::json!({"status": "ok"})
    } else {
        serde_json::json!({"error": {"code": code, "message": message}})
    };
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

#[handler]
pub async fn receipt(
    req: &Request,
    Path((provider, secret)): Path<(String, String)>,
    body: Body,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(expected) = app.cfg.sms.callback_secret.as_deref() else {
        return answer(
            StatusCode::NOT_FOUND,
            "not_found",
            "Chức năng nhận báo cáo gửi tin chưa được bật.",
        );
    };
    if !crate::util::ct_eq(secret.as_bytes(), expected.as_bytes()) {
        tracing::warn!(provider = %provider, "sms receipt refused: wrong secret");
        return answer(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Không có quyền truy cập.",
        );
    }
    if provider != app.cfg.sms_provider.name() {
        return answer(
            StatusCode::NOT_FOUND,
            "not_found",
            "Nhà cung cấp này không được sử dụng.",
        );
    }
    let report = match provider.as_str() {
        "esms" => receipts::parse_esms(req.uri().query().unwrap_or("")),
        "speedsms" => match body.into_bytes_limit(MAX_BODY).await {
            Ok(b) => receipts::parse_speedsms(&b),
            Err(_) => {
                return answer(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "Dữ liệu gửi lên quá lớn.",
                );
            }
        },
        _ => None,
    };
    let Some(report) = report else {
        // Events we do not read (incoming messages, …) are acknowledged.
        return answer(StatusCode::OK, "", "");
    };
    let applied = receipts::record(app, provider, report).await;
    match applied {
        Ok(_) => answer(StatusCode::OK, "", ""),
        Err(e) => {
            tracing::error!(error = %e, "sms receipt not recorded");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}
