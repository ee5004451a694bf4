//! Administration: units, staff, grants, own password.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::app::App;
use crate::auth::session;
use crate::domain::unit::UnitName;
use crate::domain::{
    CitizenId, Email, PasswordContext, Permission, PermissionSet, PersonName, PhoneNumber,
};
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::store::accounts::{self, Account, Origin};
use crate::store::audit;
use crate::store::units::{self, Unit};

/// The console menu's badges: access requests waiting for this staff
/// member's decision, and new support requests they may handle. Two
/// counter reads (per unit, see `store::counters`) on the store pool.
pub async fn menu_counts(app: &Arc<App>, a: &Account) -> MenuCounts {
    let users = a.has_any(Permission::UsersCreate);
    let support = a.has_any(Permission::SupportManage);
    if !users && !support {
        return MenuCounts::default();
    }
    let a = a.clone();
    app.db(move |app| {
        use crate::store::counters::{self, ACCESS_PENDING, TICKETS_NEW};
        let (pending, new) = app.store.read(|r| {
            Ok((
                counters::by_unit(r, ACCESS_PENDING)?,
                counters::by_unit(r, TICKETS_NEW)?,
            ))
        })?;
        let tree = app.tree();
        let sum = |v: &[(u64, u64)], p: Permission| -> usize {
            v.iter()
                .filter(|(unit, _)| tree.allows(&a, p, *unit))
                .map(|(_, n)| *n as usize)
                .sum()
        };
        Ok(MenuCounts {
            access: if users {
                sum(&pending, Permission::UsersCreate)
            } else {
                0
            },
            support: if support {
                sum(&new, Permission::SupportManage)
            } else {
                0
            },
        })
    })
    .await
    .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MenuCounts {
    pub access: usize,
    pub support: usize,
}

fn require(app: &App, actor: &Actor, p: Permission, unit: u64) -> AppResult<()> {
    let tree = app.tree();
    if tree.get(unit).is_none() {
        return Err(AppError::NotFound("Không tìm thấy đơn vị.".into()));
    }
    if tree.allows(&actor.account, p, unit) {
        Ok(())
    } else if actor.account.has_any(p) {
        // Holds the permission elsewhere: the unit is outside their subtree.
        Err(AppError::NotFound("Không tìm thấy đơn vị.".into()))
    } else {
        Err(AppError::Forbidden)
    }
}

/// Units the actor may manage (users.create), as tree rows.
pub fn manageable_units(app: &App, actor: &Account) -> Vec<crate::org::TreeRow> {
    let tree = app.tree();
    let ids = tree.units_with(actor, Permission::UsersCreate);
    tree.rows()
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .collect()
}

pub async fn create_unit(
    app: &Arc<App>,
    actor: &Actor,
    name: &str,
    parent: Option<u64>,
) -> AppResult<Unit> {
    let name = UnitName::parse(name).map_err(|e| AppError::field("name", e.0))?;
    match parent {
        Some(p) => require(app, actor, Permission::UsersCreate, p)?,
        None if actor.account.superadmin => {}
        None => {
            return Err(AppError::field(
                "parent_id",
                "Vui lòng chọn đơn vị cấp trên.",
            ));
        }
    }
    let now = app.now();
    let (actor_name, ip) = (actor.username().to_string(), actor.ip.clone());
    let u = app
        .db(move |app| {
            Ok(app.store.write(|w| {
                let u = units::insert(w, None, name.as_str(), parent, now)?;
                audit::record(
                    w,
                    now,
                    &actor_name,
                    "unit_create",
                    &format!("unit:{}", u.id),
                    &ip,
                    &u.name,
                )?;
                Ok::<_, crate::store::StoreError>(u)
            })?)
        })
        .await?;
    app.reload_tree()?;
    Ok(u)
}

pub async fn rename_unit(app: &Arc<App>, actor: &Actor, id: u64, name: &str) -> AppResult<Unit> {
    require(app, actor, Permission::UsersCreate, id)?;
    let name = UnitName::parse(name).map_err(|e| AppError::field("name", e.0))?;
    let now = app.now();
    let (actor_name, ip) = (actor.username().to_string(), actor.ip.clone());
    let u = app
        .db(move |app| {
            app.store.write(|w| {
                let mut u = units::get(w, id)?.ok_or_else(AppError::not_found)?;
                let old = std::mem::replace(&mut u.name, name.as_str().to_string());
                units::put(w, &u)?;
                audit::record(
                    w,
                    now,
                    &actor_name,
                    "unit_rename",
                    &format!("unit:{id}"),
                    &ip,
                    &format!("{old} → {}", u.name),
                )?;
                Ok(u)
            })
        })
        .await?;
    app.reload_tree()?;
    Ok(u)
}

#[derive(Debug, Clone, Default)]
pub struct NewStaff {
    pub username: String,
    pub full_name: String,
    pub id_number: String,
    pub phone: String,
    pub email: Option<String>,
    pub unit_ids: Vec<u64>,
}

/// Creates a staff account; the temporary password goes to the person's phone
/// by SMS and must be changed at first sign-in.
pub async fn create_staff(app: &Arc<App>, actor: &Actor, input: NewStaff) -> AppResult<Account> {
    let mut fields = BTreeMap::new();
    let username = crate::domain::username::parse(&input.username)
        .map_err(|e| fields.insert("username".into(), e.0))
        .ok();
    let name = PersonName::parse(&input.full_name)
        .map_err(|e| fields.insert("full_name".into(), e.0))
        .ok();
    let id = CitizenId::parse(&input.id_number)
        .map_err(|e| fields.insert("id_number".into(), e.0))
        .ok();
    let phone = PhoneNumber::parse(&input.phone)
        .map_err(|e| fields.insert("phone".into(), e.0))
        .ok();
    let email = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => Email::parse(e)
            .map_err(|e| fields.insert("email".into(), e.0))
            .ok(),
        None => None,
    };
    if input.unit_ids.is_empty() {
        fields.insert(
            "unit_ids".into(),
            "Vui lòng chọn ít nhất một đơn vị.".into(),
        );
    }
    let (Some(username), Some(name), Some(id), Some(phone)) = (username, name, id, phone) else {
        return Err(AppError::fields(fields));
    };
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    for u in &input.unit_ids {
        require(app, actor, Permission::UsersCreate, *u)?;
    }
    let temp = crate::auth::generate_password();
    let hash = app.hasher.try_hash(temp.clone()).await?;
    let now = app.now();
    let (actor_name, ip) = (actor.username().to_string(), actor.ip.clone());
    let units_ = input.unit_ids.clone();
    let a = app
        .db(move |app| {
            app.store.write(|w| {
                if accounts::get(w, &username)?.is_some() {
                    return Err(AppError::Conflict("Tên đăng nhập này đã được sử dụng.".into()));
                }
                if accounts::by_id_number(w, id.as_str())?.is_some() {
                    return Err(AppError::Conflict(
                        "Số CMND/CCCD này đã có tài khoản. Mỗi người chỉ có một tài khoản: hãy cấp quyền cho tài khoản đó thay vì tạo mới."
                            .into(),
                    ));
                }
                let mut a = Account::new(&username, Some(&id), name.as_str(), &phone, email.as_ref(), hash.clone(), Origin::StaffByAdmin, now);
                a.units = units_.clone();
                a.must_change_password = true;
                a.created_by = Some(actor_name.clone());
                accounts::put(w, &a)?;
                {
                    use crate::sms::template::{HO_TEN, Id, MAT_KHAU, TEN_DANG_NHAP, Vars};
                    crate::sms::queue(
                        app,
                        w,
                        Id::StaffPassword,
                        phone.as_str(),
                        &Vars::new()
                            .with(TEN_DANG_NHAP.name, username.clone())
                            .with(MAT_KHAU.name, temp.clone())
                            .with(HO_TEN.name, name.as_str().to_string()),
                        now,
                    )?;
                }
                audit::record(w, now, &actor_name, "staff_create", &format!("staff:{username}"), &ip, &format!("id {}", id.masked()))?;
                Ok(a)
            })
        })
        .await?;
    app.sms_wake.notify_one();
    Ok(a)
}

