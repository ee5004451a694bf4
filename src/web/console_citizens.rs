//! Console: Quản trị hệ thống → Tạo tài khoản công dân (seed part I).

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, Route, get, handler};

use super::console::{shell, staff};
use super::ctx::page;
use crate::app::App;
use crate::flows::staff_units;

pub fn routes() -> Route {
    Route::new().at("/", get(list_page))
}

#[handler]
async fn list_page(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    let actor = match staff(app, req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let units = staff_units::for_staff(app, &actor.account);
    let ctx = context! { ..shell(app, Some(&actor), "Tạo tài khoản công dân", "citizen"), ..context! { units => super::ctx::v(&units.units), reason => super::ctx::v(&units.reason) } };
    page(app, req, "console/citizen_accounts.html", StatusCode::OK, ctx)
}
