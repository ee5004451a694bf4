//! Staff-assisted citizen accounts (seed part I): look up an ID number, fill
//! in the request with the scanned ID, print the request form, send the OTP
//! to the citizen's phone, create the account with the latest OTP; and the
//! list of accounts created by staff.
//!
//! A request in progress is a flow of kind [`FLOW_KIND`] owned by the staff
//! member who started it (nobody else sees it), expiring after
//! [`REQUEST_TTL`]; its scanned ID is stored at once and removed with the
//! request if the account is never created.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::{
    BirthDate, CitizenId, Email, Password, PasswordContext, Permission, PersonName, PhoneNumber,
};
use crate::error::{AppError, AppResult};
use crate::flows::otp_flow::{check_code, live_flow, send_code};
use crate::flows::{Actor, staff_units};
use crate::store::accounts::{self, Origin};
use crate::store::citizens::{self, CitizenRecord, ScanRef};
use crate::store::flows::{FLOWS, Flow};
use crate::store::{StoreError, audit};
use crate::upload::{self, FilePart};
use crate::util;

pub const FLOW_KIND: &str = "citizen_account";
/// A request left half-done expires after this many seconds.
pub const REQUEST_TTL: i64 = 3600;
/// Look-ups per staff member: this many per window...
pub const LOOKUPS_PER_WINDOW: usize = 20;
pub const LOOKUP_WINDOW: i64 = 600;
/// ...and this many per day.
pub const LOOKUPS_PER_DAY: usize = 300;
pub const DEFAULT_PER_PAGE: u64 = 20;
pub const MAX_PER_PAGE: u64 = 100;

pub const MSG_EXISTS: &str =
    "Công dân đã có tài khoản trên Cổng Dịch vụ công quốc gia, không cần tạo mới.";
const MSG_NOT_FOUND: &str = "Không tìm thấy yêu cầu tạo tài khoản.";
const MSG_NO_ACCOUNT: &str = "Không tìm thấy tài khoản công dân.";

/// What a request in progress holds (the flow's payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestData {
    pub code: String,
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone: String,
    pub email: Option<String>,
    pub unit: u64,
    pub unit_name: String,
    pub staff: String,
    pub staff_name: String,
    pub staff_phone: String,
    pub created_at: i64,
    pub scan: ScanRef,
}

fn decode(flow: &Flow) -> AppResult<RequestData> {
    postcard::from_bytes(&flow.payload)
        .map_err(|e| AppError::internal_from("bad request payload", e))
}

