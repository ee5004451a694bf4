//! Signing in to the console (password, SMS code), signing out, the forced password change and the first admin's setup link.
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};

use super::{Framed, MessagePage, error_page, frame, frame_plain, message, secure};
use crate::app::App;
use crate::error::AppError;
use crate::flows::sign_in::Audience;
use crate::flows::{admin, setup, sign_in};
use crate::web::ctx::FormData;
use crate::web::ctx::{
    clear_session_cookie, read_form, redirect, session_cookie, signed_in, status_of, with_cookie,
};
use crate::web::extract::{CsrfForm, StaffActor};
use crate::web::view::{Fields, Page, Val, render};
use crate::{page_ctx, page_type};

page_type!(LoginPage = "console/login.html" { error: Val, fields: Val, username: Val, captcha: Val });
page_type!(OtpPage = "console/otp.html" { phone_masked: Val, resend_in: Val, action: Val, resend_action: Val, error: Val });
page_type!(SigninLinkPage = "console/signin_link.html" { username: Val });
/// `console/setup.html`: create the first province admin.
#[derive(serde::Serialize, Default)]
pub struct SetupPage {
    pub error: Option<String>,
    pub fields: Fields,
    pub form: SetupForm,
}

#[derive(serde::Serialize, Default)]
pub struct SetupForm {
    pub username: String,
    pub full_name: String,
    pub phone: String,
}

impl Page for SetupPage {
    const TEMPLATE: &'static str = "console/setup.html";
    fn samples() -> Vec<Self> {
        vec![SetupPage {
            error: Some("Lỗi".into()),
            fields: [("username".to_string(), "Sai".to_string())].into(),
            form: SetupForm::default(),
        }]
    }
}

/// `console/password.html`: change the password (forced for a temporary one).
#[derive(serde::Serialize, Default)]
pub struct PasswordPage {
    pub forced: bool,
    pub error: Option<String>,
    pub fields: Fields,
}

impl Page for PasswordPage {
    const TEMPLATE: &'static str = "console/password.html";
    fn samples() -> Vec<Self> {
        vec![PasswordPage {
            forced: true,
            error: Some("Lỗi".into()),
            fields: [("password".to_string(), "Yếu".to_string())].into(),
        }]
    }
}

#[handler]
pub(super) async fn login_page(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    if crate::web::ctx::current(app, req, true).await.is_some() {
        return redirect("/quan-tri");
    }
    Framed(
        frame_plain(None, "Đăng nhập", ""),
        page_ctx!(LoginPage { error => None::<String>, fields => Fields::new(), username => "", captcha => None::<String> }),
    )
    .render(app, req, StatusCode::OK)
}

#[handler]
pub(super) async fn login_submit(
    req: &Request,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let username = form.text("username");
    // The page again, with a captcha when the account's backstop asks
    // for one (sign-ins from browsers without the device cookie).
    let again = |error: Option<String>, fields: Fields, captcha: bool| {
        let username = username.clone();
        async move {
            let captcha = if captcha {
                Some(crate::web::portal::captcha_ctx(app, req).await)
            } else {
                None
            };
            let status = if error.is_some() || !fields.is_empty() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            Framed(
                frame_plain(None, "Đăng nhập", ""),
                page_ctx!(LoginPage { error => error, fields => fields, username => username, captcha => captcha }),
            )
            .render(app, req, status)
        }
    };
    // "Đổi mã khác": a new picture, nothing else.
    if form.get("doi_ma").is_some() {
        return again(None, Fields::new(), true).await;
    }
    let captcha_id = form.text("captcha_id");
    let captcha_passed = if captcha_id.is_empty() {
        false
    } else {
        match crate::captcha::verify(app, &captcha_id, &form.text("captcha")).await {
            Ok(()) => true,
            Err(e) => {
                let fields = Fields::from([("captcha".to_string(), e.0)]);
                return again(
                    Some(
                        "Mã xác thực không đúng. Vui lòng nhập lại mật khẩu và mã xác thực mới."
                            .into(),
                    ),
                    fields,
                    true,
                )
                .await;
            }
        }
    };
    let client = sign_in::Client {
        ip: crate::web::client_ip(req),
        device_cookie: crate::web::ctx::device_cookie(app, req),
        captcha_passed,
    };
    match sign_in::start_from(
        app,
        &username,
        &form.text("password"),
        &client,
        Audience::Console,
    )
    .await
    {
        Ok(s) => redirect(&format!("/quan-tri/xac-thuc/{}", s.flow_id)),
        Err(e) => {
            let fields = e.field_map().cloned().unwrap_or_default();
            let captcha = fields.contains_key("captcha");
            let r = again(Some(e.to_string()), fields, captcha).await;
            let mut r = r;
            r.set_status(status_of(&e));
            r
        }
    }
}

pub(super) fn otp_ctx(flow: &str, s: &sign_in::Started, error: Option<String>) -> Framed<OtpPage> {
    Framed(
        frame_plain(None, "Xác thực OTP", ""),
        page_ctx!(OtpPage {
            phone_masked => s.phone_masked.clone(),
            resend_in => s.resend_in,
            action => format!("/quan-tri/xac-thuc/{flow}"),
            resend_action => format!("/quan-tri/xac-thuc/{flow}/gui-lai"),
            error => error,
        }),
    )
}

#[handler]
pub(super) async fn otp_page(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match sign_in::describe(app, &flow, Audience::Console).await {
        Ok(s) => otp_ctx(&flow, &s, None).render(app, req, StatusCode::OK),
        Err(e) => expired_login(app, req, &e),
    }
}

