//! The citizen portal at / (seed part II): registration (Đăng ký), sign-in
//! (Đăng nhập) with an SMS OTP, Quên mật khẩu, and the citizen's own page.
//! Every page works without JavaScript; `app.js`/`portal.js` only enhance
//! (OTP boxes, resend countdown, live password policy, captcha reload).

pub mod access_request;
mod account;
mod otp_step;
mod register;
mod reset;
mod signin;

use std::sync::Arc;

use minijinja::{Value, context};
use poem::http::StatusCode;
use poem::web::Data;
use poem::{EndpointExt, Request, Response, Route, get, handler, post};

use super::ctx::{secure, status_of};
use super::view::{Page, PortalMe, PortalShell, Val};
use crate::app::App;
use crate::error::AppError;
use crate::flows::Actor;
use crate::{page_ctx, page_type};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(home))
        .at("/dang-ky", get(register::register_choice))
        .at("/dang-ky/chon", get(register::register_choose))
        .at(
            "/dang-ky/cong-dan/thue-bao",
            get(register::register_form).post(register::register_submit),
        )
        .at("/dang-ky/thanh-cong", get(register::register_done))
        .at(
            "/dang-ky/xac-thuc/:flow",
            get(otp_step::code_step)
                .post(otp_step::code_submit)
                .data(register::STEPS),
        )
        .at(
            "/dang-ky/xac-thuc/:flow/gui-lai",
            post(otp_step::resend).data(register::STEPS),
        )
        .at(
            "/dang-ky/mat-khau/:flow",
            get(otp_step::password_step)
                .post(register::register_password_submit)
                .data(register::STEPS),
        )
        .at(
            "/dang-ky/:kind/:method",
            get(register::register_not_offered),
        )
        .at(
            "/dang-nhap",
            get(signin::login_page).post(signin::login_submit),
        )
        .at(
            "/dang-nhap/xac-thuc/:flow",
            get(signin::login_otp_page).post(signin::login_otp_submit),
        )
        .at(
            "/dang-nhap/xac-thuc/:flow/gui-lai",
            post(signin::login_resend),
        )
        .at("/dang-nhap/phuong-thuc-khac", get(signin::other_methods))
        .at("/dang-nhap/mat-so-dien-thoai", get(signin::lost_phone))
        .at(
            "/quen-mat-khau",
            get(reset::forgot_page).post(reset::forgot_submit),
        )
        .at(
            "/quen-mat-khau/xac-thuc/:flow",
            get(otp_step::code_step)
                .post(otp_step::code_submit)
                .data(reset::STEPS),
        )
        .at(
            "/quen-mat-khau/xac-thuc/:flow/gui-lai",
            post(otp_step::resend).data(reset::STEPS),
        )
        .at(
            "/quen-mat-khau/mat-khau/:flow",
            get(otp_step::password_step)
                .post(reset::reset_password_submit)
                .data(reset::STEPS),
        )
        .at("/quen-mat-khau/thanh-cong", get(reset::reset_done))
        .at("/tai-khoan", get(account::account_home))
        .at(
            "/tai-khoan/doi-mat-khau",
            get(account::change_password_page).post(account::change_password_submit),
        )
        .at("/dang-xuat", post(account::logout))
        .at("/dieu-khoan", get(terms))
}

// ---------------------------------------------------------------- Flow cookies

/// The step pages of each portal journey and the cookie that binds them
/// to the browser that started it.
const FLOW_STEPS: &[(&str, &str)] = &[
    ("/dang-ky/xac-thuc/", "mc_flow_dk"),
    ("/dang-ky/mat-khau/", "mc_flow_dk"),
    ("/quen-mat-khau/xac-thuc/", "mc_flow_qmk"),
    ("/quen-mat-khau/mat-khau/", "mc_flow_qmk"),
    ("/dang-nhap/xac-thuc/", "mc_flow_dn"),
];

/// The cookie and flow id of a step page's path.
fn flow_step(path: &str) -> Option<(&'static str, &str)> {
    FLOW_STEPS.iter().find_map(|(prefix, cookie)| {
        let rest = path.strip_prefix(prefix)?;
        let flow = rest.split('/').next().filter(|f| !f.is_empty())?;
        Some((*cookie, flow))
    })
}

/// The value that proves a browser started `flow`: derived from the flow
/// id with the server key, so it cannot be made without the server.
fn flow_proof(app: &App, flow: &str) -> String {
    hex::encode(&crate::util::hmac_sha256(&app.key, &[b"flow-cookie", flow.as_bytes()])[..16])
}

