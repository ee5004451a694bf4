//! The one error type the use cases return. Each variant is one kind of
//! answer; `web::status` maps it to an HTTP status and api.md's `code` (the
//! only table of them). An unexpected failure keeps its cause chain
//! ([`Internal`]), which is logged, never shown.

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
    Internal(#[source] Internal),
}

/// What went wrong inside, with the error that caused it (if any).
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct Internal {
    pub context: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// `e` and its causes, `: `-joined (for logs).
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
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

    /// An unexpected failure described by `context` alone.
    pub fn internal(context: impl Into<String>) -> AppError {
        AppError::Internal(Internal {
            context: context.into(),
            source: None,
        })
    }

    /// An unexpected failure while doing `context`, caused by `source`.
    pub fn internal_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> AppError {
        AppError::Internal(Internal {
            context: context.into(),
            source: Some(Box::new(source)),
        })
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
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::internal_from("store", e)
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