/// The actor must hold the permission somewhere.
fn require_any(actor: &Actor) -> AppResult<()> {
    if actor.account.has_any(Permission::CitizenAccountsCreate) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The actor may see accounts of `unit`; other units' objects do not exist
/// for them.
fn require_unit(app: &App, actor: &Actor, unit: u64, not_found: &str) -> AppResult<()> {
    require_any(actor)?;
    if app
        .tree()
        .allows(&actor.account, Permission::CitizenAccountsCreate, unit)
    {
        Ok(())
    } else {
        Err(AppError::NotFound(not_found.into()))
    }
}

fn object(id: &CitizenId) -> String {
    format!("citizen:{}", id.masked())
}

fn object_str(id: &str) -> String {
    match CitizenId::parse(id) {
        Ok(c) => object(&c),
        Err(_) => "citizen:?".into(),
    }
}

fn today(app: &App) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(app.now() + 7 * 3600, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- look-up

#[derive(Debug, Clone, Serialize)]
pub struct Lookup {
    pub id_number: String,
    pub exists: bool,
    pub phone_masked: Option<String>,
}

/// Is there an account with this ID number? Audited and rate-limited per
/// staff member.
pub async fn lookup(app: &Arc<App>, actor: &Actor, id_number: &str) -> AppResult<Lookup> {
    require_any(actor)?;
    let id = CitizenId::parse(id_number).map_err(|e| AppError::field("id_number", e.0))?;
    let now = app.now();
    let (me, ip) = (actor.username().to_string(), actor.ip.clone());
    app.db(move |app| {
        app.store.write(|w| {
            if let Err(wait) = citizens::note_lookup(
                w,
                &me,
                now,
                LOOKUPS_PER_WINDOW,
                LOOKUP_WINDOW,
                LOOKUPS_PER_DAY,
            )? {
                return Err(AppError::Limited {
                    message: format!(
                        "Anh/chị đã tra cứu quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau {wait} giây."
                    ),
                    retry_after: wait,
                });
            }
            let found = match accounts::by_id_number(w, id.as_str())? {
                Some(a) => Some(a),
                None => accounts::get(w, id.as_str())?,
            };
            audit::record(
                w,
                now,
                &me,
                "citizen_lookup",
                &object(&id),
                &ip,
                if found.is_some() { "đã có tài khoản" } else { "chưa có tài khoản" },
            )?;
            Ok(Lookup {
                id_number: id.as_str().to_string(),
                exists: found.is_some(),
                phone_masked: found.map(|a| crate::domain::phone::mask(&a.phone)),
            })
        })
    })
    .await
}

// ---------------------------------------------------------------- request

/// The form of step 1, as typed.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone: String,
    pub email: String,
    pub unit_id: String,
    pub file: Option<FilePart>,
}

struct Valid {
    id: CitizenId,
    name: PersonName,
    dob: BirthDate,
    phone: PhoneNumber,
    email: Option<Email>,
    unit: u64,
    file: FilePart,
}

fn validate(app: &App, actor: &Actor, input: NewRequest) -> AppResult<Valid> {
    let mut fields = BTreeMap::new();
    let mut err = |k: &str, m: String| {
        fields.entry(k.to_string()).or_insert(m);
    };
    let id = CitizenId::parse(&input.id_number)
        .map_err(|e| err("id_number", e.0))
        .ok();
    let name = PersonName::parse(&input.full_name)
        .map_err(|e| err("full_name", e.0))
        .ok();
    let dob = BirthDate::parse_on(&input.birth_date, today(app))
        .map_err(|e| err("birth_date", e.0))
        .ok();
    if let (Some(id), Some(dob)) = (&id, &dob)
        && let Err(e) = id.check_birth_date(dob)
    {
        err("birth_date", e.0);
    }
    let phone = PhoneNumber::parse(&input.phone)
        .map_err(|e| err("phone", e.0))
        .ok();
    let email = if input.email.trim().is_empty() {
        None
    } else {
        Email::parse(&input.email)
            .map_err(|e| err("email", e.0))
            .ok()
    };
    let choices = staff_units::for_staff(app, &actor.account);
    let unit = match input.unit_id.trim() {
        "" => {
            err(
                "unit_id",
                "Vui lòng chọn đơn vị (Trung tâm Phục vụ hành chính công hoặc Bộ phận một cửa nơi anh/chị đang công tác).".into(),
            );
            None
        }
        s => match s.parse::<u64>() {
            Ok(u) if choices.units.iter().any(|c| c.id == u && c.selectable) => Some(u),
            _ => {
                err(
                    "unit_id",
                    "Đơn vị đã chọn không hợp lệ: chỉ chọn được Trung tâm Phục vụ hành chính công hoặc Bộ phận một cửa mà anh/chị được cấp quyền tạo tài khoản công dân.".into(),
                );
                None
            }
        },
    };
    let file = match input.file {
        None => {
            err("id_scan", upload::MSG_MISSING.into());
            None
        }
        Some(f) if f.bytes.is_empty() => {
            err("id_scan", upload::MSG_EMPTY.into());
            None
        }
        Some(f) => Some(f),
    };
    match (id, name, dob, phone, unit, file) {
        (Some(id), Some(name), Some(dob), Some(phone), Some(unit), Some(file))
            if fields.is_empty() =>
        {
            Ok(Valid {
                id,
                name,
                dob,
                phone,
                email,
                unit,
                file,
            })
        }
        _ => Err(AppError::fields(fields)),
    }
}

/// Step 1: checks the form and the file, stores the scan and opens the
/// request. Nothing is stored when anything is wrong.
pub async fn create_request(app: &Arc<App>, actor: &Actor, input: NewRequest) -> AppResult<String> {
    require_any(actor)?;
    let v = validate(app, actor, input)?;
    let kind = upload::detect(&v.file.bytes)?;
    let _ = sweep(app).await;
    let now = app.now();
    let tree = app.tree();
    let flow_id = util::random_token();
    let data = RequestData {
        code: util::random_hex(4).to_uppercase(),
        id_number: v.id.as_str().to_string(),
        full_name: v.name.as_str().to_string(),
        birth_date: v.dob.format(),
        phone: v.phone.as_str().to_string(),
        email: v.email.map(|e| e.as_str().to_string()),
        unit: v.unit,
        unit_name: tree.name(v.unit),
        staff: actor.username().to_string(),
        staff_name: actor.account.full_name.clone(),
        staff_phone: actor.account.phone.clone(),
        created_at: now,
        scan: ScanRef {
            hash: String::new(),
            kind,
            size: v.file.bytes.len() as u64,
            file_name: if v.file.file_name.is_empty() {
                format!("CMND-CCCD.{}", kind.ext())
            } else {
                v.file.file_name.clone()
            },
        },
    };
    let ip = actor.ip.clone();
    let bytes = v.file.bytes;
    let id = v.id;
    let fid = flow_id.clone();
    app.db(move |app| {
        let hash = upload::store(&app.cfg.data_dir, &bytes).map_err(|e| {
            tracing::error!(error = %e, "cannot store an uploaded scan");
            AppError::internal("upload store failed")
        })?;
        let mut data = data;
        data.scan.hash = hash.clone();
        let r = app.store.write(|w| {
            if accounts::by_id_number(w, id.as_str())?.is_some()
                || accounts::get(w, id.as_str())?.is_some()
            {
                return Err(AppError::Conflict(MSG_EXISTS.into()));
            }
            let payload = postcard::to_stdvec(&data)
                .map_err(|e| AppError::internal_from("encode request", e))?;
            let flow = Flow {
                username: Some(data.staff.clone()),
                phone: Some(data.phone.clone()),
                payload,
                ip: ip.clone(),
                ..Flow::new(fid.clone(), FLOW_KIND, now, now + REQUEST_TTL)
            };
            FLOWS.put(w, &fid, &flow)?;
            citizens::add_scan_ref(w, &hash, &format!("req:{fid}"))?;
            citizens::add_pending(w, now + REQUEST_TTL, &fid, &hash)?;
            audit::record(
                w,
                now,
                &data.staff,
                "citizen_request_create",
                &object(&id),
                &ip,
                &format!(
                    "unit:{} phone {} scan {} {} B",
                    data.unit,
                    crate::domain::phone::mask(&data.phone),
                    data.scan.kind.ext(),
                    data.scan.size
                ),
            )?;
            Ok(())
        });
        if r.is_err() {
            // Nothing refers to a file stored for a refused request.
            if app.store.read(|t| citizens::scan_unreferenced(t, &hash))? {
                upload::remove(&app.cfg.data_dir, &hash);
            }
        }
        r
    })
    .await?;
    Ok(flow_id)
}

/// A request in progress as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub id: String,
    pub data: RequestData,
    pub phone_masked: String,
    pub otp_sent: bool,
    /// Seconds until a new OTP may be sent (0 = now).
    pub resend_in: i64,
    /// Seconds the current OTP stays valid (0 = none or expired).
    pub otp_valid_for: i64,
    pub expires_at: i64,
}