/// Sets the permissions of `username` on `unit` to exactly `perms`. The actor
/// must hold users.create there and every permission added or removed.
pub async fn set_grants(
    app: &Arc<App>,
    actor: &Actor,
    username: &str,
    unit: u64,
    perms: PermissionSet,
) -> AppResult<Account> {
    require(app, actor, Permission::UsersCreate, unit)?;
    let tree = app.tree();
    let held = tree.effective(&actor.account, unit);
    let username = username.trim().to_lowercase();
    let now = app.now();
    let (actor_name, ip, actor_super) = (
        actor.username().to_string(),
        actor.ip.clone(),
        actor.account.superadmin,
    );
    app.db(move |app| {
        app.store.write(|w| {
            let Some(mut a) = accounts::find_login(w, &username)? else {
                return Err(AppError::NotFound("Không tìm thấy người dùng.".into()));
            };
            if a.superadmin && !actor_super {
                return Err(AppError::Forbidden);
            }
            if a.username == actor_name && !actor_super {
                return Err(AppError::Conflict(
                    "Không thể tự cấp quyền cho chính mình.".into(),
                ));
            }
            let before = a.grant_on(unit);
            for p in Permission::ALL {
                if before.contains(p) != perms.contains(p) && !held.contains(p) {
                    return Err(AppError::Forbidden);
                }
            }
            a.set_grant(unit, perms);
            if !a.units.contains(&unit) && !perms.is_empty() {
                a.units.push(unit);
            }
            accounts::put(w, &a)?;
            let list: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
            audit::record(
                w,
                now,
                &actor_name,
                "grants_set",
                &format!("staff:{}", a.username),
                &ip,
                &format!("unit:{unit} [{}]", list.join(",")),
            )?;
            Ok(a)
        })
    })
    .await
}

