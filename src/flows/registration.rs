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
use crate::domain::{BirthDate, CitizenId, Email, PasswordContext, PersonName, PhoneNumber};
use crate::error::{AppError, AppResult};
use crate::flows::new_password_fields;
use crate::flows::otp_flow::{issue_silently, live_flow, send_code};
use crate::flows::otp_journey::{Journey, queue_notice};
use crate::otp;
use crate::sms::template::Id as Template;
use crate::store::accounts::Account;
use crate::store::accounts::{self, Origin};
use crate::store::audit;
use crate::store::flows::{FLOWS, Flow, OTP_SENDS};
use crate::subscriber::{self, SubscriberQuery};

pub use crate::flows::otp_journey::Started;

pub const KIND: &str = "registration";
/// A registration must be finished this long after it starts (seconds).
pub const FLOW_TTL: i64 = 15 * 60;

/// The journey: a code to the typed phone, then the password.
pub static JOURNEY: Journey = Journey {
    kind: KIND,
    ttl: FLOW_TTL,
    template: Template::OtpRegistration,
    issue: issue_again,
    shows_phone: true,
    already_verified: "Số điện thoại đã được xác thực. Vui lòng đặt mật khẩu để hoàn tất đăng ký.",
    not_verified: "Vui lòng xác thực mã OTP trước khi đặt mật khẩu.",
};

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

fn payload(flow: &Flow) -> AppResult<Payload> {
    postcard::from_bytes(&flow.payload)
        .map_err(|e| AppError::internal_from("registration payload", e))
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
    let captcha = crate::captcha::verify(app, &input.captcha_id, &input.captcha).await;
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
    JOURNEY
        .start(app, ip, move |app, now, ip| {
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
                .map_err(|e| AppError::internal_from("registration payload", e))?;
            app.store.write(|w| {
                let mut flow = JOURNEY.new_flow(
                    now,
                    None,
                    Some(phone.as_str().to_string()),
                    payload.clone(),
                    &ip,
                );
                match &existing {
                    None => send_code(app, w, &mut flow, now, JOURNEY.template)?,
                    Some(a) => {
                        issue_silently(w, &mut flow, Some(phone.as_str()), now)?;
                        notify_existing(app, w, a, a.phone != phone.as_str(), now)?;
                        audit::record(
                            w,
                            now,
                            "-",
                            "self_register_existing_id",
                            &crate::store::audit::object_label(a),
                            &ip,
                            "",
                        )?;
                    }
                }
                Ok::<_, AppError>(JOURNEY.started(&flow, now))
            })
        })
        .await
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
    queue_notice(app, w, Template::ExistingAccount, &a.phone, now)
}

/// Issues a new code on request (after the cooldown; the old one stops
/// working): a decoy flow's again to nobody.
fn issue_again(app: &App, w: &WriteTx, flow: &mut Flow, now: i64) -> AppResult<()> {
    if payload(flow)?.decoy {
        let phone = flow.phone.clone();
        issue_silently(w, flow, phone.as_deref(), now)
    } else {
        send_code(app, w, flow, now, JOURNEY.template)
    }
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
    let flow = JOURNEY.verified_flow(app, flow_id, now).await?;
    let p = payload(&flow)?;
    let phone = flow.phone.clone().unwrap_or_default();
    let ctx = PasswordContext {
        id_number: Some(&p.id_number),
        phone: Some(&phone),
        full_name: Some(&p.full_name),
        username: Some(&p.id_number),
    };
    let fields = new_password_fields(password, confirm, &ctx);
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    let hash = app.hasher.try_hash(password.to_string()).await?;
    let fid = flow_id.to_string();
    let ip = ip.to_string();
    app.db(move |app| {
        app.store.write(|w| {
            let flow = live_flow(w, &fid, KIND, now)?;
            let p = payload(&flow)?;
            if !flow.verified || p.decoy {
                return Err(JOURNEY.not_verified());
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
            let mut a = Account::new(
                id.as_str(),
                Some(&id),
                &p.full_name,
                &phone,
                email.as_ref(),
                hash.clone(),
                Origin::SelfRegistered,
                now,
            );
            a.birth_date = Some(p.birth_date.clone());
            accounts::put(w, &a)?;
            crate::store::stats::bump(w, now, "registrations", "")?;
            audit::record(
                w,
                now,
                &crate::store::audit::actor_label(&a),
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
