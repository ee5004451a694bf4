//! eSMS.vn brandname SMS (`MOTCUA_SMS_PROVIDER=esms`).
//!
//! One message per `POST SendMultipleMessage_V4_post_json/` with a JSON
//! body: `ApiKey`, `SecretKey`, `Brandname`, `Phone`, `Content`,
//! `SmsType` "2" (customer care: the type for OTPs and notices),
//! `IsUnicode` "1"/"0", `RequestId` (our id: a retry of a message that got
//! through answers 124, "duplicate RequestId"), and `CallbackUrl` when
//! receipts are on. Success is `CodeResult` "100" with an `SMSID`.
//! The final status arrives later as an HTTP GET to `CallbackUrl` with
//! `SMSID`, `SendStatus`, `SendSuccess`, `SendFailed`, `telcoid`,
//! `phonenumber` (see `sms::receipts`).

use serde::Deserialize;

use super::provider::{
    BoxFuture, Message, Outcome, Provider, explain_common, http_status, transport_error,
};

/// The provider's own endpoint (the default of `MOTCUA_ESMS_URL`).
pub const DEFAULT_URL: &str =
    "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/";

pub struct Esms {
    pub url: String,
    pub api_key: String,
    pub secret_key: String,
    pub brandname: String,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "CodeResult")]
    code: Option<String>,
    #[serde(rename = "SMSID")]
    sms_id: Option<String>,
}

/// What eSMS's `CodeResult` means for us (its table of error codes).
pub fn classify(code: &str, sms_id: Option<String>) -> Outcome {
    let code_s = code.to_string();
    match code {
        "100" => Outcome::Accepted { id: sms_id },
        // Our RequestId was seen before: an earlier attempt got through
        // and only its answer was lost.
        "124" => Outcome::Accepted { id: sms_id },
        // The number is blocked, or not a phone number: never deliverable.
        "99" | "108" => Outcome::GiveUp { code: code_s },
        // Credentials, price list, balance, brandname, IP whitelist,
        // customer-care template, carrier not registered for the
        // brandname, message type: only the office can fix these.
        "101" | "102" | "103" | "104" | "140" | "146" | "177" | "300" => {
            Outcome::Config { code: code_s }
        }
        _ => Outcome::Retry { code: code_s },
    }
}

impl Provider for Esms {
    fn name(&self) -> &'static str {
        "esms"
    }

    fn send<'a>(&'a self, client: &'a reqwest::Client, msg: &'a Message) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let mut body = serde_json::json!({
                "ApiKey": self.api_key,
                "SecretKey": self.secret_key,
                "Brandname": self.brandname,
                "Phone": msg.to,
                "Content": msg.text,
                "SmsType": "2",
                "IsUnicode": if msg.unicode { "1" } else { "0" },
                "RequestId": msg.uid,
            });
            if let Some(cb) = &msg.callback_url {
                body["CallbackUrl"] = serde_json::Value::String(cb.clone());
            }
            let r = match client.post(&self.url).json(&body).send().await {
                Ok(r) => r,
                Err(e) => return transport_error(&e),
            };
            let status = r.status();
            match r.json::<Answer>().await {
                Ok(Answer {
                    code: Some(code),
                    sms_id,
                }) => classify(code.trim(), sms_id),
                _ if !status.is_success() => http_status(status),
                _ => Outcome::Retry {
                    code: "bad_answer".into(),
                },
            }
        })
    }

    fn explain(&self, code: &str) -> String {
        let s = match code {
            "99" => "Số điện thoại bị chặn trên hệ thống eSMS; tin này không gửi được.",
            "101" => "Sai ApiKey hoặc SecretKey (MOTCUA_ESMS_API_KEY, MOTCUA_ESMS_SECRET_KEY).",
            "102" => "Tài khoản eSMS chưa có bảng giá; liên hệ eSMS.",
            "103" => "Tài khoản eSMS không đủ số dư để gửi tin; vui lòng nạp thêm.",
            "104" => "Brandname chưa đăng ký hoặc viết sai (MOTCUA_ESMS_BRANDNAME).",
            "108" => "Số điện thoại không đúng định dạng; tin này không gửi được.",
            "124" => "Tin trùng RequestId: tin đã được eSMS nhận ở lần gửi trước.",
            "140" => "Địa chỉ IP của máy chủ chưa được eSMS cho phép (whitelist); gửi IP cho eSMS.",
            "146" => {
                "Nội dung không khớp mẫu tin chăm sóc khách hàng đã đăng ký với nhà mạng; sửa mẫu tin nhắn hoặc đăng ký mẫu mới."
            }
            "177" => "Brandname chưa được đăng ký với nhà mạng của số điện thoại này.",
            "300" => "Thiếu loại tin nhắn (SmsType) trong yêu cầu.",
            _ => return explain_common(code),
        };
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_as_the_table_says() {
        assert_eq!(
            classify("100", Some("x".into())),
            Outcome::Accepted {
                id: Some("x".into())
            }
        );
        assert!(matches!(classify("124", None), Outcome::Accepted { .. }));
        assert!(matches!(classify("101", None), Outcome::Config { .. }));
        assert!(matches!(classify("104", None), Outcome::Config { .. }));
        assert!(matches!(classify("146", None), Outcome::Config { .. }));
        assert!(matches!(classify("103", None), Outcome::Config { .. }));
        assert!(matches!(classify("108", None), Outcome::GiveUp { .. }));
        assert!(matches!(classify("99", None), Outcome::GiveUp { .. }));
        assert!(matches!(classify("555", None), Outcome::Retry { .. }));
    }
}
