//! Self-registration of a citizen on the portal (seed part II): Công dân +
//! Thuê bao di động. Form (with captcha) → subscriber check → OTP to the
//! typed phone → password → account (username = ID number).
//!
//! No enumeration: when the ID number already has an account, the answer is
//! the same as for a new one (same status, same body, a flow whose OTP screen
//! behaves the same), but no code goes to the typed phone; the account's
//! registered phone gets a notice instead. Such a "decoy" flow carries an
//! OTP state hashed under a throw-away key, so no typed code can ever pass.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::store::WriteTx;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::{
    BirthDate, CitizenId, Email, Password, PasswordContext, PersonName, PhoneNumber,
};
use crate::error::{AppError, AppResult};
use crate::flows::admin::{new_account, password_error};
use crate::flows::otp_flow::{live_flow, send_code, take_ip_send, take_ip_send_in};
use crate::otp::{self, OtpState};
use crate::sms::template::{Id as Template, THOI_GIAN, Vars};
use crate::store::accounts::{self, Origin};
use crate::store::audit;
use crate::store::flows::{FLOWS, Flow, OTP_SENDS};
use crate::subscriber::{self, SubscriberQuery};
use crate::util;

pub const KIND: &str = "registration";
/// A registration must be finished this long after it starts (seconds).
pub const FLOW_TTL: i64 = 15 * 60;

/// Who registers (the seed's "Công dân / Doanh nghiệp").
pub const KINDS: [&str; 2] = ["citizen", "business"];
/// How they are verified: IAL2 mobile subscriber or social insurance, IAL3
/// USB token or SIM signature.
pub const METHODS: [&str; 4] = ["mobile", "social_insurance", "usb_token", "sim_signature"];

/// Why a combination other than citizen + mobile is refused, in Vietnamese.
pub fn not_offered(kind: &str, method: &str) -> Option<&'static str> {
    if kind == "business" {
        return Some(
            "Hệ thống này chưa hỗ trợ doanh nghiệp đăng ký tài khoản. Doanh nghiệp vui lòng đăng ký trên Cổng Dịch vụ công quốc gia (dichvucong.gov.vn) bằng chữ ký số của doanh nghiệp.",
        );
    }
    match method {
        "mobile" => None,
        "social_insurance" => Some(
            "Hệ thống này chưa hỗ trợ xác minh bằng Bảo hiểm xã hội. Anh/chị vui lòng đăng ký bằng Thuê bao di động, hoặc đến Trung tâm Phục vụ hành chính công, Bộ phận một cửa cấp huyện, cấp xã để được cán bộ tạo tài khoản.",
        ),
        "usb_token" | "sim_signature" => Some(
            "Hệ thống này chưa hỗ trợ đăng ký bằng chữ ký số (USB ký số, SIM ký số). Anh/chị vui lòng đăng ký bằng Thuê bao di động, hoặc đến Trung tâm Phục vụ hành chính công, Bộ phận một cửa cấp huyện, cấp xã để được cán bộ tạo tài khoản.",
        ),
        _ => Some("Phương thức xác minh không hợp lệ."),
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewRegistration {
    pub kind: String,
    pub method: String,
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone: String,
    pub email: Option<String>,
    pub captcha_id: String,
    pub captcha: String,
    pub consent: bool,
}

/// What a registration flow carries besides the OTP state.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    id_number: String,
    full_name: String,
    birth_date: String,
    email: Option<String>,
    /// The ID number already has an account: nothing can be created.
    decoy: bool,
}

#[derive(Debug, Clone)]
pub struct Started {
    pub flow_id: String,
    pub phone_masked: String,
    /// Seconds until a new code may be asked for.
    pub resend_in: i64,
    /// Seconds until the flow expires.
    pub expires_in: i64,
}

fn payload(flow: &Flow) -> AppResult<Payload> {
    postcard::from_bytes(&flow.payload)
        .map_err(|e| AppError::Internal(format!("registration payload: {e}")))
}

fn started(flow: &Flow, now: i64) -> Started {
    Started {
        flow_id: flow.id.clone(),
        phone_masked: flow
            .phone
            .as_deref()
            .and_then(|p| PhoneNumber::parse(p).ok())
            .map(|p| p.masked())
            .unwrap_or_default(),
        resend_in: flow.otp.as_ref().map_or(0, |o| o.resend_wait(now)),
        expires_in: (flow.expires_at - now).max(0),
    }
}

