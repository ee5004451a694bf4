//! Yêu cầu cấp quyền: access requests from staff, approved or rejected by unit admins.
use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};

use super::{Framed, error_page, frame, parse_id};
use crate::app::App;
use crate::domain::{CitizenId, Permission, PermissionSet};
use crate::error::AppError;
use crate::flows::Actor;
use crate::util;
use crate::web::ctx::FormData;
use crate::web::ctx::{redirect, status_of};
use crate::web::extract::{CsrfForm, StaffActor};
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(AccessPage = "console/access_requests.html" { items: Val, groups: Val, status: Val, error: Val });

#[derive(serde::Deserialize, Default)]
struct AccessQuery {
    status: Option<String>,
}

pub(super) async fn access_ctx(
    app: &Arc<App>,
    actor: &Actor,
    status: &str,
    error: Option<String>,
) -> Framed<AccessPage> {
    use crate::store::access_requests::Status;
    let st = Status::parse(status).unwrap_or(Status::Pending);
    let list = crate::flows::access_requests::visible(app, actor, Some(st))
        .await
        .unwrap_or_default();
    let tree = app.tree();
    let mut items = vec![];
    for r in list {
        let person = crate::flows::reports::account_named(app, &r.username)
            .await
            .ok()
            .flatten();
        let held = tree.effective(&actor.account, r.unit);
        items.push(context! {
            id => r.id,
            full_name => person.as_ref().map(|p| p.full_name.clone()).unwrap_or_default(),
            id_masked => person.as_ref().and_then(|p| p.id_number.as_deref()).and_then(|i| CitizenId::parse(i).ok()).map(|i| i.masked()).unwrap_or_default(),
            unit => tree.name(r.unit), eligible => tree.eligible(r.unit),
            position => r.position, work_phone => r.work_phone, note => r.note,
            created_at => util::fmt_time(r.created_at),
            pending => r.status == Status::Pending, status => r.status.label_vi(), reason => r.reason,
            grantable => held.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        });
    }
    let groups: Vec<minijinja::Value> = ["Nhóm quyền hỗ trợ", "Nhóm quyền quản trị"]
        .iter()
        .map(|g| context! { name => *g, perms => Permission::ALL.iter().filter(|p| p.group_vi() == *g).map(|p| context! { key => p.as_str(), label => p.label_vi() }).collect::<Vec<_>>() })
        .collect();
    Framed(
        frame(app, Some(actor), "Yêu cầu cấp quyền", "access").await,
        page_ctx!(AccessPage { items => items, groups => groups, status => st.as_str(), error => error }),
    )
}

#[handler]
pub(super) async fn access_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Query(q): Query<AccessQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !actor.account.has_any(Permission::UsersCreate) {
        return error_page(app, req, Some(&actor), &AppError::Forbidden);
    }
    let ctx = access_ctx(app, &actor, q.status.as_deref().unwrap_or("pending"), None).await;
    ctx.render(app, req, StatusCode::OK)
}

#[handler]
pub(super) async fn access_approve(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return error_page(app, req, Some(&actor), &AppError::not_found());
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
    match crate::flows::access_requests::approve(app, &actor, id, perms).await {
        Ok(_) => redirect("/quan-tri/yeu-cau-cap-quyen?ok=duyet"),
        Err(e) => {
            let ctx = access_ctx(app, &actor, "pending", Some(e.to_string())).await;
            ctx.render(app, req, status_of(&e))
        }
    }
}

#[handler]
pub(super) async fn access_reject(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return error_page(app, req, Some(&actor), &AppError::not_found());
    };
    match crate::flows::access_requests::reject(app, &actor, id, &form.text("reason")).await {
        Ok(_) => redirect("/quan-tri/yeu-cau-cap-quyen?ok=tu-choi"),
        Err(e) => {
            let ctx = access_ctx(app, &actor, "pending", Some(e.to_string())).await;
            ctx.render(app, req, status_of(&e))
        }
    }
}
