//! Step 1: the request as typed, checked, and stored with its scanned ID.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::App;
use crate::domain::{BirthDate, CitizenId, Email, PersonName, PhoneNumber};
use crate::error::{AppError, AppResult};
use crate::flows::{Actor, staff_units};
use crate::store::citizens::ScanRef;
use crate::store::flows::{FLOWS, Flow};
use crate::store::{accounts, audit, citizens};
use crate::upload::FilePart;
use crate::{upload, util};

use super::in_progress::sweep;
use super::{FLOW_KIND, MSG_EXISTS, REQUEST_TTL, RequestData, object, require_any, today};

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
        let hash = upload::save(app, &bytes).map_err(|e| {
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
                upload::discard(app, &hash);
            }
        }
        r
    })
    .await?;
    Ok(flow_id)
}
