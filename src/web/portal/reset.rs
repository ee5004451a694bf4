//! Quên mật khẩu: the password-reset journey (account, SMS code, new password, done).
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::otp_step::{NewPassword, OtpSteps};
use super::{PFramed, captcha_ctx, fields_of, frame, info, other_error, query, secure};
use crate::app::App;
use crate::error::AppError;
use crate::flows::password_reset;
use crate::web::ctx::{FormData, clear_session_cookie, redirect, with_cookie};
use crate::web::extract::CsrfForm;
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(ForgotPage = "portal/forgot.html" { username: Val, captcha: Val, fields: Val, error: Val });
pub(super) async fn forgot_form(
    app: &Arc<App>,
    req: &Request,
    username: &str,
    error: Option<&AppError>,
) -> Response {
    let ctx = PFramed(
        frame(None, "Quên mật khẩu"),
        page_ctx!(ForgotPage {
            username => username,
            captcha => captcha_ctx(app, req).await,
            fields => fields_of(error),
            error => other_error(error),
        }),
    );
    ctx.render_after(app, req, error)
}

#[handler]
pub(super) async fn forgot_page(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    forgot_form(app, req, &query(req, "ten").unwrap_or_default(), None).await
}

#[handler]
pub(super) async fn forgot_submit(
    req: &Request,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let username = form.text("username");
    if form.get("doi_ma").is_some() {
        return forgot_form(app, req, &username, None).await;
    }
    match password_reset::start(
        app,
        &username,
        &form.text("captcha_id"),
        &form.text("captcha"),
        &crate::web::client_ip(req),
    )
    .await
    {
        Ok(s) => redirect(&format!("{}/{}", STEPS.code_base, s.flow_id)),
        Err(e) => forgot_form(app, req, &username, Some(&e)).await,
    }
}

/// The steps after the form: the SMS code, then the new password.
pub(super) const STEPS: OtpSteps = OtpSteps {
    journey: &password_reset::JOURNEY,
    code_base: "/quen-mat-khau/xac-thuc",
    password_base: "/quen-mat-khau/mat-khau",
    sent_label: "Nếu tên đăng nhập đúng, mã xác thực đã được gửi tới số điện thoại đã đăng ký của tài khoản.",
    note: None,
    password_heading: "Đặt lại mật khẩu",
    password_lead: "Vui lòng đặt mật khẩu mới cho tài khoản.",
    password_button: "Lưu mật khẩu mới",
    expired_heading: "Phiên đặt lại mật khẩu đã hết hạn",
    expired_paragraphs: &[
        "Phiên đặt lại mật khẩu này đã hết hạn hoặc không còn hiệu lực (cần hoàn tất trong vòng 15 phút).",
        "Vui lòng thực hiện lại.",
    ],
    expired_link: ("/quen-mat-khau", "Thực hiện lại"),
};

#[handler]
pub(super) async fn reset_password_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let p = NewPassword::of(req, &form);
    let r = password_reset::set_password(app, &flow, &p.password, &p.confirm, &p.ip).await;
    let done = r.map(|()| {
        with_cookie(
            redirect("/quen-mat-khau/thanh-cong"),
            &clear_session_cookie(secure(app)),
        )
    });
    STEPS.after_password(app, req, &flow, done)
}

#[handler]
pub(super) async fn reset_done(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    info(
        app,
        req,
        None,
        StatusCode::OK,
        "Đặt lại mật khẩu thành công",
        &[
            "Mật khẩu mới đã được lưu. Mọi phiên đăng nhập trước đây của tài khoản đã kết thúc, và một tin nhắn thông báo đã được gửi tới số điện thoại đăng ký.",
        ],
        &[],
        false,
        &[("/dang-nhap", "Đăng nhập")],
    )
}
