//! Delivery receipts: the provider's final word on a message it accepted
//! ("delivered to the phone" or "failed"), which is what a staff member
//! checks when a citizen says no code arrived (the seed's problem 2).
//!
//! - eSMS calls the `CallbackUrl` we sent with an HTTP GET: `SMSID`,
//!   `SendStatus` (1 pending approval, 2 waiting, 4 rejected, 5 sent,
//!   7 waiting for the carrier's report), `SendSuccess`, `SendFailed`,
//!   `telcoid`, `phonenumber`.
//! - SpeedSMS POSTs JSON `{"type":"report","tranId":…,"phone":"…",
//!   "status":0}` (0 delivered, anything else failed).
//!
//! Both arrive at `/webhooks/sms/<provider>/<MOTCUA_SMS_CALLBACK_SECRET>`
//! (`web::webhooks::sms`); a wrong secret is refused.

use crate::store::sms;
use crate::store::stats;

/// One provider report about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub provider_id: String,
    /// `Some(true)` delivered, `Some(false)` failed, `None` not final yet.
    pub delivered: Option<bool>,
}

/// Reads eSMS's callback query string.
pub fn parse_esms(query: &str) -> Option<Report> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.trim().to_string())
    };
    let id = get("SMSID").filter(|s| !s.is_empty() && s.len() <= 100)?;
    let status = get("SendStatus").unwrap_or_default();
    let n = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let delivered = match status.as_str() {
        "4" => Some(false),
        "5" if n("SendFailed") > 0 => Some(false),
        "5" if n("SendSuccess") > 0 => Some(true),
        "5" => Some(false),
        _ => None,
    };
    Some(Report {
        provider_id: id,
        delivered,
    })
}

/// Reads SpeedSMS's delivery report (other event types give `None`).
pub fn parse_speedsms(body: &[u8]) -> Option<Report> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if v.get("type").and_then(|t| t.as_str()) != Some("report") {
        return None;
    }
    let id = match v.get("tranId")? {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if id.is_empty() || id.len() > 100 {
        return None;
    }
    let status = v.get("status").and_then(|s| {
        s.as_i64()
            .or_else(|| s.as_str().and_then(|t| t.trim().parse().ok()))
    })?;
    Some(Report {
        provider_id: id,
        delivered: Some(status == 0),
    })
}

/// The carrier prefix of a number, for the statistics (`098`, `091`, …).
pub fn prefix(to: &str) -> String {
    to.chars().take(3).collect()
}

/// Applies a final report in the caller's transaction: the message's
/// final status, and the day's counts (`sms_receipt`: delivered/failed;
/// `sms_receipt_prefix`: `<prefix>:delivered` / `<prefix>:failed`).
/// Returns false when the id is unknown or the report was applied before.
pub fn apply(
    w: &crate::store::WriteTx,
    provider: &str,
    report: &Report,
    now: i64,
) -> crate::store::Result<bool> {
    let Some(delivered) = report.delivered else {
        return Ok(false);
    };
    let Some(job) = sms::apply_receipt(w, provider, &report.provider_id, delivered, now)? else {
        return Ok(false);
    };
    let outcome = if delivered { "delivered" } else { "failed" };
    stats::bump(w, now, "sms_receipt", outcome)?;
    stats::bump(
        w,
        now,
        "sms_receipt_prefix",
        &format!("{}:{outcome}", prefix(&job.to)),
    )?;
    Ok(true)
}

/// Records a delivery report (see [`apply`]) durably, on the store pool.
pub async fn record(
    app: &std::sync::Arc<crate::app::App>,
    provider: String,
    report: Report,
) -> crate::error::AppResult<bool> {
    app.db(move |app| {
        let now = app.now();
        Ok(app.store.write(|w| apply(w, &provider, &report, now))?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esms_callbacks_are_read() {
        let q = "SMSID=dc71&SendFailed=0&SendStatus=5&SendSuccess=1&TotalPrice=0&TotalReceiver=1&TotalSent=1&RequestId=1-ab&TypeId=2&telcoid=1&phonenumber=0901888484";
        assert_eq!(
            parse_esms(q),
            Some(Report {
                provider_id: "dc71".into(),
                delivered: Some(true)
            })
        );
        let failed = "SMSID=x&SendFailed=1&SendStatus=5&SendSuccess=0";
        assert_eq!(parse_esms(failed).unwrap().delivered, Some(false));
        assert_eq!(
            parse_esms("SMSID=x&SendStatus=4").unwrap().delivered,
            Some(false)
        );
        assert_eq!(parse_esms("SMSID=x&SendStatus=7").unwrap().delivered, None);
        assert_eq!(parse_esms("SendStatus=5"), None);
    }

    #[test]
    fn speedsms_reports_are_read() {
        let r = parse_speedsms(
            br#"{"type":"report","tranId":123456,"phone":"84912345678","status":0}"#,
        );
        assert_eq!(
            r,
            Some(Report {
                provider_id: "123456".into(),
                delivered: Some(true)
            })
        );
        let f =
            parse_speedsms(br#"{"type":"report","tranId":"7","phone":"84912345678","status":2}"#);
        assert_eq!(f.unwrap().delivered, Some(false));
        assert_eq!(parse_speedsms(br#"{"type":"sms","tranId":1}"#), None);
        assert_eq!(parse_speedsms(b"not json"), None);
    }
}