/// What a failed code step answers: the expired page for a flow that is
/// gone, the code page with the error otherwise.
async fn otp_failed(app: &Arc<App>, req: &Request, flow: &str, e: AppError) -> Response {
    if let AppError::Gone(_) = e {
        return expired_login(app, req, &e);
    }
    match sign_in::describe(app, flow, Audience::Console).await {
        Ok(s) => otp_ctx(flow, &s, Some(e.to_string())).render(app, req, status_of(&e)),
        Err(e2) => expired_login(app, req, &e2),
    }
}

pub(super) fn expired_login(app: &App, req: &Request, e: &AppError) -> Response {
    let p = MessagePage {
        heading: "Phiên đăng nhập đã hết hạn".into(),
        message: e.to_string(),
        link: Some("/quan-tri/dang-nhap".into()),
        link_text: "Đăng nhập lại".into(),
    };
    message(app, req, None, status_of(e), &p)
}

#[handler]
pub(super) async fn otp_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let ip = crate::web::client_ip(req);
    match sign_in::verify(app, &flow, &form.text("otp"), &ip, Audience::Console).await {
        Ok(signed) => signed_in(app, &signed, "/quan-tri", "/quan-tri/doi-mat-khau"),
        Err(e) => otp_failed(app, req, &flow, e).await,
    }
}

#[handler]
pub(super) async fn otp_resend(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match sign_in::resend(app, &flow, Audience::Console).await {
        Ok(_) => redirect(&format!("/quan-tri/xac-thuc/{flow}")),
        Err(e) => otp_failed(app, req, &flow, e).await,
    }
}

#[handler]
pub(super) async fn logout(req: &Request, body: Body, Data(app): Data<&Arc<App>>) -> Response {
    if read_form(req, body).await.is_ok()
        && let Some(a) = crate::web::ctx::current(app, req, true).await
        && let Some(t) = &a.token
    {
        let _ = sign_in::sign_out(app, t).await;
    }
    with_cookie(
        redirect("/quan-tri/dang-nhap"),
        &clear_session_cookie(secure(app)),
    )
}

#[handler]
pub(super) async fn password_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let p = PasswordPage {
        forced: actor.account.must_change_password,
        ..Default::default()
    };
    let frame = frame(app, Some(&actor), "Đổi mật khẩu", "password").await;
    render(app, req, StatusCode::OK, &frame, &p)
}

#[handler]
pub(super) async fn password_submit(
    req: &Request,
    StaffActor(actor): StaffActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match admin::change_password(
        app,
        &actor,
        &form.text("current_password"),
        &form.text("password"),
        &form.text("password_confirm"),
    )
    .await
    {
        Ok(token) => {
            let p = MessagePage {
                heading: "Đổi mật khẩu thành công".into(),
                message:
                    "Mật khẩu mới đã được lưu. Các phiên đăng nhập khác của anh/chị đã kết thúc."
                        .into(),
                link: Some("/quan-tri".into()),
                link_text: "Về trang chủ".into(),
            };
            with_cookie(
                message(app, req, Some(&actor), StatusCode::OK, &p),
                &session_cookie(&token, secure(app)),
            )
        }
        Err(e) => {
            let p = PasswordPage {
                forced: actor.account.must_change_password,
                error: Some(e.to_string()),
                fields: e.field_map().cloned().unwrap_or_default(),
            };
            let frame = frame(app, Some(&actor), "Đổi mật khẩu", "password").await;
            render(app, req, status_of(&e), &frame, &p)
        }
    }
}

#[handler]
pub(super) async fn setup_page(
    req: &Request,
    Path(token): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let kind = match setup::link_kind(app, &token).await {
        Some(k) => k,
        None => {
            let e = AppError::Gone("Liên kết thiết lập đã được sử dụng hoặc đã hết hạn.".into());
            return error_page(app, req, None, &e);
        }
    };
    if let Some(username) = kind {
        let ctx = Framed(
            frame_plain(None, "Đăng nhập một lần", ""),
            page_ctx!(SigninLinkPage { username => username }),
        );
        return ctx.render(app, req, StatusCode::OK);
    }
    let frame = frame_plain(None, "Thiết lập ban đầu", "");
    render(app, req, StatusCode::OK, &frame, &SetupPage::default())
}

#[handler]
pub(super) async fn setup_submit(
    req: &Request,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match setup::link_kind(app, &token).await {
        None => {
            let e = AppError::Gone("Liên kết đã được sử dụng hoặc đã hết hạn.".into());
            return error_page(app, req, None, &e);
        }
        Some(Some(_)) => {
            return match setup::complete_signin(app, &token, &crate::web::client_ip(req)).await {
                Ok(s) => with_cookie(
                    redirect("/quan-tri"),
                    &session_cookie(&s.token, secure(app)),
                ),
                Err(e) => error_page(app, req, None, &e),
            };
        }
        Some(None) => {}
    }
    let input = setup::SetupInput {
        username: form.text("username"),
        full_name: form.text("full_name"),
        phone: form.text("phone"),
        password: form.text("password"),
        password_confirm: form.text("password_confirm"),
    };
    match setup::complete(app, &token, input, &crate::web::client_ip(req)).await {
        Ok(s) => with_cookie(
            redirect("/quan-tri"),
            &session_cookie(&s.token, secure(app)),
        ),
        Err(e @ AppError::Gone(_)) => error_page(app, req, None, &e),
        Err(e) => {
            let p = SetupPage {
                error: Some(e.to_string()),
                fields: e.field_map().cloned().unwrap_or_default(),
                form: SetupForm {
                    username: form.text("username"),
                    full_name: form.text("full_name"),
                    phone: form.text("phone"),
                },
            };
            let frame = frame_plain(None, "Thiết lập ban đầu", "");
            render(app, req, status_of(&e), &frame, &p)
        }
    }
}
