//! Cán bộ và phân quyền: staff accounts and their grants.
use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};

use super::units::require_unit_admin;
use super::{Framed, error_page, frame, parse_id};
use crate::app::App;
use crate::domain::{CitizenId, Permission, PermissionSet, PhoneNumber};
use crate::error::AppError;
use crate::flows::{Actor, admin};
use crate::web::ctx::FormData;
use crate::web::ctx::{redirect, status_of};
use crate::web::extract::{CsrfForm, StaffActor};
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(StaffPage = "console/staff.html" { staff: Val, manageable: Val, error: Val, fields: Val, form: Val });
page_type!(GrantsPage = "console/grants.html" { person: Val, units: Val, groups: Val, other_units: Val, error: Val });
pub(super) async fn staff_ctx(
    app: &Arc<App>,
    actor: &Actor,
    error: Option<String>,
    fields: Option<std::collections::BTreeMap<String, String>>,
    form: Option<&crate::web::ctx::FormData>,
) -> Framed<StaffPage> {
    let tree = app.tree();
    let list = admin::visible_staff(app, &actor.account)
        .await
        .unwrap_or_default();
    let rows: Vec<minijinja::Value> = list
        .iter()
        .map(|s| {
            context! {
                username => s.username.clone(), full_name => s.full_name.clone(),
                id_masked => s.id_number.as_deref().and_then(|i| CitizenId::parse(i).ok()).map(|i| i.masked()).unwrap_or_default(),
                phone_masked => PhoneNumber::parse(&s.phone).map(|p| p.masked()).unwrap_or_default(),
                units => s.units.iter().map(|u| tree.name(*u)).collect::<Vec<_>>(),
            }
        })
        .collect();
    let f = form.cloned().unwrap_or_default();
    Framed(
        frame(app, Some(actor), "Cán bộ và phân quyền", "staff").await,
        page_ctx!(StaffPage {
            staff => rows, manageable => crate::web::ctx::v(&admin::manageable_units(app, &actor.account)), error => error, fields => fields.unwrap_or_default(),
            form => context! { username => f.text("username"), full_name => f.text("full_name"), id_number => f.text("id_number"), phone => f.text("phone"), email => f.text("email"), unit_id => f.text("unit_id") },
        }),
    )
}

#[handler]
pub(super) async fn staff_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if let Err(e) = require_unit_admin(&actor) {
        return error_page(app, req, Some(&actor), &e);
    }
    let ctx = staff_ctx(app, &actor, None, None, None).await;
    ctx.render(app, req, StatusCode::OK)
}

#[handler]
pub(super) async fn staff_create(
    req: &Request,
    StaffActor(actor): StaffActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let input = admin::NewStaff {
        username: form.text("username"),
        full_name: form.text("full_name"),
        id_number: form.text("id_number"),
        phone: form.text("phone"),
        email: form.get("email").map(str::to_string),
        unit_ids: form
            .all("unit_id")
            .iter()
            .filter_map(|s| parse_id(s))
            .collect(),
    };
    match admin::create_staff(app, &actor, input).await {
        Ok(a) => redirect(&format!("/quan-tri/can-bo/{}?ok=can-bo-moi", a.username)),
        Err(e) => {
            let ctx = staff_ctx(
                app,
                &actor,
                Some(e.to_string()),
                e.field_map().cloned(),
                Some(&form),
            )
            .await;
            ctx.render(app, req, status_of(&e))
        }
    }
}

#[derive(serde::Deserialize)]
struct GrantsQuery {
    unit: Option<u64>,
}

pub(super) async fn grants_ctx(
    app: &Arc<App>,
    actor: &Actor,
    username: &str,
    extra_unit: Option<u64>,
    error: Option<String>,
) -> Result<Framed<GrantsPage>, AppError> {
    let person = crate::flows::reports::account_named(app, username)
        .await?
        .ok_or_else(|| AppError::NotFound("Không tìm thấy người dùng.".into()))?;
    let tree = app.tree();
    let scope = tree.units_with(&actor.account, Permission::UsersCreate);
    let visible = actor.account.superadmin
        || person
            .units
            .iter()
            .chain(person.grants.iter().map(|g| &g.unit))
            .any(|u| scope.contains(u));
    if !visible {
        return Err(AppError::NotFound("Không tìm thấy người dùng.".into()));
    }
    let mut unit_ids: Vec<u64> = person.units.clone();
    for g in &person.grants {
        if !unit_ids.contains(&g.unit) {
            unit_ids.push(g.unit);
        }
    }
    if let Some(x) = extra_unit.filter(|x| scope.contains(x) && !unit_ids.contains(x)) {
        unit_ids.push(x);
    }
    let units: Vec<minijinja::Value> = unit_ids
        .iter()
        .filter(|u| scope.contains(u))
        .map(|u| {
            let held = tree.effective(&actor.account, *u);
            context! {
                id => u, name => tree.name(*u),
                granted => person.grant_on(*u).iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                grantable => held.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            }
        })
        .collect();
    let groups: Vec<minijinja::Value> = ["Nhóm quyền hỗ trợ", "Nhóm quyền quản trị"]
        .iter()
        .map(|g| {
            context! { name => *g, perms => Permission::ALL.iter().filter(|p| p.group_vi() == *g).map(|p| context! { key => p.as_str(), label => p.label_vi() }).collect::<Vec<_>>() }
        })
        .collect();
    let others: Vec<crate::org::TreeRow> = admin::manageable_units(app, &actor.account)
        .into_iter()
        .filter(|r| !unit_ids.contains(&r.id))
        .collect();
    Ok(Framed(
        frame(app, Some(actor), "Phân quyền", "staff").await,
        page_ctx!(GrantsPage {
            person => context! { username => person.username, full_name => person.full_name },
            units => units, groups => groups, other_units => crate::web::ctx::v(&others), error => error,
        }),
    ))
}

#[handler]
pub(super) async fn grants_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(username): Path<String>,
    Query(q): Query<GrantsQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if let Err(e) = require_unit_admin(&actor) {
        return error_page(app, req, Some(&actor), &e);
    }
    match grants_ctx(app, &actor, &username, q.unit, None).await {
        Ok(ctx) => ctx.render(app, req, StatusCode::OK),
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
pub(super) async fn grants_submit(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(username): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(unit) = parse_id(&form.text("unit_id")) else {
        return error_page(
            app,
            req,
            Some(&actor),
            &AppError::invalid("Vui lòng chọn đơn vị."),
        );
    };
    let mut perms = PermissionSet::empty();
    for p in form.all("perm") {
        match Permission::parse(p) {
            Ok(p) => {
                perms.insert(p);
            }
            Err(e) => return error_page(app, req, Some(&actor), &e.into()),
        }
    }
    match admin::set_grants(app, &actor, &username, unit, perms).await {
        Ok(_) => redirect(&format!("/quan-tri/can-bo/{username}?ok=phan-quyen")),
        Err(e) => match grants_ctx(app, &actor, &username, Some(unit), Some(e.to_string())).await {
            Ok(ctx) => ctx.render(app, req, status_of(&e)),
            Err(e2) => error_page(app, req, Some(&actor), &e2),
        },
    }
}
