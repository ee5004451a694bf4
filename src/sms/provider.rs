//! The gateway seam: one small module per SMS provider behind [`Provider`].
//! A provider turns one message into one HTTP call and reads the answer
//! into an [`Outcome`]; the worker (`sms::Worker`) decides what happens
//! next (retry with backoff, give up, or hold and alert the admin).

use std::future::Future;
use std::pin::Pin;

/// One message as a provider sends it.
#[derive(Debug, Clone)]
pub struct Message {
    /// Our unique id: sent as the provider's request id where it has one,
    /// so a retry after a lost answer is not sent twice.
    pub uid: String,
    /// `0xxxxxxxxx`.
    pub to: String,
    /// The text as it goes out (already unaccented when unicode is off).
    pub text: String,
    /// Whether `text` needs UCS-2.
    pub unicode: bool,
    /// Where the provider should report the final status, if anywhere.
    pub callback_url: Option<String>,
}

/// What a provider said about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Taken by the provider; `id` is its message id (delivery receipts
    /// name it).
    Accepted { id: Option<String> },
    /// Try again later: network, timeout, 5xx, rate limit, the provider's
    /// own internal error.
    Retry { code: String },
    /// This message can never go (invalid or blocked number): stop.
    GiveUp { code: String },
    /// The deployment is misconfigured (bad key, unregistered brandname or
    /// template, no balance, IP not allowed): retried rarely, shown to the
    /// province admin once until it is fixed.
    Config { code: String },
}

impl Outcome {
    pub fn code(&self) -> Option<&str> {
        match self {
            Outcome::Accepted { .. } => None,
            Outcome::Retry { code } | Outcome::GiveUp { code } | Outcome::Config { code } => {
                Some(code)
            }
        }
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An SMS gateway.
pub trait Provider: Send + Sync {
    /// The name used in settings, logs and the receipt route.
    fn name(&self) -> &'static str;
    /// Sends one message.
    fn send<'a>(&'a self, client: &'a reqwest::Client, msg: &'a Message) -> BoxFuture<'a, Outcome>;
    /// A Vietnamese explanation of one of this provider's codes, for the
    /// province admin's SMS page.
    fn explain(&self, code: &str) -> String {
        explain_common(code)
    }
}

/// Explanations shared by every provider (transport-level codes).
pub fn explain_common(code: &str) -> String {
    match code {
        "timeout" => {
            "Nhà cung cấp không trả lời kịp (quá thời gian chờ); hệ thống sẽ gửi lại.".into()
        }
        "unreachable" => "Không kết nối được tới nhà cung cấp; hệ thống sẽ gửi lại.".into(),
        "bad_answer" => "Nhà cung cấp trả lời không đúng định dạng; hệ thống sẽ gửi lại.".into(),
        c if c.starts_with("http_") => format!(
            "Nhà cung cấp trả lời mã HTTP {}; hệ thống sẽ gửi lại.",
            &c[5..]
        ),
        c => format!("Mã lỗi {c} của nhà cung cấp."),
    }
}

/// Reads a transport error into a retry code.
pub fn transport_error(e: &reqwest::Error) -> Outcome {
    let code = if e.is_timeout() {
        "timeout"
    } else if e.is_decode() {
        "bad_answer"
    } else {
        "unreachable"
    };
    Outcome::Retry { code: code.into() }
}

/// Reads a non-2xx status without a readable body into an outcome:
/// 401/403 are configuration, other 4xx give up on nothing but are
/// retried (the provider may be misbehaving), 5xx and 429 retry.
pub fn http_status(status: reqwest::StatusCode) -> Outcome {
    let code = format!("http_{}", status.as_u16());
    match status.as_u16() {
        401 | 403 => Outcome::Config { code },
        _ => Outcome::Retry { code },
    }
}

/// `0xxxxxxxxx` → `84xxxxxxxxx`.
pub fn international(to: &str) -> String {
    match to.strip_prefix('0') {
        Some(rest) => format!("84{rest}"),
        None => to.to_string(),
    }
}

/// `84xxxxxxxxx` / `+84…` → `0xxxxxxxxx` (receipts name numbers either way).
pub fn national(number: &str) -> String {
    let d: String = number.chars().filter(char::is_ascii_digit).collect();
    match d.strip_prefix("84") {
        Some(rest) if d.len() == 11 => format!("0{rest}"),
        _ => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_convert_both_ways() {
        assert_eq!(international("0912345678"), "84912345678");
        assert_eq!(national("84912345678"), "0912345678");
        assert_eq!(national("+84 912 345 678"), "0912345678");
        assert_eq!(national("0912345678"), "0912345678");
    }

    #[test]
    fn http_statuses_are_classified() {
        assert!(matches!(
            http_status(reqwest::StatusCode::UNAUTHORIZED),
            Outcome::Config { .. }
        ));
        assert!(matches!(
            http_status(reqwest::StatusCode::BAD_GATEWAY),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            http_status(reqwest::StatusCode::TOO_MANY_REQUESTS),
            Outcome::Retry { .. }
        ));
    }
}
