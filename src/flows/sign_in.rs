//! Sign-in: password, then an OTP to the account's phone. One flow for both
//! audiences: the console (staff) and the portal (citizens).

use std::sync::Arc;

use crate::app::App;
use crate::auth::session;
use crate::auth::throttle::{FREE_FAILURES, wait_after};
use crate::error::{AppError, AppResult};
use crate::flows::otp_flow::{check_code, live_flow, send_code};
use crate::metrics::Metrics;
use crate::store::accounts::{self, Account};
use crate::store::flows::{FLOWS, Flow};
use crate::store::{StoreError, audit};
use crate::util;

pub const FLOW_TTL: i64 = 10 * 60;

#[derive(Debug, Clone)]
pub struct Started {
    pub flow_id: String,
    pub phone_masked: String,
    pub resend_in: i64,
}

/// Who signs in: staff to the console, or anybody with an account to the
/// portal. It decides the flow kind, the session's realm and who may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Console,
    Portal,
}

impl Audience {
    pub fn is_console(self) -> bool {
        self == Audience::Console
    }
}

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub account: Account,
}

fn kind(console: bool) -> &'static str {
    if console { "staff_login" } else { "login" }
}

/// The OTP template: a console sign-in is staff-initiated (it goes out
/// past the day's SMS budget), a portal sign-in citizen-initiated.
fn otp_template(console: bool) -> crate::sms::template::Id {
    use crate::sms::template::Id;
    if console {
        Id::OtpConsoleSignIn
    } else {
        Id::OtpPortalSignIn
    }
}

/// Failed passwords on one account from clients without its device cookie
/// (any IP) after which such clients must answer a captcha: the per-account
/// backstop against guessing spread over many IPs. It never refuses the
/// right password (see docs/design/throttles.md).
pub const BACKSTOP: u32 = 10;

/// Who is signing in: the client IP, the raw device cookie if any, and
/// whether a captcha was answered correctly for this attempt.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub device_cookie: Option<String>,
    pub captcha_passed: bool,
}

/// The account a login names (if any), its counter key (the typed login and
/// a fingerprint of the password hash: a new password starts fresh counters;
/// unknown logins are counted like real ones) and the key of this client.
fn keys(
    r: &impl crate::store::Tx,
    login: &str,
    ip: &str,
    device: Option<&str>,
    side: &str,
) -> crate::store::Result<(Option<Account>, String, String)> {
    let account = accounts::find_login(r, login)?;
    let fp = account.as_ref().map_or_else(
        || "-".to_string(),
        |a| util::sha256_hex(a.password_hash.as_bytes())[..12].to_string(),
    );
    let acct = format!("{side}:{}:{fp}", login.to_lowercase());
    let client_key = match device {
        Some(id) => format!("{acct}|dev:{id}"),
        None => format!("{acct}|ip:{ip}"),
    };
    Ok((account, acct, client_key))
}

/// Seconds `login` must still wait from `ip` without a device cookie (for
/// tests and support: the wait is not shown to the client).
pub fn client_wait(app: &App, login: &str, ip: &str, audience: Audience) -> AppResult<i64> {
    let console = audience.is_console();
    let side = if console { "console" } else { "portal" };
    let now = app.now();
    Ok(app.store.read(|r| {
        let (_, _, k) = keys(r, login.trim(), ip, None, side)?;
        Ok((app.signin_throttle.counter_in(r, &k)?.until - now).max(0))
    })?)
}

/// Step 1: the password. Unknown user, wrong password, locked account and
/// (for the console) an account without staff rights all get the same answer
/// in the same time.
/// Field messages for a sign-in form with an empty username or password.
pub fn blank_fields(login: &str, password: &str) -> std::collections::BTreeMap<String, String> {
    let mut f = std::collections::BTreeMap::new();
    if login.trim().is_empty() {
        f.insert(
            "username".to_string(),
            "Vui lòng nhập tên đăng nhập.".to_string(),
        );
    }
    if password.is_empty() {
        f.insert(
            "password".to_string(),
            "Vui lòng nhập mật khẩu.".to_string(),
        );
    }
    f
}

pub async fn start(
    app: &Arc<App>,
    login: &str,
    password: &str,
    ip: &str,
    audience: Audience,
) -> AppResult<Started> {
    let console = audience.is_console();
    let client = Client {
        ip: ip.to_string(),
        device_cookie: None,
        // The portal checks its captcha before calling this.
        captcha_passed: !console,
    };
    start_from(app, login, password, &client, audience).await
}

