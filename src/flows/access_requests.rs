//! Staff access requests (seed part I, before step 1): a person with a portal
//! account asks the admin of their unit for permissions; the admin approves
//! with permissions they hold there, or rejects with a reason. One identity:
//! the same account then signs in to the console.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::App;
use crate::domain::{CitizenId, Permission, PermissionSet, PhoneNumber, text};
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::store::access_requests::{AccessRequest, REQUESTS, Status};
use crate::store::{WriteTx, accounts, audit, meta};

#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub unit_id: Option<u64>,
    pub position: String,
    pub work_phone: Option<String>,
    pub note: Option<String>,
}

/// Files a request for the signed-in portal account.
pub async fn submit(app: &Arc<App>, actor: &Actor, input: NewRequest) -> AppResult<AccessRequest> {
    let mut fields = BTreeMap::new();
    let tree = app.tree();
    let unit = match input.unit_id {
        Some(u) if tree.get(u).is_some() => Some(u),
        Some(_) => {
            fields.insert("unit_id".to_string(), "Đơn vị không tồn tại.".to_string());
            None
        }
        None => {
            fields.insert("unit_id".into(), "Vui lòng chọn đơn vị công tác.".into());
            None
        }
    };
    let position = text::collapse_whitespace(&text::nfc(&input.position));
    if position.chars().count() < 2 || position.chars().count() > 100 {
        fields.insert(
            "position".into(),
            "Vui lòng nhập chức vụ (2–100 ký tự).".into(),
        );
    }
    let work_phone = match input
        .work_phone
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(p) => match PhoneNumber::parse(p) {
            Ok(p) => Some(p.as_str().to_string()),
            Err(e) => {
                fields.insert("work_phone".into(), e.0);
                None
            }
        },
        None => None,
    };
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        fields.insert("note".into(), "Ghi chú tối đa 500 ký tự.".into());
    }
    let (Some(unit), true) = (unit, fields.is_empty()) else {
        return Err(AppError::fields(fields));
    };
    if actor.account.id_number.is_none() {
        return Err(AppError::invalid(
            "Tài khoản này không có số CMND/CCCD nên không thể đề nghị cấp quyền cán bộ.",
        ));
    }
    let now = app.now();
    let username = actor.account.username.clone();
    let who = crate::store::audit::actor_label(&actor.account);
    let ip = actor.ip.clone();
    app.db(move |app| {
        app.store.write(|w| {
            let open = crate::store::access_requests::all(w)?
                .into_iter()
                .any(|r| r.username == username && r.unit == unit && r.status == Status::Pending);
            if open {
                return Err(AppError::Conflict(
                    "Anh/chị đã có một đề nghị đang chờ duyệt tại đơn vị này.".into(),
                ));
            }
            let id = meta::next_id(w, "access_requests")?;
            let r = AccessRequest {
                id,
                username: username.clone(),
                unit,
                position: position.clone(),
                work_phone: work_phone.clone(),
                note: note.clone(),
                created_at: now,
                status: Status::Pending,
                decided_by: None,
                decided_at: None,
                reason: None,
                permissions: vec![],
            };
            crate::store::access_requests::put(w, &r)?;
            audit::record(
                w,
                now,
                &who,
                "access_request_submit",
                &format!("request:{id}"),
                &ip,
                &format!("unit:{unit}"),
            )?;
            Ok(r)
        })
    })
    .await
}

/// Requests the actor may decide (users.create on the request's unit).
pub async fn visible(
    app: &Arc<App>,
    actor: &Actor,
    status: Option<Status>,
) -> AppResult<Vec<AccessRequest>> {
    let tree = app.tree();
    let a = actor.account.clone();
    let all = app
        .db(|app| Ok(app.store.read(crate::store::access_requests::all)?))
        .await?;
    Ok(all
        .into_iter()
        .filter(|r| status.is_none_or(|s| r.status == s))
        .filter(|r| tree.allows(&a, Permission::UsersCreate, r.unit))
        .collect())
}