fn view(flow: &Flow, now: i64) -> AppResult<RequestView> {
    let data = decode(flow)?;
    let otp = flow.otp.as_ref();
    Ok(RequestView {
        id: flow.id.clone(),
        phone_masked: crate::domain::phone::mask(&data.phone),
        data,
        otp_sent: otp.is_some(),
        resend_in: otp.map_or(0, |o| o.resend_wait(now)),
        otp_valid_for: otp
            .filter(|o| !o.used && o.tries_left > 0)
            .map_or(0, |o| (o.expires_at - now).max(0)),
        expires_at: flow.expires_at,
    })
}

/// The owner's live request (others get 404).
fn owned(tx: &impl crate::store::Tx, actor_name: &str, id: &str, now: i64) -> AppResult<Flow> {
    let flow = match live_flow(tx, id, FLOW_KIND, now) {
        Ok(f) => f,
        Err(AppError::Gone(m)) => {
            // Someone else's (or nobody's) request does not exist for this actor.
            return match FLOWS.get(tx, id)? {
                Some(f) if f.kind == FLOW_KIND && f.username.as_deref() == Some(actor_name) => {
                    Err(AppError::Gone(
                        "Yêu cầu tạo tài khoản đã hết hạn (quá 1 giờ). Vui lòng thực hiện lại từ đầu."
                            .into(),
                    ))
                }
                Some(_) => Err(AppError::NotFound(MSG_NOT_FOUND.into())),
                None => Err(AppError::Gone(m)),
            };
        }
        Err(e) => return Err(e),
    };
    if flow.username.as_deref() != Some(actor_name) {
        return Err(AppError::NotFound(MSG_NOT_FOUND.into()));
    }
    Ok(flow)
}