/// [`start`] with the client's device cookie. Failures count per account
/// and client (the device cookie's id when it is valid for this login, else
/// the IP): a stranger's failures slow the stranger, not the staff member at
/// their usual browser. Clients without the device cookie also count per IP
/// and, past [`BACKSTOP`] on the account, must answer a captcha.
pub async fn start_from(
    app: &Arc<App>,
    login: &str,
    password: &str,
    client: &Client,
    audience: Audience,
) -> AppResult<Started> {
    let console = audience.is_console();
    // Empty fields are a form slip: field messages, no try spent.
    let blanks = blank_fields(login, password);
    if !blanks.is_empty() {
        return Err(AppError::fields(blanks));
    }
    let now = app.now();
    let ip = client.ip.as_str();
    let login = login.trim().to_string();
    let device = client
        .device_cookie
        .as_deref()
        .and_then(|v| crate::auth::device::verify(&app.key, &login, v));
    let trusted = device.is_some();
    // Console and portal sign-ins fail separately per IP: citizens mistyping
    // on the office's kiosks (one IP) must not lock the counter staff out.
    let side = if console { "console" } else { "portal" };
    let ip_key = format!("{side}:{ip}");
    // Keys name the account by what was typed plus a fingerprint of its
    // password hash: a new password (reset, change) starts fresh counters,
    // and unknown logins are counted like real ones (no enumeration).
    let l2 = login.clone();
    let (account, acct, client_key, ip_wait, client_wait, untrusted) = {
        let (ip_key, device) = (ip_key.clone(), device.clone());
        let ip = ip.to_string();
        app.db(move |app| {
            Ok(app.store.read(|r| {
                let (account, acct, client_key) = keys(r, &l2, &ip, device.as_deref(), side)?;
                Ok((
                    app.ip_throttle.counter_in(r, &ip_key)?.until - now,
                    app.signin_throttle.counter_in(r, &client_key)?.until - now,
                    app.untrusted_failures.counter_in(r, &acct)?,
                    account,
                    acct,
                    client_key,
                ))
            })?)
        })
        .await
        .map(|(a, b, c, d, e, f)| (d, e, f, a, b, c))?
    };
    if !trusted && ip_wait > 0 {
        return Err(AppError::Limited {
            message: format!(
                "Có quá nhiều lần đăng nhập sai từ địa chỉ này. Vui lòng thử lại sau {ip_wait} giây."
            ),
            retry_after: ip_wait,
        });
    }
    // This account and client must wait: the same answer as a wrong
    // password, like the account lock it replaces (docs/design/no-enumeration.md).
    if client_wait > 0 {
        Metrics::inc(&app.metrics.sign_in_failures_total);
        // Hammering during the wait still counts against the IP.
        if !trusted {
            app.db(move |app| {
                Ok(app
                    .store
                    .write(|w| app.ip_throttle.fail_in(w, &ip_key, now))?)
            })
            .await?;
        }
        return Err(AppError::BadCredentials);
    }
    if login.is_empty() || password.is_empty() || login.len() > 100 || password.len() > 256 {
        return Err(AppError::BadCredentials);
    }
    if !trusted && !client.captcha_passed && untrusted.expires >= now && untrusted.count >= BACKSTOP
    {
        return Err(AppError::field(
            "captcha",
            "Tài khoản này vừa có nhiều lần đăng nhập sai. Vui lòng nhập mã xác thực trong hình để tiếp tục.",
        ));
    }
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let ok = app.hasher.verify(password.to_string(), hash).await;
    let usable = account
        .as_ref()
        .is_some_and(|a| !a.disabled && a.locked_until <= now && (!console || a.is_staff()));
    let Some(account) = account.filter(|_| ok && usable) else {
        Metrics::inc(&app.metrics.sign_in_failures_total);
        let ip = ip.to_string();
        let client_key = client_key.clone();
        app.db(move |app| {
            app.store.write(|w| {
                // Wrong passwords no longer lock the account itself (anyone
                // could keep its owner out); they slow this client.
                app.signin_throttle.fail_in(w, &client_key, now)?;
                if !trusted {
                    app.ip_throttle.fail_in(w, &ip_key, now)?;
                    app.untrusted_failures.fail_in(w, &acct, now)?;
                }
                if let Some(mut a) = accounts::find_login(w, &login)? {
                    if a.locked_until <= now {
                        a.failed_logins += 1;
                        accounts::put(w, &a)?;
                    }
                    audit::record(
                        w,
                        now,
                        &crate::store::audit::actor_label(&a),
                        "sign_in_failed",
                        "",
                        &ip,
                        "",
                    )?;
                }
                Ok::<_, StoreError>(())
            })?;
            Ok(())
        })
        .await?;
        return Err(AppError::BadCredentials);
    };
    let ip = ip.to_string();
    let ip_key_ok = format!("{side}:{ip}");
    let started = app
        .db(move |app| {
            app.store.write(|w| {
                let mut flow = Flow {
                    username: Some(account.username.clone()),
                    phone: Some(account.phone.clone()),
                    ip: ip.clone(),
                    ..Flow::new(util::random_token(), kind(console), now, now + FLOW_TTL)
                };
                // The right password clears this client's failures (in the
                // same write as the flow).
                app.signin_throttle.succeed_in(w, &client_key)?;
                if !trusted {
                    app.ip_throttle.succeed_in(w, &ip_key_ok)?;
                }
                send_code(app, w, &mut flow, now, otp_template(console))?;
                Ok::<_, AppError>(Started {
                    flow_id: flow.id,
                    phone_masked: crate::domain::phone::mask(&account.phone),
                    resend_in: crate::otp::RESEND_COOLDOWN,
                })
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(started)
}

/// Step 2: the OTP. Wrong codes count toward the account's lockout.
pub async fn verify(
    app: &Arc<App>,
    flow_id: &str,
    code: &str,
    ip: &str,
    audience: Audience,
) -> AppResult<SignedIn> {
    let console = audience.is_console();
    let now = app.now();
    let flow_id = flow_id.to_string();
    let code = code.to_string();
    let ip = ip.to_string();
    app.db(move |app| {
        let result = app.store.write(|w| {
            let mut flow = live_flow(w, &flow_id, kind(console), now)?;
            let username = flow.username.clone().unwrap_or_default();
            let Some(mut account) = accounts::get(w, &username)? else {
                return Err(AppError::Gone("Phiên đăng nhập đã hết hạn.".into()));
            };
            match check_code(app, w, &mut flow, &code, now)? {
                Ok(()) => {
                    FLOWS.delete(w, &flow.id)?;
                    account.failed_logins = 0;
                    account.locked_until = 0;
                    accounts::put(w, &account)?;
                    let token = session::create(w, &account, console, false, now)?;
                    crate::store::stats::bump(
                        w,
                        now,
                        "sign_ins",
                        if console { "console" } else { "portal" },
                    )?;
                    audit::record(
                        w,
                        now,
                        &crate::store::audit::actor_label(&account),
                        if console {
                            "console_sign_in"
                        } else {
                            "portal_sign_in"
                        },
                        "",
                        &ip,
                        "",
                    )?;
                    Ok(Ok(SignedIn { token, account }))
                }
                Err(e) => {
                    account.failed_logins += 1;
                    account.locked_until = now + wait_after(account.failed_logins, FREE_FAILURES);
                    accounts::put(w, &account)?;
                    // Commit the used-up try, then report the error.
                    Ok(Err(AppError::from(e)))
                }
            }
        })?;
        if result.is_ok() {
            Metrics::inc(&app.metrics.sign_ins_total);
        }
        result
    })
    .await
}

/// Sends a new code after the cooldown; the old one stops working.
pub async fn resend(app: &Arc<App>, flow_id: &str, audience: Audience) -> AppResult<Started> {
    let console = audience.is_console();
    let now = app.now();
    let flow_id = flow_id.to_string();
    let r = app
        .db(move |app| {
            app.store.write(|w| {
                let mut flow = live_flow(w, &flow_id, kind(console), now)?;
                send_code(app, w, &mut flow, now, otp_template(console))?;
                Ok::<_, AppError>(Started {
                    flow_id: flow.id.clone(),
                    phone_masked: crate::domain::phone::mask(flow.phone.as_deref().unwrap_or("")),
                    resend_in: crate::otp::RESEND_COOLDOWN,
                })
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(r)
}

/// What the OTP page needs to show for a flow.
pub async fn describe(app: &Arc<App>, flow_id: &str, audience: Audience) -> AppResult<Started> {
    let console = audience.is_console();
    let now = app.now();
    let flow_id = flow_id.to_string();
    app.db(move |app| {
        let f = app.store.read(|r| FLOWS.get(r, &flow_id))?;
        let f = match f {
            Some(f) if f.kind == kind(console) && f.expires_at >= now => f,
            _ => {
                return Err(AppError::Gone(
                    "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.".into(),
                ));
            }
        };
        Ok(Started {
            phone_masked: crate::domain::phone::mask(f.phone.as_deref().unwrap_or("")),
            resend_in: f.otp.as_ref().map_or(0, |o| o.resend_wait(now)),
            flow_id: f.id,
        })
    })
    .await
}

pub async fn sign_out(app: &Arc<App>, token: &str) -> AppResult<()> {
    let token = token.to_string();
    app.db(move |app| Ok(app.store.write(|w| session::end(w, &token))?))
        .await
}

/// Exchanges the cookie session of a finished sign-in for a bearer session
/// (API clients): the cookie session ends, the new token is returned.
pub async fn to_bearer(app: &Arc<App>, s: SignedIn, audience: Audience) -> AppResult<String> {
    let console = audience.is_console();
    app.db(move |app| {
        let now = app.now();
        Ok(app.store.write(|w| {
            session::end(w, &s.token)?;
            session::create(w, &s.account, console, true, now)
        })?)
    })
    .await
}
