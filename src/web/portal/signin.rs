//! Đăng nhập: the citizen's sign-in (password then SMS code), other methods and the lost-phone help.
use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::otp_step::{CodeView, code_page, typed_otp};
use super::{PFramed, captcha_ctx, fields_of, flow_like, frame, info, query};
use crate::app::App;
use crate::error::AppError;
use crate::flows::sign_in;
use crate::flows::sign_in::Audience;
use crate::web::api::portal::sign_in_start;
use crate::web::ctx::{FormData, redirect, signed_in, status_of};
use crate::web::extract::CsrfForm;
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(LoginPage = "portal/login.html" { tab: Val, username: Val, captcha: Val, notice: Val, fields: Val, error: Val });
pub(super) async fn login_form(
    app: &Arc<App>,
    req: &Request,
    username: &str,
    error: Option<&AppError>,
) -> Response {
    let tab = match query(req, "hinh-thuc").as_deref() {
        Some("usb-ky-so") => "usb",
        Some("sim-ky-so") => "sim",
        _ => "cccd",
    };
    let captcha = if tab == "cccd" {
        captcha_ctx(app, req).await
    } else {
        context! {}
    };
    let notice =
        query(req, "het-phien").map(|_| "Phiên đăng nhập đã kết thúc. Vui lòng đăng nhập lại.");
    let ctx = PFramed(
        frame(None, "Đăng nhập"),
        page_ctx!(LoginPage {
            tab => tab,
            username => username,
            captcha => captcha,
            notice => notice,
            fields => fields_of(error),
            error => error.map(|e| match e {
                AppError::Invalid { fields, .. } if fields.contains_key("captcha") && fields.len() == 1 => {
                    "Mã xác thực không đúng. Vui lòng nhập lại mật khẩu và mã xác thực mới.".to_string()
                }
                other => other.to_string(),
            }),
        }),
    );
    ctx.render_after(app, req, error)
}

#[handler]
pub(super) async fn login_page(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    if crate::web::ctx::current(app, req, false).await.is_some() {
        return redirect("/tai-khoan");
    }
    login_form(app, req, "", None).await
}

#[handler]
pub(super) async fn login_submit(
    req: &Request,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let username = form.text("username");
    if form.get("doi_ma").is_some() {
        return login_form(app, req, &username, None).await;
    }
    match sign_in_start(
        app,
        &username,
        &form.text("password"),
        &form.text("captcha_id"),
        &form.text("captcha"),
        &crate::web::client_ip(req),
    )
    .await
    {
        Ok(s) => redirect(&format!("{LOGIN_OTP}/{}", s.flow_id)),
        Err(e) => login_form(app, req, &username, Some(&e)).await,
    }
}

pub(super) const LOGIN_OTP: &str = "/dang-nhap/xac-thuc";

pub(super) fn expired_login(app: &App, req: &Request, e: &AppError) -> Response {
    info(
        app,
        req,
        None,
        status_of(e),
        "Phiên đăng nhập đã hết hạn",
        &[
            "Phiên đăng nhập này đã hết hạn hoặc không còn hiệu lực.",
            "Vui lòng đăng nhập lại.",
        ],
        &[],
        false,
        &[("/dang-nhap", "Đăng nhập lại")],
    )
}

pub(super) async fn login_otp_view(
    app: &Arc<App>,
    req: &Request,
    flow: &str,
    error: Option<&AppError>,
) -> Response {
    match sign_in::describe(app, flow, Audience::Portal).await {
        Ok(s) => code_page(
            app,
            req,
            &CodeView {
                sent_label: "Mã xác thực đã được gửi qua số điện thoại:",
                note: None,
                phone_masked: &s.phone_masked,
                base: LOGIN_OTP,
                flow,
                resend_in: s.resend_in,
                login_links: true,
            },
            error,
        ),
        Err(e) => expired_login(app, req, &e),
    }
}

#[handler]
pub(super) async fn login_otp_page(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    login_otp_view(app, req, &flow, None).await
}

#[handler]
pub(super) async fn login_otp_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let ip = crate::web::client_ip(req);
    match sign_in::verify(app, &flow, &typed_otp(&form), &ip, Audience::Portal).await {
        Ok(signed) => signed_in(app, &signed, "/tai-khoan", "/tai-khoan/doi-mat-khau"),
        Err(e @ AppError::Gone(_)) => expired_login(app, req, &e),
        Err(e) => login_otp_view(app, req, &flow, Some(&e)).await,
    }
}

#[handler]
pub(super) async fn login_resend(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match sign_in::resend(app, &flow, Audience::Portal).await {
        Ok(_) => redirect(&format!("{LOGIN_OTP}/{flow}?gui-lai=1")),
        Err(e @ AppError::Gone(_)) => expired_login(app, req, &e),
        Err(e) => login_otp_view(app, req, &flow, Some(&e)).await,
    }
}

#[handler]
pub(super) async fn other_methods(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    let back = query(req, "flow")
        .filter(|f| flow_like(f))
        .map(|f| format!("{LOGIN_OTP}/{f}"))
        .unwrap_or_else(|| "/dang-nhap".into());
    info(
        app,
        req,
        None,
        StatusCode::OK,
        "Chọn phương thức xác thực khác",
        &[
            "Hệ thống này xác thực đăng nhập bằng mã OTP gửi qua tin nhắn SMS tới số điện thoại đã đăng ký. Xác thực bằng USB ký số hoặc SIM ký số chưa được hỗ trợ.",
            "Nếu chưa nhận được mã OTP:",
        ],
        &[
            "Kiểm tra điện thoại còn sóng, còn bộ nhớ tin nhắn và không chặn tin nhắn từ tổng đài.",
            "Chờ hết thời gian đếm ngược rồi bấm \"Gửi lại OTP\"; chỉ mã mới nhất có hiệu lực.",
            "Nếu gửi lại nhiều lần vẫn không nhận được, vui lòng khởi động lại điện thoại rồi thử lại.",
        ],
        true,
        &[
            (back.as_str(), "Quay lại nhập mã OTP"),
            ("/dang-nhap/mat-so-dien-thoai", "Mất số điện thoại nhận OTP"),
        ],
    )
}

#[handler]
pub(super) async fn lost_phone(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    info(
        app,
        req,
        None,
        StatusCode::OK,
        "Mất số điện thoại nhận OTP",
        &[
            "Vì lý do an toàn, số điện thoại nhận OTP không thể đổi trực tuyến. Nếu anh/chị không còn sử dụng số điện thoại đã đăng ký:",
        ],
        &[
            "Mang theo CMT/CCCD bản gốc và điện thoại đang dùng (số mới, đứng tên chính chủ).",
            "Đến Trung tâm Phục vụ hành chính công hoặc Bộ phận một cửa cấp huyện, cấp xã gần nhất.",
            "Đề nghị cán bộ cập nhật số điện thoại nhận OTP cho tài khoản; cán bộ sẽ đối chiếu giấy tờ và gửi mã xác nhận tới số mới.",
            "Nếu số cũ vẫn đứng tên anh/chị, có thể ra điểm giao dịch của nhà mạng để cấp lại SIM.",
        ],
        true,
        &[("/dang-nhap", "Quay lại đăng nhập")],
    )
}
