//! The citizen portal at /.

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, Route, get, handler};

use super::ctx::page;
use crate::app::App;

pub fn routes() -> Route {
    Route::new().at("/", get(home))
}

#[handler]
async fn home(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    let me = super::ctx::current(app, req, false).await;
    let ctx = context! {
        title => "Trang chủ",
        me => me.map(|a| context! { full_name => a.account.full_name }),
    };
    page(app, req, "portal/home.html", StatusCode::OK, ctx)
}
