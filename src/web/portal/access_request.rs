//! Portal: "Đề nghị cấp quyền cán bộ" — a signed-in person asks the admin of
//! their unit for one-stop staff permissions.

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, Route, get, handler};

use crate::app::App;
use crate::flows::Actor;
use crate::flows::access_requests::{self, NewRequest};
use crate::web::ctx::{read_form, status_of};
use crate::web::extract::CitizenActor;
use crate::web::view::Val;
use crate::{page_ctx, page_type};

pub fn routes() -> Route {
    Route::new().at("/", get(form_page).post(submit))
}

async fn ctx(
    app: &Arc<App>,
    actor: &Actor,
    error: Option<String>,
    fields: Option<std::collections::BTreeMap<String, String>>,
    done: bool,
) -> crate::web::portal::PFramed<AccessRequestPage> {
    let mine = access_requests::mine(app, &actor.account.username)
        .await
        .unwrap_or_default();
    let tree = app.tree();
    let history: Vec<minijinja::Value> = mine
        .iter()
        .map(|r| context! { unit => tree.name(r.unit), status => r.status.label_vi(), created_at => crate::util::fmt_time(r.created_at), reason => r.reason.clone() })
        .collect();
    let id_masked = actor
        .account
        .id_number
        .as_deref()
        .and_then(|i| crate::domain::CitizenId::parse(i).ok())
        .map(|i| i.masked())
        .unwrap_or_default();
    crate::web::portal::PFramed(
        crate::web::portal::frame(Some(actor), "Đề nghị cấp quyền cán bộ"),
        page_ctx!(AccessRequestPage {
            id_masked => id_masked,
            units => crate::web::ctx::v(&tree.rows()),
            history => history,
            error => error,
            fields => fields.unwrap_or_default(),
            done => done,
        }),
    )
}

#[handler]
async fn form_page(
    req: &Request,
    CitizenActor(actor): CitizenActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let c = ctx(app, &actor, None, None, false).await;
    c.render(app, req, StatusCode::OK)
}

#[handler]
async fn submit(
    req: &Request,
    CitizenActor(actor): CitizenActor,
    body: Body,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let form = match read_form(req, body).await {
        Ok(f) => f,
        Err(e) => {
            let c = ctx(app, &actor, Some(e.to_string()), None, false).await;
            return c.render(app, req, status_of(&e));
        }
    };
    let input = NewRequest {
        unit_id: form.text("unit_id").trim().parse().ok(),
        position: form.text("position"),
        work_phone: form.get("work_phone").map(str::to_string),
        note: form.get("note").map(str::to_string),
    };
    match access_requests::submit(app, &actor, input).await {
        Ok(_) => {
            let c = ctx(app, &actor, None, None, true).await;
            c.render(app, req, StatusCode::CREATED)
        }
        Err(e) => {
            let c = ctx(
                app,
                &actor,
                Some(e.to_string()),
                e.field_map().cloned(),
                false,
            )
            .await;
            c.render(app, req, status_of(&e))
        }
    }
}

page_type!(AccessRequestPage = "portal/access_request.html" {
    id_masked: Val, units: Val, history: Val, error: Val, fields: Val, done: Val,
});

/// This module's page types, for the template tests.
#[cfg(test)]
pub(crate) fn pages() -> Vec<crate::web::view::check::Registered> {
    use crate::web::view::check::register;
    vec![
        register::<AccessRequestPage, crate::web::view::PortalShell>(
            crate::web::portal::sample_frame(),
        ),
    ]
}
