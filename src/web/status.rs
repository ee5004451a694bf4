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
        AppError::Internal(i) => {
            tracing::error!(error = %chain(i), "internal error");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
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
        AppError::Internal(_) => "internal",
    }
}

/// The JSON body of api.md.
pub fn body_of(e: &AppError) -> serde_json::Value {
    let mut v = serde_json::json!({"code": code_of(e), "message": e.to_string()});
    if let Some(f) = e.field_map() {
        v["fields"] = serde_json::json!(f);
    }
    serde_json::json!({ "error": v })
}