pub async fn get_request(app: &Arc<App>, actor: &Actor, id: &str) -> AppResult<RequestView> {
    require_any(actor)?;
    let now = app.now();
    let (me, id) = (actor.username().to_string(), id.to_string());
    let v = app
        .db(move |app| {
            let f = app.store.read(|r| Ok(owned(r, &me, &id, now)))??;
            view(&f, now)
        })
        .await?;
    require_unit(app, actor, v.data.unit, MSG_NOT_FOUND)?;
    Ok(v)
}

fn form_of(app: &App, d: &RequestData, printed_at: i64) -> crate::pdf::RequestForm {
    let kind = CitizenId::parse(&d.id_number)
        .map(|c| c.kind().to_string())
        .unwrap_or_else(|_| "CMND/CCCD".into());
    crate::pdf::RequestForm {
        request_code: d.code.clone(),
        full_name: d.full_name.clone(),
        birth_date: d.birth_date.clone(),
        id_kind: kind,
        id_number: d.id_number.clone(),
        phone: d.phone.clone(),
        email: d.email.clone(),
        unit_name: {
            let n = app.tree().name(d.unit);
            if n.is_empty() { d.unit_name.clone() } else { n }
        },
        staff_name: d.staff_name.clone(),
        staff_phone: d.staff_phone.clone(),
        created_at: util::fmt_time(d.created_at),
        printed_at: util::fmt_time(printed_at),
    }
}

async fn render_pdf(form: crate::pdf::RequestForm) -> AppResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || crate::pdf::request_form(&form))
        .await
        .map_err(|e| AppError::internal_from("pdf task", e))?
        .map_err(|e| {
            tracing::error!(error = %e, "request form PDF failed");
            AppError::internal("pdf")
        })
}

/// Step 2a: the request form for the citizen to check and sign.
pub async fn request_pdf(app: &Arc<App>, actor: &Actor, id: &str) -> AppResult<(String, Vec<u8>)> {
    let v = get_request(app, actor, id).await?;
    let now = app.now();
    let form = form_of(app, &v.data, now);
    let pdf = render_pdf(form).await?;
    let (me, ip, obj) = (
        actor.username().to_string(),
        actor.ip.clone(),
        object_str(&v.data.id_number),
    );
    app.db(move |app| {
        Ok(app
            .store
            .write(|w| audit::record(w, now, &me, "citizen_form_download", &obj, &ip, "yêu cầu"))?)
    })
    .await?;
    Ok((format!("giay-de-nghi-{}.pdf", v.data.code), pdf))
}

