//! Đơn vị: the unit tree, creating and renaming units.
use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::{Framed, error_page, frame, parse_id};
use crate::app::App;
use crate::domain::Permission;
use crate::error::AppError;
use crate::flows::{Actor, admin};
use crate::web::ctx::FormData;
use crate::web::ctx::{redirect, status_of};
use crate::web::extract::{CsrfForm, StaffActor};
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(UnitsPage = "console/units.html" { rows: Val, manageable: Val, manageable_ids: Val, error: Val, form: Val });
pub(super) async fn units_ctx(
    app: &Arc<App>,
    actor: &Actor,
    error: Option<String>,
    name: &str,
) -> Framed<UnitsPage> {
    let tree = app.tree();
    let manageable = admin::manageable_units(app, &actor.account);
    let ids: Vec<u64> = manageable.iter().map(|r| r.id).collect();
    Framed(
        frame(app, Some(actor), "Đơn vị", "units").await,
        page_ctx!(UnitsPage {
            rows => crate::web::ctx::v(&tree.rows()), manageable => crate::web::ctx::v(&manageable), manageable_ids => ids, error => error, form => context! { name => name },
        }),
    )
}

pub(super) fn require_unit_admin(actor: &Actor) -> Result<(), AppError> {
    if actor.account.superadmin || actor.account.has_any(Permission::UsersCreate) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[handler]
pub(super) async fn units_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if let Err(e) = require_unit_admin(&actor) {
        return error_page(app, req, Some(&actor), &e);
    }
    units_ctx(app, &actor, None, "")
        .await
        .render(app, req, StatusCode::OK)
}

#[handler]
pub(super) async fn unit_create(
    req: &Request,
    StaffActor(actor): StaffActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let parent = parse_id(&form.text("parent_id"));
    match admin::create_unit(app, &actor, &form.text("name"), parent).await {
        Ok(_) => redirect("/quan-tri/don-vi?ok=don-vi"),
        Err(e) => units_ctx(app, &actor, Some(e.to_string()), &form.text("name"))
            .await
            .render(app, req, status_of(&e)),
    }
}

#[handler]
pub(super) async fn unit_rename(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return error_page(app, req, Some(&actor), &AppError::not_found());
    };
    match admin::rename_unit(app, &actor, id, &form.text("name")).await {
        Ok(_) => redirect("/quan-tri/don-vi?ok=don-vi"),
        Err(e) => units_ctx(app, &actor, Some(e.to_string()), "")
            .await
            .render(app, req, status_of(&e)),
    }
}
