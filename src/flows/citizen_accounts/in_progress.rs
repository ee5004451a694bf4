//! A request in progress: its view, the printed form, the OTP to the
//! citizen's phone, the confirmation that creates the account, cancelling,
//! and the sweep of expired requests.

use std::sync::Arc;

use serde::Serialize;

use crate::app::App;
use crate::domain::{CitizenId, Email, Password, PasswordContext, PhoneNumber};
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::flows::otp_flow::{check_code, live_flow, send_code};
use crate::store::accounts::Origin;
use crate::store::citizens::CitizenRecord;
use crate::store::flows::{FLOWS, Flow};
use crate::store::{StoreError, accounts, audit, citizens};
use crate::{upload, util};

use super::{
    FLOW_KIND, MSG_EXISTS, MSG_NOT_FOUND, RequestData, decode, object, object_str, require_any,
    require_unit,
};

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

pub(super) fn form_of(app: &App, d: &RequestData, printed_at: i64) -> crate::pdf::RequestForm {
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

pub(super) async fn render_pdf(form: crate::pdf::RequestForm) -> AppResult<Vec<u8>> {
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
                    hash.clone(),
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
        let _ = app
            .db(move |app| {
                upload::discard(app, &hash);
                Ok(())
            })
            .await;
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
        let _ = app
            .db(move |app| {
                upload::discard(app, &hash);
                Ok(())
            })
            .await;
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
            upload::discard(app, &h);
        }
        if n > 0 {
            tracing::info!(requests = n, "expired citizen-account requests removed");
        }
        Ok(n)
    })
    .await
}
