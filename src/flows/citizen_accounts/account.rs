//! One created account: its record, its scanned ID and printed form, each
//! view audited.

use std::sync::Arc;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::store::citizens::CitizenRecord;
use crate::store::{audit, citizens};
use crate::upload;

use super::in_progress::{form_of, render_pdf};
use super::{MSG_NO_ACCOUNT, RequestData, object_str, require_any, require_unit};

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
            upload::load(app, &hash).map_err(|e| {
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
