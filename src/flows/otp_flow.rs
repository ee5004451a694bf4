//! Sending and checking the OTP of any flow (shared by every journey).

use std::sync::Arc;

use crate::store::WriteTx;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::otp::{self, OtpState};
use crate::sms;
use crate::store::flows::{FLOWS, Flow, OTP_SENDS};
use crate::store::{Tx, stats};

/// Window of the per-IP cap on anonymous OTP sends (seconds).
pub const IP_WINDOW: i64 = 3600;

/// Counts one code of `template` asked for by an anonymous flow from
/// `ip`: first the day's SMS budget (past it, 429 until the next day and
/// nothing counted), then 429 with `Retry-After` past `otp::PER_IP_HOUR`
/// an hour. Both answer the same whether or not the account exists (no
/// enumeration). Signed-in staff (counter flows, staff sign-in) never pass
/// here, so citizens sharing the office's IP cannot block them.
pub fn take_ip_send(app: &App, ip: &str, template: sms::template::Id, now: i64) -> AppResult<()> {
    app.store
        .read(|r| Ok(sms::check_template_budget(app, r, template, now)))??;
    ip_limited(app.otp_ip_cap.take(ip, now))
}

/// [`take_ip_send`] inside an open write transaction (a second write
/// transaction there would wait for this one forever). The count commits
/// with `w`.
pub fn take_ip_send_in(
    app: &App,
    w: &WriteTx,
    ip: &str,
    template: sms::template::Id,
    now: i64,
) -> AppResult<()> {
    sms::check_template_budget(app, w, template, now)?;
    ip_limited(app.otp_ip_cap.take_in(w, ip, now)?)
}

fn ip_limited(r: Result<(), i64>) -> AppResult<()> {
    r.map_err(|retry_after| AppError::Limited {
        message: format!(
            "Có quá nhiều yêu cầu mã OTP từ địa chỉ này. Vui lòng thử lại sau {retry_after} giây."
        ),
        retry_after,
    })
}

/// The flow if it exists and has not expired; 410 otherwise.
pub fn live_flow(tx: &impl Tx, id: &str, kind: &str, now: i64) -> AppResult<Flow> {
    match FLOWS.get(tx, id)? {
        Some(f) if f.kind == kind && f.expires_at >= now => Ok(f),
        Some(f) if f.kind == kind => Err(AppError::Gone(
            "Phiên làm việc đã hết hạn, vui lòng thực hiện lại từ đầu.".into(),
        )),
        _ => Err(AppError::Gone(
            "Phiên làm việc không tồn tại hoặc đã hết hạn, vui lòng thực hiện lại từ đầu.".into(),
        )),
    }
}

/// Issues (or re-issues) the flow's OTP and queues the SMS from
/// `template`, in `w`. Past the day's SMS budget a citizen-initiated code
/// is refused (429) and, the transaction failing, nothing changes.
pub fn send_code(
    app: &App,
    w: &WriteTx,
    flow: &mut Flow,
    now: i64,
    template: sms::template::Id,
) -> AppResult<()> {
    let phone = flow
        .phone
        .clone()
        .ok_or_else(|| AppError::Internal("flow without phone".into()))?;
    let (state, code) = OtpState::issue(flow.otp.as_ref(), &app.key, &flow.id, now)?;
    let sends = OTP_SENDS.get(w, &phone)?.unwrap_or_default();
    let sends = otp::check_phone_caps(&sends, now)?;
    OTP_SENDS.put(w, &phone, &sends)?;
    flow.otp = Some(state);
    FLOWS.put(w, &flow.id, flow)?;
    sms::queue(
        app,
        w,
        template,
        &phone,
        &sms::template::Vars::new().with(sms::template::MA_OTP.name, code),
        now,
    )?;
    stats::bump(w, now, "otp_sent", &flow.kind)?;
    Metrics::inc(&app.metrics.otp_sent_total);
    Ok(())
}

/// Checks a typed code against the flow; the flow's state (tries) is saved
/// either way. Returns Ok(true) when right.
pub fn check_code(
    app: &App,
    w: &WriteTx,
    flow: &mut Flow,
    code: &str,
    now: i64,
) -> AppResult<Result<(), otp::OtpError>> {
    // A code that is not 6 digits is a typing slip, not a guess: it is
    // refused before the state is touched, so it spends no try.
    let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::field(
            "otp",
            "Vui lòng nhập đủ 6 chữ số của mã OTP.",
        ));
    }
    let Some(state) = flow.otp.as_mut() else {
        return Ok(Err(otp::OtpError::NotSent));
    };
    let r = state.verify(&app.key, &flow.id, code, now);
    match &r {
        Ok(()) => {
            flow.verified = true;
            Metrics::inc(&app.metrics.otp_verified_total);
            stats::bump(w, now, "otp_verified", &flow.kind)?;
        }
        Err(crate::otp::OtpError::Expired) => stats::bump(w, now, "otp_expired", &flow.kind)?,
        Err(_) => {
            Metrics::inc(&app.metrics.otp_failed_total);
            stats::bump(w, now, "otp_failed", &flow.kind)?;
        }
    }
    FLOWS.put(w, &flow.id, flow)?;
    Ok(r)
}

/// Step "type the code" of a portal flow (registration, password reset): a
/// wrong try is committed, then reported; an already verified flow passes.
pub async fn verify_flow_otp(
    app: &Arc<App>,
    flow_id: &str,
    kind: &'static str,
    code: &str,
) -> AppResult<()> {
    let now = app.now();
    let flow_id = flow_id.to_string();
    let code = code.to_string();
    app.db(move |app| {
        app.store.write(|w| {
            let mut flow = live_flow(w, &flow_id, kind, now)?;
            if flow.verified {
                return Ok(Ok(()));
            }
            Ok::<_, AppError>(check_code(app, w, &mut flow, &code, now)?.map_err(AppError::from))
        })?
    })
    .await
}