/// Binds each portal journey to the browser that started it: the step
/// that creates a flow sets a cookie; every later step (its pages, its
/// posts, its resend) needs it. A step URL opened in another browser gets
/// the expired page, never the step. (The JSON API is not affected.)
pub async fn bind_flows<E: poem::Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    use poem::IntoResponse;
    let Some(app) = req.data::<Arc<App>>().cloned() else {
        return ep.call(req).await.map(IntoResponse::into_response);
    };
    let path = req.uri().path().to_string();
    if let Some((cookie, flow)) = flow_step(&path) {
        let want = flow_proof(&app, flow);
        let have = super::ctx::app_cookie(&app, &req, cookie).unwrap_or_default();
        if !crate::util::ct_eq(want.as_bytes(), have.as_bytes()) {
            let (start, heading) = match cookie {
                "mc_flow_dk" => ("/dang-ky", "Phiên đăng ký đã hết hạn"),
                "mc_flow_qmk" => ("/quen-mat-khau", "Phiên đặt lại mật khẩu đã hết hạn"),
                _ => ("/dang-nhap", "Phiên đăng nhập đã hết hạn"),
            };
            let p = MessagePage {
                heading: heading.into(),
                message: "Phiên làm việc này đã hết hạn hoặc được bắt đầu trên một trình duyệt khác. Vui lòng thực hiện lại từ đầu trên trình duyệt này.".into(),
                link: Some(start.into()),
                link_text: "Thực hiện lại từ đầu".into(),
            };
            return Ok(super::view::render(
                &app,
                &req,
                StatusCode::GONE,
                &frame(None, &p.heading),
                &p,
            ));
        }
    }
    let post = req.method() == poem::http::Method::POST;
    let mut res = ep.call(req).await?.into_response();
    if post
        && res.status() == StatusCode::SEE_OTHER
        && let Some(to) = res
            .headers()
            .get(poem::http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        && let Some((cookie, flow)) = flow_step(&to)
    {
        let c = super::ctx::set_cookie(secure(&app), cookie, &flow_proof(&app, flow), Some(3600));
        if let Ok(v) = c.parse() {
            res.headers_mut().append(poem::http::header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

/// The portal's frame for `actor` (typed).
pub fn frame(actor: Option<&Actor>, title: &str) -> PortalShell {
    PortalShell {
        title: title.to_string(),
        me: actor.map(|a| PortalMe {
            full_name: a.account.full_name.clone(),
        }),
    }
}

crate::message_page!("portal/message.html");

/// A page in the portal frame, ready to render.
pub struct PFramed<P: Page>(pub PortalShell, pub P);

impl<P: Page> PFramed<P> {
    pub fn render(&self, app: &App, req: &Request, status: StatusCode) -> Response {
        super::view::render(app, req, status, &self.0, &self.1)
    }

    /// Renders a form page again after `error` (with its status), or
    /// first (200).
    pub fn render_after(&self, app: &App, req: &Request, error: Option<&AppError>) -> Response {
        self.render(app, req, error.map_or(StatusCode::OK, status_of))
    }
}

page_type!(HomePage = "portal/home.html" {});
page_type!(InfoPage = "portal/info.html" { heading: Val, paragraphs: Val, items: Val, contact: Val, links: Val });
/// Renders a message page (an error page) in the portal's frame.
pub fn message(
    app: &App,
    req: &Request,
    actor: Option<&Actor>,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    let p = MessagePage {
        heading: heading.into(),
        message: message.into(),
        link: Some("/".into()),
        link_text: "Về trang chủ".into(),
    };
    super::view::render(app, req, status, &frame(actor, heading), &p)
}

/// One value of the query string.
fn query(req: &Request, key: &str) -> Option<String> {
    let q = req.uri().query()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q).ok()?;
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A flow id from a URL: the 43-character URL-safe tokens we issue.
fn flow_like(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A page with a heading, paragraphs and buttons (`info.html`).
#[allow(clippy::too_many_arguments)]
fn info(
    app: &App,
    req: &Request,
    actor: Option<&Actor>,
    status: StatusCode,
    heading: &str,
    paragraphs: &[&str],
    items: &[&str],
    contact: bool,
    links: &[(&str, &str)],
) -> Response {
    let links: Vec<Value> = links
        .iter()
        .map(|(href, text)| context! { href => *href, text => *text })
        .collect();
    let ctx = PFramed(
        frame(actor, heading),
        page_ctx!(InfoPage {
            heading => heading, paragraphs => paragraphs.iter().map(|s| s.to_string()).collect::<Vec<_>>(), items => items.iter().map(|s| s.to_string()).collect::<Vec<_>>(), contact => contact, links => links,
        }),
    );
    ctx.render(app, req, status)
}

/// A refused form post (bad CSRF pair, too large, …).
pub(crate) fn form_error(app: &App, req: &Request, e: &AppError) -> Response {
    let message = match e {
        AppError::Forbidden => {
            "Biểu mẫu đã hết hạn hoặc không hợp lệ. Vui lòng tải lại trang và thực hiện lại."
                .to_string()
        }
        other => other.to_string(),
    };
    info(
        app,
        req,
        None,
        status_of(e),
        "Không thực hiện được",
        &[&message],
        &[],
        false,
        &[("/", "Về trang chủ")],
    )
}

/// A new captcha for a form, or the reason there is none.
/// A new captcha challenge for a form (`portal/_captcha.html`).
pub(crate) async fn captcha_ctx(app: &Arc<App>, req: &Request) -> Value {
    match crate::captcha::new_challenge(app, &super::client_ip(req)).await {
        Ok(c) => context! { id => c.id, image => c.image },
        Err(e) => context! { id => "", image => "", error => e.to_string() },
    }
}

/// The field errors of an error, always a map (empty without one).
fn fields_of(e: Option<&AppError>) -> Value {
    super::ctx::v(&e.and_then(|e| e.field_map().cloned()).unwrap_or_default())
}

/// The message of an error that is not about fields (those are shown at
/// their fields).
fn other_error(e: Option<&AppError>) -> Option<String> {
    e.and_then(|e| match e {
        AppError::Invalid { .. } => None,
        other => Some(other.to_string()),
    })
}

/// The general message of an error, unless it is only about fields.
fn general_error(e: &AppError) -> Option<String> {
    match e {
        AppError::Invalid { fields, .. } if !fields.is_empty() => {
            Some("Thông tin nhập chưa hợp lệ, vui lòng kiểm tra lại các mục được đánh dấu.".into())
        }
        other => Some(other.to_string()),
    }
}

// ---------------------------------------------------------------- home

#[handler]
async fn home(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    let me = super::ctx::current(app, req, false).await;
    super::view::render(
        app,
        req,
        StatusCode::OK,
        &frame(me.as_ref(), "Trang chủ"),
        &HomePage::default(),
    )
}

#[handler]
async fn terms(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    let me = super::ctx::current(app, req, false).await;
    info(
        app,
        req,
        me.as_ref(),
        StatusCode::OK,
        "Điều khoản, Chính sách chia sẻ thông tin",
        &[
            "Khi đăng ký tài khoản, anh/chị cung cấp số CMT/CCCD, họ tên, ngày sinh, số điện thoại và (nếu muốn) email. Các thông tin này chỉ dùng để xác minh danh tính, đăng nhập và thực hiện dịch vụ công trực tuyến.",
            "Để xác minh, hệ thống đối chiếu số điện thoại, số CMT/CCCD, họ tên và ngày sinh với thông tin thuê bao đã khai báo với nhà mạng. Hệ thống không chia sẻ thông tin của anh/chị cho bên nào khác ngoài các cơ quan nhà nước có thẩm quyền theo quy định của pháp luật.",
            "Mật khẩu được lưu ở dạng mã hóa một chiều; mã OTP chỉ có hiệu lực 2 phút. Tuyệt đối không cung cấp mật khẩu hoặc mã OTP cho bất kỳ ai, kể cả người tự xưng là cán bộ.",
        ],
        &[],
        true,
        &[("/dang-ky/cong-dan/thue-bao", "Quay lại đăng ký")],
    )
}

// ---------------------------------------------------------------- Đăng nhập

// ---------------------------------------------------------------- Quên mật khẩu

// ---------------------------------------------------------------- Tài khoản

/// A signed-in frame for the template tests.
#[cfg(test)]
pub(crate) fn sample_frame() -> PortalShell {
    PortalShell {
        title: "Trang".into(),
        me: Some(PortalMe {
            full_name: "Nguyễn Văn A".into(),
        }),
    }
}

/// This module's page types, for the template tests.
#[cfg(test)]
pub(crate) fn pages() -> Vec<super::view::check::Registered> {
    use super::view::check::register;
    vec![
        register::<MessagePage, PortalShell>(sample_frame()),
        register::<HomePage, PortalShell>(sample_frame()),
        register::<InfoPage, PortalShell>(sample_frame()),
        register::<register::RegisterChoicePage, PortalShell>(sample_frame()),
        register::<register::RegisterFormPage, PortalShell>(sample_frame()),
        register::<otp_step::OtpPage, PortalShell>(sample_frame()),
        register::<otp_step::PasswordPage, PortalShell>(sample_frame()),
        register::<signin::LoginPage, PortalShell>(sample_frame()),
        register::<reset::ForgotPage, PortalShell>(sample_frame()),
        register::<account::AccountPage, PortalShell>(sample_frame()),
        register::<account::ChangePasswordPage, PortalShell>(sample_frame()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_ids_are_checked_before_use_in_links() {
        assert!(flow_like(&crate::util::random_token()));
        assert!(!flow_like("javascript:alert(1)"));
        assert!(!flow_like(""));
    }
}