pub async fn pending_count(app: &Arc<App>, actor: &Actor) -> usize {
    if !actor.account.has_any(Permission::UsersCreate) {
        return 0;
    }
    visible(app, actor, Some(Status::Pending))
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

/// Requests filed by the actor themselves (portal home).
pub async fn mine(app: &Arc<App>, username: &str) -> AppResult<Vec<AccessRequest>> {
    let u = username.to_string();
    let all = app
        .db(|app| Ok(app.store.read(crate::store::access_requests::all)?))
        .await?;
    Ok(all.into_iter().filter(|r| r.username == u).collect())
}

fn load_for_decision(
    app: &App,
    actor: &Actor,
    r: Option<AccessRequest>,
) -> AppResult<AccessRequest> {
    let tree = app.tree();
    let r = r.ok_or_else(|| AppError::NotFound("Không tìm thấy đề nghị.".into()))?;
    if !tree.allows(&actor.account, Permission::UsersCreate, r.unit) {
        // Existence is not revealed to other units.
        return Err(if actor.account.has_any(Permission::UsersCreate) {
            AppError::NotFound("Không tìm thấy đề nghị.".into())
        } else {
            AppError::Forbidden
        });
    }
    if r.status != Status::Pending {
        return Err(AppError::Conflict("Đề nghị này đã được xử lý.".into()));
    }
    Ok(r)
}

pub async fn approve(
    app: &Arc<App>,
    actor: &Actor,
    id: u64,
    perms: PermissionSet,
) -> AppResult<AccessRequest> {
    if perms.is_empty() {
        return Err(AppError::field(
            "permissions",
            "Vui lòng chọn ít nhất một quyền.",
        ));
    }
    decide(
        app,
        actor,
        id,
        Status::Approved,
        move |app, w, actor2, r, now| {
            let held = app.tree().effective(&actor2.account, r.unit);
            if !perms.is_subset(&held) {
                return Err(AppError::Forbidden);
            }
            if r.username == actor2.account.username {
                return Err(AppError::Conflict(
                    "Không thể tự duyệt đề nghị của chính mình.".into(),
                ));
            }
            let mut a = accounts::get(w, &r.username)?.ok_or_else(|| {
                AppError::NotFound("Không tìm thấy tài khoản của người đề nghị.".into())
            })?;
            let mut set = a.grant_on(r.unit);
            for p in perms.iter() {
                set.insert(p);
            }
            a.set_grant(r.unit, set);
            if !a.units.contains(&r.unit) {
                a.units.push(r.unit);
            }
            accounts::put(w, &a)?;
            r.permissions = perms.iter().map(|p| p.as_str().to_string()).collect();
            let unit_name = app.tree().name(r.unit);
            let labels: Vec<&str> = perms.iter().map(|p| p.label_vi()).collect();
            {
                use crate::sms::template::{HO_TEN, Id, QUYEN, TEN_DON_VI, Vars};
                crate::sms::queue(
                    app,
                    w,
                    Id::AccessApproved,
                    &a.phone,
                    &Vars::new()
                        .with(TEN_DON_VI.name, unit_name)
                        .with(QUYEN.name, labels.join(", "))
                        .with(HO_TEN.name, a.full_name.clone()),
                    now,
                )?;
            }
            let idm = a
                .id_number
                .as_deref()
                .and_then(|i| CitizenId::parse(i).ok())
                .map(|i| i.masked())
                .unwrap_or_default();
            audit::record(
                w,
                now,
                &actor2.account.username,
                "access_request_approve",
                &format!("request:{id} id {idm}"),
                &actor2.ip,
                &format!("unit:{} [{}]", r.unit, r.permissions.join(",")),
            )?;
            Ok(())
        },
    )
    .await
}

pub async fn reject(
    app: &Arc<App>,
    actor: &Actor,
    id: u64,
    reason: &str,
) -> AppResult<AccessRequest> {
    let reason = text::collapse_whitespace(&text::nfc(reason));
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::field(
            "reason",
            "Vui lòng nhập lý do từ chối (tối đa 500 ký tự).",
        ));
    }
    decide(
        app,
        actor,
        id,
        Status::Rejected,
        move |app, w, actor2, r, now| {
            r.reason = Some(reason.clone());
            if let Some(a) = accounts::get(w, &r.username)? {
                let unit_name = app.tree().name(r.unit);
                use crate::sms::template::{HO_TEN, Id, LY_DO, TEN_DON_VI, Vars};
                crate::sms::queue(
                    app,
                    w,
                    Id::AccessRejected,
                    &a.phone,
                    &Vars::new()
                        .with(TEN_DON_VI.name, unit_name)
                        .with(LY_DO.name, reason.clone())
                        .with(HO_TEN.name, a.full_name.clone()),
                    now,
                )?;
            }
            audit::record(
                w,
                now,
                &actor2.account.username,
                "access_request_reject",
                &format!("request:{id}"),
                &actor2.ip,
                &reason,
            )?;
            Ok(())
        },
    )
    .await
}

/// A decision on request `id` in one write: the request if the actor may
/// decide it ([`load_for_decision`]), marked `status` by the actor now;
/// `apply` makes what the decision changes (grants, SMS, audit); the
/// request is saved. Then the SMS worker is woken.
async fn decide(
    app: &Arc<App>,
    actor: &Actor,
    id: u64,
    status: Status,
    apply: impl Fn(&App, &WriteTx, &Actor, &mut AccessRequest, i64) -> AppResult<()> + Send + 'static,
) -> AppResult<AccessRequest> {
    let now = app.now();
    let actor = actor.clone();
    let r = app
        .db(move |app| {
            app.store.write(|w| {
                let mut r = load_for_decision(app, &actor, REQUESTS.get(w, &id)?)?;
                r.status = status;
                r.decided_by = Some(actor.account.username.clone());
                r.decided_at = Some(now);
                apply(app, w, &actor, &mut r, now)?;
                crate::store::access_requests::put(w, &r)?;
                Ok(r)
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(r)
}
