//! SpeedSMS (`MOTCUA_SMS_PROVIDER=speedsms`).
//!
//! `POST …/index.php/sms/send` with HTTP Basic authentication (the access
//! token as the user name, `x` as the password) and a JSON body: `to` (a
//! list of numbers, `84…`), `content`, `sms_type` (3: the office's own
//! brandname in `sender`; 4: SpeedSMS's default brandname when no sender
//! is set), `sender`. Success is `{"status":"success","code":"00",
//! "data":{"tranId":…}}`; an error is `{"status":"error","code":"…"}`.
//! Delivery reports arrive as a JSON POST `{"type":"report","tranId":…,
//! "phone":"…","status":0}` (0 = delivered) (see `sms::receipts`).

use serde::Deserialize;

use super::provider::{
    BoxFuture, Message, Outcome, Provider, explain_common, http_status, international,
    transport_error,
};

/// The provider's own endpoint (the default of `MOTCUA_SPEEDSMS_URL`).
pub const DEFAULT_URL: &str = "https://api.speedsms.vn/index.php/sms/send";

pub struct SpeedSms {
    pub url: String,
    pub token: String,
    pub sender: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    status: Option<String>,
    code: Option<serde_json::Value>,
    data: Option<AnswerData>,
}

#[derive(Deserialize)]
struct AnswerData {
    #[serde(rename = "tranId")]
    tran_id: Option<serde_json::Value>,
}

fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What SpeedSMS's error `code` means for us (its list of error codes).
pub fn classify(code: &str) -> Outcome {
    let code_s = code.to_string();
    match code {
        // Invalid phone number: never deliverable.
        "105" => Outcome::GiveUp { code: code_s },
        // IP locked, account blocked, API not allowed, invalid parameters
        // (sender), encoding not supported, content too long, balance.
        "007" | "008" | "009" | "101" | "110" | "113" | "300" => Outcome::Config { code: code_s },
        // 500: internal error, try again; anything unknown likewise.
        _ => Outcome::Retry { code: code_s },
    }
}

impl Provider for SpeedSms {
    fn name(&self) -> &'static str {
        "speedsms"
    }

    fn send<'a>(&'a self, client: &'a reqwest::Client, msg: &'a Message) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let (sms_type, sender) = match &self.sender {
                Some(s) => (3, s.as_str()),
                None => (4, ""),
            };
            let body = serde_json::json!({
                "to": [international(&msg.to)],
                "content": msg.text,
                "sms_type": sms_type,
                "sender": sender,
            });
            let r = match client
                .post(&self.url)
                .basic_auth(&self.token, Some("x"))
                .json(&body)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return transport_error(&e),
            };
            let status = r.status();
            if status.as_u16() == 429 {
                return Outcome::Retry {
                    code: "http_429".into(),
                };
            }
            match r.json::<Answer>().await {
                Ok(a) if a.status.as_deref() == Some("success") => Outcome::Accepted {
                    id: a.data.and_then(|d| d.tran_id).map(|t| text_of(&t)),
                },
                Ok(Answer {
                    code: Some(code), ..
                }) => classify(text_of(&code).trim()),
                _ if !status.is_success() => http_status(status),
                _ => Outcome::Retry {
                    code: "bad_answer".into(),
                },
            }
        })
    }

    fn explain(&self, code: &str) -> String {
        let s = match code {
            "007" => "Địa chỉ IP của máy chủ bị SpeedSMS khóa.",
            "008" => "Tài khoản SpeedSMS bị khóa.",
            "009" => "Tài khoản SpeedSMS không được phép gọi API.",
            "101" => {
                "Tham số không hợp lệ (kiểm tra MOTCUA_SPEEDSMS_SENDER: brandname đã đăng ký)."
            }
            "105" => "Số điện thoại không hợp lệ; tin này không gửi được.",
            "110" => {
                "SpeedSMS không hỗ trợ mã hóa nội dung này; thử tắt tiếng Việt có dấu (MOTCUA_SMS_UNICODE=off)."
            }
            "113" => "Nội dung tin nhắn quá dài; rút gọn mẫu tin nhắn.",
            "300" => "Tài khoản SpeedSMS không đủ số dư để gửi tin; vui lòng nạp thêm.",
            "500" => "SpeedSMS gặp lỗi nội bộ; hệ thống sẽ gửi lại.",
            "http_401" => "Sai access token (MOTCUA_SPEEDSMS_TOKEN).",
            _ => return explain_common(code),
        };
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_as_the_list_says() {
        assert!(matches!(classify("105"), Outcome::GiveUp { .. }));
        for c in ["007", "008", "009", "101", "110", "113", "300"] {
            assert!(matches!(classify(c), Outcome::Config { .. }), "{c}");
        }
        assert!(matches!(classify("500"), Outcome::Retry { .. }));
    }
}