/// Issues an OTP state whose code nobody ever learns (hashed under a random
/// key), with the same cooldown and caps as a real one: the decoy flows of
/// registration and reset. `phone`, if any, is charged a send like a real
/// code, so the per-phone caps answer the same.
pub fn issue_silently(
    w: &WriteTx,
    flow: &mut Flow,
    phone: Option<&str>,
    now: i64,
) -> AppResult<()> {
    let throwaway: [u8; 32] = util::random_bytes();
    let (state, _code) = OtpState::issue(flow.otp.as_ref(), &throwaway, &flow.id, now)?;
    if let Some(phone) = phone {
        let sends = OTP_SENDS.get(w, phone)?.unwrap_or_default();
        let sends = otp::check_phone_caps(&sends, now)?;
        OTP_SENDS.put(w, phone, &sends)?;
    }
    flow.otp = Some(state);
    FLOWS.put(w, &flow.id, flow)?;
    Ok(())
}

fn insert_err<T>(
    fields: &mut BTreeMap<String, String>,
    name: &str,
    r: Result<T, crate::domain::Invalid>,
) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            fields.entry(name.to_string()).or_insert(e.0);
            None
        }
    }
}

/// Step 1: the form. 202-equivalent for a new ID and for an existing one.
pub async fn start(app: &Arc<App>, input: NewRegistration, ip: &str) -> AppResult<Started> {
    // Any attempt consumes its captcha, so check it before anything else.
    let captcha = crate::captcha::verify(app, &input.captcha_id, &input.captcha);
    if !KINDS.contains(&input.kind.as_str()) {
        return Err(AppError::field(
            "kind",
            "Vui lòng chọn Công dân hoặc Doanh nghiệp.",
        ));
    }
    if let Some(why) = not_offered(&input.kind, &input.method) {
        return Err(AppError::field("method", why));
    }
    let mut fields = BTreeMap::new();
    let id = insert_err(&mut fields, "id_number", CitizenId::parse(&input.id_number));
    let name = insert_err(
        &mut fields,
        "full_name",
        PersonName::parse(&input.full_name),
    );
    let dob = insert_err(
        &mut fields,
        "birth_date",
        BirthDate::parse(&input.birth_date),
    );
    let phone = insert_err(&mut fields, "phone", PhoneNumber::parse(&input.phone));
    let email = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => insert_err(&mut fields, "email", Email::parse(e)),
        None => None,
    };
    if let (Some(id), Some(dob)) = (&id, &dob) {
        insert_err(&mut fields, "birth_date", id.check_birth_date(dob));
    }
    insert_err(&mut fields, "captcha", captcha);
    if !input.consent {
        fields.insert(
            "consent".into(),
            "Vui lòng đồng ý với Điều khoản, Chính sách chia sẻ thông tin để đăng ký.".into(),
        );
    }
    let (Some(id), Some(name), Some(dob), Some(phone)) = (id, name, dob, phone) else {
        return Err(AppError::fields(fields));
    };
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    let now = app.now();
    take_ip_send(app, ip, Template::OtpRegistration, now)?;
    let ip = ip.to_string();
    let r = app
        .db(move |app| {
            subscriber::check(
                &app.cfg,
                &SubscriberQuery {
                    phone: &phone,
                    id_number: &id,
                    full_name: &name,
                    birth_date: &dob,
                },
            )?;
            let existing = app.store.read(|r| {
                Ok(match accounts::by_id_number(r, id.as_str())? {
                    Some(a) => Some(a),
                    None => accounts::get(r, id.as_str())?,
                })
            })?;
            let p = Payload {
                id_number: id.as_str().to_string(),
                full_name: name.as_str().to_string(),
                birth_date: dob.format(),
                email: email.map(|e| e.as_str().to_string()),
                decoy: existing.is_some(),
            };
            let payload = postcard::to_stdvec(&p)
                .map_err(|e| AppError::Internal(format!("registration payload: {e}")))?;
            app.store.write(|w| {
                let mut flow = Flow {
                    id: util::random_token(),
                    kind: KIND.into(),
                    created_at: now,
                    expires_at: now + FLOW_TTL,
                    username: None,
                    phone: Some(phone.as_str().to_string()),
                    otp: None,
                    verified: false,
                    payload,
                    ip: ip.clone(),
                };
                match &existing {
                    None => send_code(app, w, &mut flow, now, Template::OtpRegistration)?,
                    Some(a) => {
                        issue_silently(w, &mut flow, Some(phone.as_str()), now)?;
                        notify_existing(app, w, a, a.phone != phone.as_str(), now)?;
                        audit::record(
                            w,
                            now,
                            "-",
                            "self_register_existing_id",
                            &audit_object(a),
                            &ip,
                            "",
                        )?;
                    }
                }
                Ok::<_, AppError>(started(&flow, now))
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(r)
}

/// How an account is named in the audit log: citizens' ID numbers masked.
pub fn audit_object(a: &accounts::Account) -> String {
    match CitizenId::parse(&a.username) {
        Ok(id) => format!("account:{}", id.masked()),
        Err(_) => format!("account:{}", a.username),
    }
}

/// Tells the holder of an existing account that someone tried to register
/// with their ID number, within the per-phone caps (silently skipped beyond).
/// `charge` is false when the typed phone is the registered one, already
/// charged for this attempt.
fn notify_existing(
    app: &App,
    w: &WriteTx,
    a: &accounts::Account,
    charge: bool,
    now: i64,
) -> AppResult<()> {
    if charge {
        let sends = OTP_SENDS.get(w, &a.phone)?.unwrap_or_default();
        let Ok(sends) = otp::check_phone_caps(&sends, now) else {
            return Ok(());
        };
        OTP_SENDS.put(w, &a.phone, &sends)?;
    }
    // Past the day's SMS budget the notice is skipped like past the
    // caps: the request was already checked against the budget as if it
    // sent a code, so both answers stay the same.
    match crate::sms::queue(
        app,
        w,
        Template::ExistingAccount,
        &a.phone,
        &Vars::new().with(THOI_GIAN.name, util::fmt_time(now)),
        now,
    ) {
        Err(AppError::Limited { .. }) => Ok(()),
        r => r.map(|_| ()),
    }
}

/// Sends a new code after the cooldown (the old one stops working).
pub async fn resend(app: &Arc<App>, flow_id: &str) -> AppResult<Started> {
    let now = app.now();
    let flow_id = flow_id.to_string();
    let r = app
        .db(move |app| {
            app.store.write(|w| {
                let mut flow = live_flow(w, &flow_id, KIND, now)?;
                if flow.verified {
                    return Err(AppError::Conflict(
                        "Số điện thoại đã được xác thực. Vui lòng đặt mật khẩu để hoàn tất đăng ký."
                            .into(),
                    ));
                }
                take_ip_send_in(app, w, &flow.ip, Template::OtpRegistration, now)?;
                if payload(&flow)?.decoy {
                    let phone = flow.phone.clone();
                    issue_silently(w, &mut flow, phone.as_deref(), now)?;
                } else {
                    send_code(app, w, &mut flow, now, Template::OtpRegistration)?;
                }
                Ok(started(&flow, now))
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(r)
}

/// What the OTP and password pages show for a live flow (410 otherwise).
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

/// Step 3: the password. Creates the account; returns its username (the ID
/// number).
pub async fn set_password(
    app: &Arc<App>,
    flow_id: &str,
    password: &str,
    confirm: &str,
    ip: &str,
) -> AppResult<String> {
    let now = app.now();
    let fid = flow_id.to_string();
    let flow = app
        .db(move |app| app.store.read(|r| Ok(live_flow(r, &fid, KIND, now)))?)
        .await?;
    if !flow.verified {
        return Err(AppError::Conflict(
            "Vui lòng xác thực mã OTP trước khi đặt mật khẩu.".into(),
        ));
    }
    let p = payload(&flow)?;
    let phone = flow.phone.clone().unwrap_or_default();
    let ctx = PasswordContext {
        id_number: Some(&p.id_number),
        phone: Some(&phone),
        full_name: Some(&p.full_name),
        username: Some(&p.id_number),
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
            let p = payload(&flow)?;
            if !flow.verified || p.decoy {
                return Err(AppError::Conflict(
                    "Vui lòng xác thực mã OTP trước khi đặt mật khẩu.".into(),
                ));
            }
            FLOWS.delete(w, &flow.id)?;
            if accounts::by_id_number(w, &p.id_number)?.is_some()
                || accounts::get(w, &p.id_number)?.is_some()
            {
                return Err(AppError::Conflict(
                    "Số CMND/CCCD này đã có tài khoản. Vui lòng đăng nhập, hoặc dùng chức năng Quên mật khẩu."
                        .into(),
                ));
            }
            let id = CitizenId::parse(&p.id_number)?;
            let phone = PhoneNumber::parse(flow.phone.as_deref().unwrap_or_default())?;
            let email = p.email.as_deref().map(Email::parse).transpose()?;
            let mut a = new_account(
                id.as_str(),
                Some(&id),
                &p.full_name,
                &phone,
                email.as_ref(),
                hash,
                Origin::SelfRegistered,
                now,
            );
            a.birth_date = Some(p.birth_date.clone());
            accounts::put(w, &a)?;
            crate::store::stats::bump(w, now, "registrations", "")?;
            audit::record(
                w,
                now,
                &crate::flows::staff_login::audit_actor(&a),
                "self_register",
                &format!("account:{}", id.masked()),
                &ip,
                "",
            )?;
            Ok(a.username)
        })
    })
    .await
}
