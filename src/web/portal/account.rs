//! Tài khoản: the signed-in citizen's account page, password change and sign-out.
use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::{PFramed, fields_of, frame, other_error, query, secure};
use crate::app::App;
use crate::error::AppError;
use crate::flows::{Actor, admin, sign_in};
use crate::store::accounts::Origin;
use crate::web::api::portal::masked_id;
use crate::web::ctx::{
    FormData, clear_session_cookie, read_form, redirect, session_cookie, with_cookie,
};
use crate::web::extract::{CitizenActor, CsrfForm};
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(AccountPage = "portal/account.html" { profile: Val, notice: Val });
page_type!(ChangePasswordPage = "portal/change_password.html" { forced: Val, fields: Val, error: Val });

#[handler]
pub(super) async fn account_home(
    req: &Request,
    CitizenActor(actor): CitizenActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let a = &actor.account;
    let origin = match a.origin {
        Origin::SelfRegistered => "Tự đăng ký trực tuyến (thuê bao di động)",
        Origin::CitizenByStaff => "Cán bộ một cửa tạo tại bộ phận tiếp nhận",
        Origin::StaffByAdmin | Origin::Bootstrap => "Tài khoản cán bộ",
    };
    let profile = context! {
        full_name => a.full_name.clone(),
        id_masked => a.id_number.as_deref().map(masked_id),
        birth_date => a.birth_date.clone(),
        phone_masked => crate::domain::phone::mask(&a.phone),
        email => a.email.clone(),
        origin => origin,
    };
    let notice = query(req, "da-doi")
        .map(|_| "Đổi mật khẩu thành công. Các phiên đăng nhập khác của anh/chị đã kết thúc.");
    let ctx = PFramed(
        frame(Some(&actor), "Thông tin tài khoản"),
        page_ctx!(AccountPage { profile => profile, notice => notice }),
    );
    ctx.render(app, req, StatusCode::OK)
}

pub(super) fn change_password_view(
    app: &App,
    req: &Request,
    actor: &Actor,
    error: Option<&AppError>,
) -> Response {
    let ctx = PFramed(
        frame(Some(actor), "Đổi mật khẩu"),
        page_ctx!(ChangePasswordPage {
            forced => actor.account.must_change_password,
            fields => fields_of(error),
            error => other_error(error),
        }),
    );
    ctx.render_after(app, req, error)
}

#[handler]
pub(super) async fn change_password_page(
    req: &Request,
    CitizenActor(actor): CitizenActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    change_password_view(app, req, &actor, None)
}

#[handler]
pub(super) async fn change_password_submit(
    req: &Request,
    CitizenActor(actor): CitizenActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let token = match admin::change_password(
        app,
        &actor,
        &form.text("current_password"),
        &form.text("password"),
        &form.text("password_confirm"),
    )
    .await
    {
        Ok(t) => t,
        Err(e) => return change_password_view(app, req, &actor, Some(&e)),
    };
    // The new session keeps the realm of the actor's (portal) session.
    with_cookie(
        redirect("/tai-khoan?da-doi=1"),
        &session_cookie(&token, secure(app)),
    )
}

#[handler]
pub(super) async fn logout(req: &Request, body: Body, Data(app): Data<&Arc<App>>) -> Response {
    let signed_in = match read_form(req, body).await {
        Ok(_) => crate::web::ctx::current(app, req, false).await,
        Err(_) => None,
    };
    if let Some(t) = signed_in.and_then(|a| a.token) {
        let _ = sign_in::sign_out(app, &t).await;
    }
    with_cookie(redirect("/"), &clear_session_cookie(secure(app)))
}
