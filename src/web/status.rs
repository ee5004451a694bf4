//! The one table from an error to what the web answers: the HTTP status
//! and api.md's stable `code`, for pages and the JSON API alike. Internal
//! failures are logged here, with their whole cause chain.

use poem::http::StatusCode;

use crate::error::{AppError, chain};

pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
        AppError::Unauthorized | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Gone(_) => StatusCode::GONE,
        AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        AppError::Limited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Internal(i) if is_unavailable(i) => {
            tracing::warn!(error = %chain(i), "database unavailable");
            StatusCode::SERVICE_UNAVAILABLE
        }
        AppError::Internal(i) => {
            tracing::error!(error = %chain(i), "internal error");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The Vietnamese message of an error for people and API clients.
pub fn message_of(e: &AppError) -> String {
    match e {
        AppError::Internal(i) if is_unavailable(i) => UNAVAILABLE_MESSAGE.to_string(),
        other => other.to_string(),
    }
}

/// What people read while the database cannot be reached.
pub const UNAVAILABLE_MESSAGE: &str = "Hệ thống tạm thời không kết nối được cơ sở dữ liệu. Thông tin anh/chị đã gửi trước đó vẫn được lưu. Vui lòng thử lại sau ít phút.";

/// Whether the cause is a database that cannot be reached (503, not 500).
fn is_unavailable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if matches!(
            err.downcast_ref::<crate::store::StoreError>(),
            Some(crate::store::StoreError::Unavailable(_))
        ) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// api.md's error `code`.
pub fn code_of(e: &AppError) -> &'static str {
    match e {
        AppError::Invalid { .. } => "invalid_input",
        AppError::Unauthorized => "unauthorized",
        AppError::BadCredentials => "invalid_credentials",
        AppError::Forbidden => "forbidden",
        AppError::NotFound(_) => "not_found",
        AppError::Conflict(_) => "conflict",
        AppError::Gone(_) => "flow_expired",
        AppError::TooLarge(_) => "too_large",
        AppError::UnsupportedType(_) => "unsupported_media_type",
        AppError::Limited { .. } => "rate_limited",
        AppError::Internal(i) if is_unavailable(i) => "unavailable",
        AppError::Internal(_) => "internal",
    }
}

/// The JSON body of api.md.
pub fn body_of(e: &AppError) -> serde_json::Value {
    let mut v = serde_json::json!({"code": code_of(e), "message": message_of(e)});
    if let Some(f) = e.field_map() {
        v["fields"] = serde_json::json!(f);
    }
    serde_json::json!({ "error": v })
}