/// Step 2b: sends (or, after the cooldown, re-sends) the OTP to the
/// citizen's phone. Only the latest code works.
pub async fn send_otp(app: &Arc<App>, actor: &Actor, id: &str) -> AppResult<RequestView> {
    let v = get_request(app, actor, id).await?;
    let now = app.now();
    let (me, ip, id) = (
        actor.username().to_string(),
        actor.ip.clone(),
        id.to_string(),
    );
    let out = app
        .db(move |app| {
            app.store.write(|w| {
                let mut flow = owned(w, &me, &id, now)?;
                let resend = flow.otp.is_some();
                send_code(app, w, &mut flow, now, crate::sms::template::Id::OtpCounter)?;
                audit::record(
                    w,
                    now,
                    &me,
                    if resend {
                        "citizen_otp_resend"
                    } else {
                        "citizen_otp_send"
                    },
                    &object_str(&v.data.id_number),
                    &ip,
                    &format!("to {}", v.phone_masked),
                )?;
                view(&flow, now)
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(out)
}

/// Step 3: with the latest OTP, creates the account, its audit entry and the
/// password SMS in one transaction. A second request for the same ID loses
/// with 409.
pub async fn confirm(
    app: &Arc<App>,
    actor: &Actor,
    id: &str,
    otp: &str,
) -> AppResult<CitizenRecord> {
    let v = get_request(app, actor, id).await?;
    let d = v.data.clone();
    if otp.trim().is_empty() {
        return Err(AppError::field("otp", "Vui lòng nhập mã OTP gồm 6 số."));
    }
    if !v.otp_sent {
        return Err(AppError::field(
            "otp",
            "Chưa gửi mã OTP. Vui lòng bấm “Gửi mã OTP” để gửi mã tới số điện thoại của công dân.",
        ));
    }
    // A password that meets the policy and has nothing of the citizen in it.
    let ctx = PasswordContext {
        id_number: Some(&d.id_number),
        phone: Some(&d.phone),
        full_name: Some(&d.full_name),
        username: Some(&d.id_number),
    };
    let mut password = crate::auth::generate_password();
    for _ in 0..16 {
        if Password::parse(&password, &ctx).is_ok() {
            break;
        }
        password = crate::auth::generate_password();
    }
    let hash = app.hasher.try_hash(password.clone()).await?;
    let now = app.now();
    let (me, ip, id, otp) = (
        actor.username().to_string(),
        actor.ip.clone(),
        id.to_string(),
        otp.to_string(),
    );
    let (result, orphan) = app
        .db(move |app| {
            app.store.write(|w| {
                let mut flow = owned(w, &me, &id, now)?;
                let d = decode(&flow)?;
                if let Err(e) = check_code(app, w, &mut flow, &otp, now)? {
                    return Ok((Err(AppError::from(e)), None));
                }
                let holder = format!("req:{id}");
                FLOWS.delete(w, &id)?;
                citizens::remove_pending(w, flow.expires_at, &id)?;
                let cid = CitizenId::parse(&d.id_number)?;
                if accounts::by_id_number(w, &d.id_number)?.is_some()
                    || accounts::get(w, &d.id_number)?.is_some()
                {
                    let orphan = citizens::drop_scan_ref(w, &d.scan.hash, &holder)?
                        .then(|| d.scan.hash.clone());
                    audit::record(
                        w,
                        now,
                        &me,
                        "citizen_account_conflict",
                        &object(&cid),
                        &ip,
                        "đã có tài khoản",
                    )?;
                    return Ok((
                        Err(AppError::Conflict(format!(
                            "{MSG_EXISTS} (Tài khoản với số CMND/CCCD này vừa được tạo.)"
                        ))),
                        orphan,
                    ));
                }
                let phone = PhoneNumber::parse(&d.phone)?;
                let email = d.email.as_deref().map(Email::parse).transpose()?;
                let mut account = crate::store::accounts::Account::new(
                    &d.id_number,
                    Some(&cid),
                    &d.full_name,
                    &phone,
                    email.as_ref(),
                    hash,
                    Origin::CitizenByStaff,
                    now,
                );
                account.birth_date = Some(d.birth_date.clone());
                account.must_change_password = true;
                account.created_by = Some(d.staff.clone());
                account.created_unit = Some(d.unit);
                accounts::put(w, &account)?;
                crate::store::stats::bump(w, now, "accounts_created_unit", &d.unit.to_string())?;
                crate::store::stats::bump(
                    w,
                    now,
                    "accounts_created_staff",
                    &format!("{}:{}", d.unit, d.staff),
                )?;
                let mut rec = CitizenRecord {
                    seq: 0,
                    id_number: d.id_number.clone(),
                    full_name: d.full_name.clone(),
                    birth_date: d.birth_date.clone(),
                    phone: d.phone.clone(),
                    email: d.email.clone(),
                    unit: d.unit,
                    unit_name: d.unit_name.clone(),
                    created_by: d.staff.clone(),
                    created_by_name: d.staff_name.clone(),
                    created_by_phone: d.staff_phone.clone(),
                    created_at: now,
                    scan: d.scan.clone(),
                    request_code: d.code.clone(),
                };
                citizens::insert(w, &mut rec)?;
                citizens::add_scan_ref(w, &d.scan.hash, &format!("acc:{}", d.id_number))?;
                citizens::drop_scan_ref(w, &d.scan.hash, &holder)?;
                audit::record(
                    w,
                    now,
                    &me,
                    "citizen_account_create",
                    &object(&cid),
                    &ip,
                    &format!("unit:{} phone {}", d.unit, phone.masked()),
                )?;
                {
                    use crate::sms::template::{HO_TEN, Id, MAT_KHAU, TEN_DANG_NHAP, Vars};
                    crate::sms::queue(
                        app,
                        w,
                        Id::CitizenPassword,
                        phone.as_str(),
                        &Vars::new()
                            .with(HO_TEN.name, d.full_name.clone())
                            .with(TEN_DANG_NHAP.name, d.id_number.clone())
                            .with(MAT_KHAU.name, password.clone()),
                        now,
                    )?;
                }
                Ok::<_, AppError>((Ok(rec), None))
            })
        })
        .await?;
    if let Some(hash) = orphan {
        upload::remove(&app.cfg.data_dir, &hash);
    }
    if result.is_ok() {
        app.sms_wake.notify_one();
    }
    result
}

/// Cancels a pending request (step 2–3's "hủy yêu cầu này"): only the
/// staff member who filed it; its code stops working, its scan is dropped
/// when nothing else holds it, and the cancellation is audited.
pub async fn cancel(app: &Arc<App>, actor: &Actor, id: &str) -> AppResult<()> {
    require_any(actor)?;
    let now = app.now();
    let (me, ip, id) = (
        actor.username().to_string(),
        actor.ip.clone(),
        id.to_string(),
    );
    let orphan = app
        .db(move |app| {
            app.store.write(|w| {
                let flow = owned(w, &me, &id, now)?;
                let d = decode(&flow)?;
                FLOWS.delete(w, &id)?;
                citizens::remove_pending(w, flow.expires_at, &id)?;
                let orphan = citizens::drop_scan_ref(w, &d.scan.hash, &format!("req:{id}"))?
                    .then(|| d.scan.hash.clone());
                let cid = CitizenId::parse(&d.id_number)?;
                audit::record(
                    w,
                    now,
                    &me,
                    "citizen_request_cancel",
                    &object(&cid),
                    &ip,
                    &format!("unit:{}", d.unit),
                )?;
                Ok::<_, AppError>(orphan)
            })
        })
        .await?;
    if let Some(hash) = orphan {
        upload::remove(&app.cfg.data_dir, &hash);
    }
    Ok(())
}

/// Removes requests that expired unfinished, and their scans. Called while
/// requests are being made (and may be called by a periodic clean-up).
pub async fn sweep(app: &Arc<App>) -> AppResult<usize> {
    let now = app.now();
    app.db(move |app| {
        let (n, orphans) = app.store.write(|w| {
            let dead = citizens::expired_pending(w, now, 500)?;
            let mut orphans = vec![];
            for (at, id, hash) in &dead {
                if let Some(f) = FLOWS.get(w, id)?
                    && f.kind == FLOW_KIND
                    && f.expires_at < now
                {
                    FLOWS.delete(w, id)?;
                }
                citizens::remove_pending(w, *at, id)?;
                if citizens::drop_scan_ref(w, hash, &format!("req:{id}"))? {
                    orphans.push(hash.clone());
                }
            }
            Ok::<_, StoreError>((dead.len(), orphans))
        })?;
        for h in orphans {
            upload::remove(&app.cfg.data_dir, &h);
        }
        if n > 0 {
            tracing::info!(requests = n, "expired citizen-account requests removed");
        }
        Ok(n)
    })
    .await
}

// ---------------------------------------------------------------- list

/// The list filters as typed (query string of the page or the API).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ListFilter {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub created_by: Option<String>,
    pub unit_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListItem {
    pub seq: u64,
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone: String,
    pub created_by: String,
    pub created_by_username: String,
    pub unit_id: u64,
    pub unit: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListPage {
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub pages: u64,
    pub items: Vec<ListItem>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Units whose accounts the actor sees: `None` = all.
fn scope(app: &App, actor: &Actor) -> Option<Vec<u64>> {
    let tree = app.tree();
    let units = tree.units_with(&actor.account, Permission::CitizenAccountsCreate);
    if actor.account.superadmin || units.len() >= tree.len() {
        None
    } else {
        Some(units)
    }
}

/// Units the actor may filter on (the "Đơn vị tạo" select), in tree order.
pub fn filter_units(app: &App, actor: &Actor) -> Vec<crate::org::TreeRow> {
    let tree = app.tree();
    let units = tree.units_with(&actor.account, Permission::CitizenAccountsCreate);
    tree.rows()
        .into_iter()
        .filter(|r| units.contains(&r.id))
        .collect()
}

pub async fn list(app: &Arc<App>, actor: &Actor, f: &ListFilter) -> AppResult<ListPage> {
    require_any(actor)?;
    let mut fields = BTreeMap::new();
    let name = nonempty(&f.name).map(citizens::words).unwrap_or_default();
    let phone = match nonempty(&f.phone) {
        Some(p) => match PhoneNumber::parse(p) {
            Ok(p) => Some(p.as_str().to_string()),
            Err(e) => {
                fields.insert("phone".to_string(), e.0);
                None
            }
        },
        None => None,
    };
    let id_number = match nonempty(&f.id_number) {
        Some(i) => match CitizenId::parse(i) {
            Ok(i) => Some(i.as_str().to_string()),
            Err(e) => {
                fields.insert("id_number".to_string(), e.0);
                None
            }
        },
        None => None,
    };
    let mut day = |k: &str, v: &Option<String>| match nonempty(v) {
        Some(s) => match citizens::parse_day(s) {
            Some(d) => Some(d),
            None => {
                fields.insert(
                    k.to_string(),
                    "Ngày phải theo định dạng dd/mm/yyyy và là ngày có thật.".to_string(),
                );
                None
            }
        },
        None => None,
    };
    let from = day("from", &f.from);
    let to = day("to", &f.to);
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        fields.insert(
            "to".to_string(),
            "“Đến ngày” phải sau hoặc bằng “Từ ngày”.".to_string(),
        );
    }
    let tree = app.tree();
    let scoped = scope(app, actor);
    let units = match nonempty(&f.unit_id) {
        Some(s) => match s.parse::<u64>() {
            Ok(u)
                if tree.get(u).is_some()
                    && tree.allows(&actor.account, Permission::CitizenAccountsCreate, u) =>
            {
                Some(tree.subtree(u))
            }
            _ => {
                fields.insert("unit_id".to_string(), "Đơn vị không hợp lệ.".to_string());
                None
            }
        },
        None => scoped,
    };
    let num = |k: &str,
               v: &Option<String>,
               default: u64,
               max: u64,
               fields: &mut BTreeMap<String, String>| match nonempty(v) {
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                fields.insert(k.to_string(), format!("Giá trị phải là số từ 1 đến {max}."));
                default
            }
        },
        None => default,
    };
    let page = num("page", &f.page, 1, 1_000_000, &mut fields);
    let per_page = num(
        "per_page",
        &f.per_page,
        DEFAULT_PER_PAGE,
        MAX_PER_PAGE,
        &mut fields,
    );
    if !fields.is_empty() {
        return Err(AppError::Invalid {
            message: "Thông tin tìm kiếm chưa hợp lệ, vui lòng kiểm tra lại.".into(),
            fields,
        });
    }
    let q = citizens::Query {
        name,
        phone,
        id_number,
        created_by: nonempty(&f.created_by).map(str::to_string),
        units,
        day_from: from,
        day_to: to,
        offset: (page - 1) * per_page,
        limit: per_page as usize,
    };
    let (res, creators) = app
        .db_heavy(move |app| {
            Ok(app.store.read(|r| {
                let res = citizens::search(r, &q)?;
                let creators: HashMap<u32, citizens::Creator> = citizens::creators(r)?
                    .into_iter()
                    .map(|c| (c.idx, c))
                    .collect();
                Ok((res, creators))
            })?)
        })
        .await?;
    let items = res
        .items
        .into_iter()
        .map(|h| {
            let c = creators.get(&h.row.creator);
            ListItem {
                seq: h.row.seq,
                id_number: h.row.id_number,
                full_name: h.row.full_name,
                birth_date: h.row.birth_date,
                phone: h.row.phone,
                created_by: c.map(|c| c.full_name.clone()).unwrap_or_default(),
                created_by_username: c.map(|c| c.username.clone()).unwrap_or_default(),
                unit_id: h.unit,
                unit: tree.name(h.unit),
                created_at: util::fmt_time(h.row.created_at),
            }
        })
        .collect();
    Ok(ListPage {
        total: res.total,
        page,
        per_page,
        pages: res.total.div_ceil(per_page).max(1),
        items,
    })
}

// ---------------------------------------------------------------- one account

/// A created account, if the actor may see it (else 404), by ID number.
pub async fn account(app: &Arc<App>, actor: &Actor, id_number: &str) -> AppResult<CitizenRecord> {
    require_any(actor)?;
    let id = id_number.trim().to_string();
    let rec = app
        .db(move |app| Ok(app.store.read(|r| citizens::get(r, &id))?))
        .await?
        .ok_or_else(|| AppError::NotFound(MSG_NO_ACCOUNT.into()))?;
    require_unit(app, actor, rec.unit, MSG_NO_ACCOUNT)?;
    Ok(rec)
}

/// The same by list position (the page links use it, keeping ID numbers out
/// of URLs).
pub async fn account_by_seq(app: &Arc<App>, actor: &Actor, seq: u64) -> AppResult<CitizenRecord> {
    require_any(actor)?;
    let rec = app
        .db(move |app| Ok(app.store.read(|r| citizens::get_by_seq(r, seq))?))
        .await?
        .ok_or_else(|| AppError::NotFound(MSG_NO_ACCOUNT.into()))?;
    require_unit(app, actor, rec.unit, MSG_NO_ACCOUNT)?;
    Ok(rec)
}

async fn audit_view(
    app: &Arc<App>,
    actor: &Actor,
    rec: &CitizenRecord,
    action: &'static str,
) -> AppResult<()> {
    let now = app.now();
    let (me, ip, obj) = (
        actor.username().to_string(),
        actor.ip.clone(),
        object_str(&rec.id_number),
    );
    app.db(move |app| {
        Ok(app
            .store
            .write(|w| audit::record(w, now, &me, action, &obj, &ip, ""))?)
    })
    .await?;
    Ok(())
}

/// The scanned ID of a created account: (record, file bytes). Audited.
pub async fn scan_file(
    app: &Arc<App>,
    actor: &Actor,
    rec: CitizenRecord,
) -> AppResult<(CitizenRecord, Vec<u8>)> {
    require_unit(app, actor, rec.unit, MSG_NO_ACCOUNT)?;
    let hash = rec.scan.hash.clone();
    let bytes = app
        .db(move |app| {
            upload::read(&app.cfg.data_dir, &hash).map_err(|e| {
                tracing::error!(error = %e, "scanned ID file missing");
                AppError::NotFound("Không tìm thấy tệp CMND/CCCD đã quét.".into())
            })
        })
        .await?;
    audit_view(app, actor, &rec, "citizen_scan_download").await?;
    Ok((rec, bytes))
}

/// The request form of a created account, regenerated from its record.
pub async fn account_pdf(
    app: &Arc<App>,
    actor: &Actor,
    rec: CitizenRecord,
) -> AppResult<(String, Vec<u8>)> {
    require_unit(app, actor, rec.unit, MSG_NO_ACCOUNT)?;
    let d = RequestData {
        code: rec.request_code.clone(),
        id_number: rec.id_number.clone(),
        full_name: rec.full_name.clone(),
        birth_date: rec.birth_date.clone(),
        phone: rec.phone.clone(),
        email: rec.email.clone(),
        unit: rec.unit,
        unit_name: rec.unit_name.clone(),
        staff: rec.created_by.clone(),
        staff_name: rec.created_by_name.clone(),
        staff_phone: rec.created_by_phone.clone(),
        created_at: rec.created_at,
        scan: rec.scan.clone(),
    };
    let form = form_of(app, &d, app.now());
    let pdf = render_pdf(form).await?;
    audit_view(app, actor, &rec, "citizen_form_download").await?;
    Ok((format!("giay-de-nghi-{}.pdf", rec.request_code), pdf))
}

/// Records that a staff member opened an account's details.
pub async fn note_view(app: &Arc<App>, actor: &Actor, rec: &CitizenRecord) -> AppResult<()> {
    audit_view(app, actor, rec, "citizen_account_view").await
}
