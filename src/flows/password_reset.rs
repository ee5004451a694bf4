//! Quên mật khẩu: username + captcha → OTP to the account's registered
//! phone → new password. Success ends every session of the account and
//! SMSes a notice.
//!
//! No enumeration: an unknown (or disabled) username gets the same 202 and a
//! decoy flow whose OTP screen behaves the same (see
//! [`otp_flow::issue_silently`](super::otp_flow::issue_silently)); no
//! SMS goes anywhere. The answer never shows the phone number.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::App;
use crate::domain::PasswordContext;
use crate::error::{AppError, AppResult};
use crate::flows::new_password_fields;
use crate::flows::otp_flow::{issue_silently, live_flow, send_code};
use crate::flows::otp_journey::{Journey, queue_notice};
use crate::otp;
use crate::sms::template::Id as Template;
use crate::store::accounts;
use crate::store::audit;
use crate::store::audit::object_label as audit_object;
use crate::store::flows::{FLOWS, Flow, OTP_SENDS};

pub use crate::flows::otp_journey::Started;

pub const KIND: &str = "password_reset";
/// A reset must be finished this long after it starts (seconds).
pub const FLOW_TTL: i64 = 15 * 60;

/// The journey: a code to the account's phone (never shown), then the new
/// password.
pub static JOURNEY: Journey = Journey {
    kind: KIND,
    ttl: FLOW_TTL,
    template: Template::OtpPasswordReset,
    issue,
    shows_phone: false,
    already_verified: "Mã OTP đã được xác thực. Vui lòng đặt mật khẩu mới.",
    not_verified: "Vui lòng xác thực mã OTP trước khi đặt mật khẩu mới.",
};

/// Issues the flow's code: a real one by SMS when the flow has an account,
/// a silent one otherwise. A per-phone cap on a real account is not
/// reported (that would reveal that the account exists): no SMS goes out.
fn issue(app: &App, w: &crate::store::WriteTx, flow: &mut Flow, now: i64) -> AppResult<()> {
    let Some(phone) = flow.phone.clone().filter(|_| flow.username.is_some()) else {
        return issue_silently(w, flow, None, now);
    };
    let cooling = flow.otp.as_ref().is_some_and(|o| o.resend_wait(now) > 0);
    let sends = OTP_SENDS.get(w, &phone)?.unwrap_or_default();
    if !cooling && otp::check_phone_caps(&sends, now).is_err() {
        tracing::info!("password reset code not sent: the phone is over its cap");
        return issue_silently(w, flow, None, now);
    }
    send_code(app, w, flow, now, JOURNEY.template)
}

/// Step 1: username and captcha. The same answer whether or not the account
/// exists.
pub async fn start(
    app: &Arc<App>,
    username: &str,
    captcha_id: &str,
    captcha: &str,
    ip: &str,
) -> AppResult<Started> {
    let captcha = crate::captcha::verify(app, captcha_id, captcha).await;
    let login = username.trim().to_lowercase();
    let mut fields = BTreeMap::new();
    // The format is checked first (it says nothing about who has an
    // account): a username that cannot exist gets a field message instead
    // of a code that never comes.
    if let Err(e) = crate::domain::username::parse(&login) {
        fields.insert("username".to_string(), e.0);
    }
    if let Err(e) = captcha {
        fields.insert("captcha".into(), e.0);
    }
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    JOURNEY
        .start(app, ip, move |app, now, ip| {
            let account = app
                .store
                .read(|r| accounts::find_login(r, &login))?
                .filter(|a| !a.disabled);
            app.store.write(|w| {
                let mut flow = JOURNEY.new_flow(
                    now,
                    account.as_ref().map(|a| a.username.clone()),
                    account.as_ref().map(|a| a.phone.clone()),
                    vec![],
                    &ip,
                );
                issue(app, w, &mut flow, now)?;
                if let Some(a) = &account {
                    audit::record(
                        w,
                        now,
                        &a.username,
                        "password_reset_start",
                        &audit_object(a),
                        &ip,
                        "",
                    )?;
                }
                Ok::<_, AppError>(JOURNEY.started(&flow, now))
            })
        })
        .await
}

/// Step 3: the new password. Ends every session of the account (the epoch
/// moves), clears its lockout, and SMSes a notice to its phone.
pub async fn set_password(
    app: &Arc<App>,
    flow_id: &str,
    password: &str,
    confirm: &str,
    ip: &str,
) -> AppResult<()> {
    let now = app.now();
    let flow = JOURNEY.verified_flow(app, flow_id, now).await?;
    let account = match flow.username {
        Some(u) => {
            app.db(move |app| Ok(app.store.read(|r| accounts::get(r, &u))?))
                .await?
        }
        None => None,
    };
    let Some(account) = account else {
        return Err(JOURNEY.not_verified());
    };
    let ctx = PasswordContext {
        id_number: account.id_number.as_deref(),
        phone: Some(&account.phone),
        full_name: Some(&account.full_name),
        username: Some(&account.username),
    };
    let mut fields = new_password_fields(password, confirm, &ctx);
    if fields.is_empty()
        && app
            .hasher
            .verify(password.to_string(), Some(account.password_hash.clone()))
            .await
    {
        fields.insert(
            "password".into(),
            "Mật khẩu mới phải khác mật khẩu hiện tại.".into(),
        );
    }
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    let hash = app.hasher.try_hash(password.to_string()).await?;
    let fid = flow_id.to_string();
    let ip = ip.to_string();
    app.db(move |app| {
        app.store.write(|w| {
            let flow = live_flow(w, &fid, KIND, now)?;
            let username = flow.username.clone().unwrap_or_default();
            let Some(mut a) = accounts::get(w, &username)?.filter(|_| flow.verified) else {
                return Err(JOURNEY.not_verified());
            };
            FLOWS.delete(w, &flow.id)?;
            a.password_hash = hash.clone();
            a.must_change_password = false;
            a.session_epoch += 1;
            a.failed_logins = 0;
            a.locked_until = 0;
            accounts::put(w, &a)?;
            // The new password counts even past the day's SMS budget: the
            // notice is then skipped (the code came to this same phone).
            queue_notice(app, w, Template::PasswordResetDone, &a.phone, now)?;
            audit::record(
                w,
                now,
                &a.username,
                "password_reset",
                &audit_object(&a),
                &ip,
                "",
            )?;
            Ok(())
        })
    })
    .await?;
    app.sms_wake.notify_one();
    Ok(())
}
