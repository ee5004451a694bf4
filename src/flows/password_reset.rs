//! Quên mật khẩu: username + captcha → OTP to the account's registered
//! phone → new password. Success ends every session of the account and
//! SMSes a notice.
//!
//! No enumeration: an unknown (or disabled) username gets the same 202 and a
//! decoy flow whose OTP screen behaves the same (see
//! [`registration::issue_silently`](super::registration::issue_silently)); no
//! SMS goes anywhere. The answer never shows the phone number.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::App;
use crate::domain::{Password, PasswordContext};
use crate::error::{AppError, AppResult};
use crate::flows::admin::password_error;
use crate::flows::otp_flow::{live_flow, send_code, take_ip_send, take_ip_send_in};
use crate::flows::registration::{audit_object, issue_silently};
use crate::otp;
use crate::sms::template::{Id as Template, THOI_GIAN, Vars};
use crate::store::accounts;
use crate::store::audit;
use crate::store::flows::{FLOWS, Flow, OTP_SENDS};
use crate::util;

pub const KIND: &str = "password_reset";
/// A reset must be finished this long after it starts (seconds).
pub const FLOW_TTL: i64 = 15 * 60;

#[derive(Debug, Clone)]
pub struct Started {
    pub flow_id: String,
    /// Seconds until a new code may be asked for.
    pub resend_in: i64,
    pub expires_in: i64,
}

fn started(flow: &Flow, now: i64) -> Started {
    Started {
        flow_id: flow.id.clone(),
        resend_in: flow.otp.as_ref().map_or(0, |o| o.resend_wait(now)),
        expires_in: (flow.expires_at - now).max(0),
    }
}

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
    send_code(app, w, flow, now, Template::OtpPasswordReset)
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
    let captcha = crate::captcha::verify(app, captcha_id, captcha);
    let login = username.trim().to_lowercase();
    let mut fields = BTreeMap::new();
    // The format is checked first (it says nothing about who has an
    // account): a username that cannot exist gets a field message instead
    // of a code that never comes.
    if let Err(e) = crate::flows::admin::parse_username(&login) {
        fields.insert("username".to_string(), e.0);
    }
    if let Err(e) = captcha {
        fields.insert("captcha".into(), e.0);
    }
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    let now = app.now();
    take_ip_send(app, ip, Template::OtpPasswordReset, now)?;
    let ip = ip.to_string();
    let r = app
        .db(move |app| {
            let account = app
                .store
                .read(|r| accounts::find_login(r, &login))?
                .filter(|a| !a.disabled);
            app.store.write(|w| {
                let mut flow = Flow {
                    id: util::random_token(),
                    kind: KIND.into(),
                    created_at: now,
                    expires_at: now + FLOW_TTL,
                    username: account.as_ref().map(|a| a.username.clone()),
                    phone: account.as_ref().map(|a| a.phone.clone()),
                    otp: None,
                    verified: false,
                    payload: vec![],
                    ip: ip.clone(),
                };
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
                Ok::<_, AppError>(started(&flow, now))
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(r)
}

/// A new code after the cooldown.
pub async fn resend(app: &Arc<App>, flow_id: &str) -> AppResult<Started> {
    let now = app.now();
    let flow_id = flow_id.to_string();
    let r = app
        .db(move |app| {
            app.store.write(|w| {
                let mut flow = live_flow(w, &flow_id, KIND, now)?;
                if flow.verified {
                    return Err(AppError::Conflict(
                        "Mã OTP đã được xác thực. Vui lòng đặt mật khẩu mới.".into(),
                    ));
                }
                take_ip_send_in(app, w, &flow.ip, Template::OtpPasswordReset, now)?;
                issue(app, w, &mut flow, now)?;
                Ok(started(&flow, now))
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(r)
}

/// What the pages show for a live flow (410 otherwise): the flow and whether
/// its OTP step is done.
pub async fn describe(app: &Arc<App>, flow_id: &str) -> AppResult<(Started, bool)> {
    let now = app.now();
    let flow_id = flow_id.to_string();
    app.db(move |app| {
        let flow = app
            .store
            .read(|r| Ok(live_flow(r, &flow_id, KIND, now)))??;
        Ok((started(&flow, now), flow.verified))
    })
    .await
}

/// Step 2: the OTP.
pub async fn verify_otp(app: &Arc<App>, flow_id: &str, code: &str) -> AppResult<()> {
    crate::flows::otp_flow::verify_flow_otp(app, flow_id, KIND, code).await
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
    let fid = flow_id.to_string();
    let (flow, account) = app
        .db(move |app| {
            app.store.read(|r| {
                let flow = match live_flow(r, &fid, KIND, now) {
                    Ok(f) => f,
                    Err(e) => return Ok(Err(e)),
                };
                let account = match &flow.username {
                    Some(u) => accounts::get(r, u)?,
                    None => None,
                };
                Ok(Ok((flow, account)))
            })?
        })
        .await?;
    let (true, Some(account)) = (flow.verified, account) else {
        return Err(AppError::Conflict(
            "Vui lòng xác thực mã OTP trước khi đặt mật khẩu mới.".into(),
        ));
    };
    let ctx = PasswordContext {
        id_number: account.id_number.as_deref(),
        phone: Some(&account.phone),
        full_name: Some(&account.full_name),
        username: Some(&account.username),
    };
    let mut fields = BTreeMap::new();
    if let Err(rules) = Password::parse(password, &ctx) {
        fields.insert("password".to_string(), password_error(&rules));
    }
    if password != confirm {
        fields.insert(
            "password_confirm".into(),
            "Mật khẩu xác nhận không khớp.".into(),
        );
    }
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
    let hash = app
        .hasher
        .hash(password.to_string())
        .await
        .ok_or_else(|| AppError::Internal("hash failed".into()))?;
    let fid = flow_id.to_string();
    let ip = ip.to_string();
    app.db(move |app| {
        app.store.write(|w| {
            let flow = live_flow(w, &fid, KIND, now)?;
            let username = flow.username.clone().unwrap_or_default();
            let Some(mut a) = accounts::get(w, &username)?.filter(|_| flow.verified) else {
                return Err(AppError::Conflict(
                    "Vui lòng xác thực mã OTP trước khi đặt mật khẩu mới.".into(),
                ));
            };
            FLOWS.delete(w, &flow.id)?;
            a.password_hash = hash;
            a.must_change_password = false;
            a.session_epoch += 1;
            a.failed_logins = 0;
            a.locked_until = 0;
            accounts::put(w, &a)?;
            // The new password counts even past the day's SMS budget: the
            // notice is then skipped (the code came to this same phone).
            match crate::sms::queue(
                app,
                w,
                Template::PasswordResetDone,
                &a.phone,
                &Vars::new().with(THOI_GIAN.name, util::fmt_time(now)),
                now,
            ) {
                Err(AppError::Limited { .. }) => {}
                r => {
                    r?;
                }
            }
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
