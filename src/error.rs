//! The one error type the use cases return; each variant maps to one HTTP
//! status and one stable `code` (api.md). Unexpected causes are logged, never
//! shown.

use std::collections::BTreeMap;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    Invalid {
        message: String,
        fields: BTreeMap<String, String>,
    },
    #[error("Vui lòng đăng nhập.")]
    Unauthorized,
    #[error("Tên đăng nhập hoặc mật khẩu không đúng.")]
    BadCredentials,
    #[error("Anh/chị không có quyền thực hiện chức năng này.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedType(String),
    #[error("{message}")]
    Limited { message: String, retry_after: i64 },
    #[error("Hệ thống đang gặp sự cố, vui lòng thử lại sau.")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::Invalid {
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        let message = message.into();
        AppError::Invalid {
            fields: BTreeMap::from([(field.to_string(), message.clone())]),
            message,
        }
    }

    pub fn fields(fields: BTreeMap<String, String>) -> AppError {
        AppError::Invalid {
            message: "Thông tin nhập chưa hợp lệ, vui lòng kiểm tra lại.".into(),
            fields,
        }
    }

    pub fn not_found() -> AppError {
        AppError::NotFound("Không tìm thấy dữ liệu yêu cầu.".into())
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } => 400,
            AppError::Unauthorized | AppError::BadCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Gone(_) => 410,
            AppError::TooLarge(_) => 413,
            AppError::UnsupportedType(_) => 415,
            AppError::Limited { .. } => 429,
            AppError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
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

    pub fn field_map(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            AppError::Invalid { fields, .. } if !fields.is_empty() => Some(fields),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<i64> {
        match self {
            AppError::Limited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// The JSON body of api.md.
    pub fn body(&self) -> serde_json::Value {
        let mut e = serde_json::json!({"code": self.code(), "message": self.to_string()});
        if let Some(f) = self.field_map() {
            e["fields"] = serde_json::json!(f);
        }
        serde_json::json!({ "error": e })
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        AppError::Internal(e.to_string())
    }
}

impl From<crate::otp::OtpError> for AppError {
    fn from(e: crate::otp::OtpError) -> Self {
        use crate::otp::OtpError as O;
        match e {
            O::Cooldown { retry_after } | O::PhoneCap { retry_after } => AppError::Limited {
                message: e.to_string(),
                retry_after,
            },
            O::Expired | O::Dead | O::FlowDead | O::Used => AppError::field("otp", e.to_string()),
            O::Wrong { .. } | O::NotSent => AppError::field("otp", e.to_string()),
        }
    }
}

impl From<crate::domain::Invalid> for AppError {
    fn from(e: crate::domain::Invalid) -> Self {
        AppError::invalid(e.0)
    }
}