/// Changes the actor's own password; other sessions end, this one is renewed.
pub async fn change_password(
    app: &Arc<App>,
    actor: &Actor,
    current: &str,
    new: &str,
    confirm: &str,
) -> AppResult<String> {
    let a = &actor.account;
    let ctx = PasswordContext {
        id_number: a.id_number.as_deref(),
        phone: Some(&a.phone),
        full_name: Some(&a.full_name),
        username: Some(&a.username),
    };
    let mut fields = super::new_password_fields(new, confirm, &ctx);
    if new == current {
        fields.insert(
            "password".into(),
            "Mật khẩu mới phải khác mật khẩu hiện tại.".into(),
        );
    }
    if !app
        .hasher
        .verify(current.to_string(), Some(a.password_hash.clone()))
        .await
    {
        fields.insert(
            "current_password".into(),
            "Mật khẩu hiện tại không đúng.".into(),
        );
    }
    if !fields.is_empty() {
        return Err(AppError::fields(fields));
    }
    let hash = app.hasher.try_hash(new.to_string()).await?;
    let now = app.now();
    let username = a.username.clone();
    let ip = actor.ip.clone();
    let console = actor.console;
    app.db(move |app| {
        app.store.write(|w| {
            let mut a = accounts::get(w, &username)?.ok_or(AppError::Unauthorized)?;
            a.password_hash = hash.clone();
            a.must_change_password = false;
            a.session_epoch += 1;
            accounts::put(w, &a)?;
            audit::record(
                w,
                now,
                &username,
                "password_change",
                &format!("account:{username}"),
                &ip,
                "",
            )?;
            Ok(session::create(w, &a, console, false, now)?)
        })
    })
    .await
}

/// Staff accounts the actor may see: those with a unit in the actor's
/// users.create subtree (everyone for a province admin).
pub async fn visible_staff(app: &Arc<App>, actor: &Account) -> AppResult<Vec<Account>> {
    let tree = app.tree();
    let scope = tree.units_with(actor, Permission::UsersCreate);
    let is_super = actor.superadmin;
    app.db(move |app| {
        let all = app.store.read(accounts::all)?;
        Ok(all
            .into_iter()
            .filter(|a| a.is_staff())
            .filter(|a| is_super || a.units.iter().any(|u| scope.contains(u)))
            .collect())
    })
    .await
}
