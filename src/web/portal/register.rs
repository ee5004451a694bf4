//! Đăng ký tài khoản: the citizen's registration journey (choice, form, SMS code, password, done).
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};

use super::otp_step::{NewPassword, OtpSteps};
use super::{PFramed, captcha_ctx, fields_of, frame, general_error, info, query};
use crate::app::App;
use crate::error::AppError;
use crate::flows::registration;
use crate::subscriber::MISMATCH_NOTE;
use crate::web::ctx::{FormData, redirect};
use crate::web::extract::CsrfForm;
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(RegisterChoicePage = "portal/register_choice.html" { kind: Val });
page_type!(RegisterFormPage = "portal/register_form.html" { form: Val, captcha: Val, note: Val, fields: Val, error: Val });
#[handler]
pub(super) async fn register_choice(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    let me = crate::web::ctx::current(app, req, false).await;
    let ctx = PFramed(
        frame(me.as_ref(), "Đăng ký"),
        page_ctx!(RegisterChoicePage { kind => query(req, "loai") }),
    );
    ctx.render(app, req, StatusCode::OK)
}

pub(super) fn kind_of(slug: &str) -> Option<&'static str> {
    match slug {
        "cong-dan" => Some("citizen"),
        "doanh-nghiep" => Some("business"),
        _ => None,
    }
}

pub(super) fn method_of(slug: &str) -> Option<&'static str> {
    match slug {
        "thue-bao" => Some("mobile"),
        "bao-hiem-xa-hoi" => Some("social_insurance"),
        "usb-ky-so" => Some("usb_token"),
        "sim-ky-so" => Some("sim_signature"),
        _ => None,
    }
}

/// The method-choice form posts here (GET): go to the chosen method's page.
#[handler]
pub(super) async fn register_choose(req: &Request) -> Response {
    let kind = query(req, "loai").unwrap_or_else(|| "cong-dan".into());
    let method = query(req, "phuong-thuc").unwrap_or_default();
    match (kind_of(&kind), method_of(&method)) {
        (Some(_), Some(_)) => redirect(&format!("/dang-ky/{kind}/{method}")),
        _ => redirect("/dang-ky"),
    }
}

/// Every choice but Công dân + Thuê bao di động: an honest page.
#[handler]
pub(super) async fn register_not_offered(
    req: &Request,
    Path((kind, method)): Path<(String, String)>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let (Some(k), Some(m)) = (kind_of(&kind), method_of(&method)) else {
        return info(
            app,
            req,
            None,
            StatusCode::NOT_FOUND,
            "Không tìm thấy trang",
            &["Địa chỉ này không tồn tại. Vui lòng chọn lại hình thức đăng ký."],
            &[],
            false,
            &[("/dang-ky", "Chọn hình thức đăng ký")],
        );
    };
    if k == "citizen" && m == "mobile" {
        return redirect("/dang-ky/cong-dan/thue-bao");
    }
    let why = registration::not_offered(k, m).unwrap_or_default();
    let me = crate::web::ctx::current(app, req, false).await;
    let (heading, items): (&str, &[&str]) = if k == "business" {
        (
            "Đăng ký tài khoản doanh nghiệp",
            &[
                "Doanh nghiệp đăng ký tài khoản trên Cổng Dịch vụ công quốc gia tại dichvucong.gov.vn, chọn Đăng ký → Doanh nghiệp và xác thực bằng chữ ký số (USB ký số hoặc SIM ký số) của doanh nghiệp.",
                "Người đại diện có thể dùng tài khoản công dân của mình để thực hiện các thủ tục cá nhân.",
            ],
        )
    } else {
        (
            "Phương thức này chưa được hỗ trợ",
            &[
                "Đăng ký bằng Thuê bao di động: dùng số điện thoại chính chủ đã khai báo đúng thông tin với nhà mạng.",
                "Hoặc mang CMT/CCCD và điện thoại của mình đến Trung tâm Phục vụ hành chính công, Bộ phận một cửa cấp huyện, cấp xã để được cán bộ tạo tài khoản.",
            ],
        )
    };
    info(
        app,
        req,
        me.as_ref(),
        StatusCode::OK,
        heading,
        &[why, "Anh/chị có thể:"],
        items,
        true,
        &[
            (
                "/dang-ky/cong-dan/thue-bao",
                "Đăng ký bằng Thuê bao di động",
            ),
            ("/dang-ky", "Chọn hình thức đăng ký khác"),
        ],
    )
}

#[derive(Debug, Default, serde::Serialize)]
pub(super) struct RegForm {
    id_number: String,
    full_name: String,
    birth_date: String,
    phone: String,
    email: String,
}

pub(super) async fn register_form_page(
    app: &Arc<App>,
    req: &Request,
    form: &RegForm,
    error: Option<&AppError>,
) -> Response {
    let me = crate::web::ctx::current(app, req, false).await;
    let ctx = PFramed(
        frame(me.as_ref(), "Đăng ký"),
        page_ctx!(RegisterFormPage {
            form => crate::web::ctx::v(form),
            captcha => captcha_ctx(app, req).await,
            note => MISMATCH_NOTE,
            fields => fields_of(error),
            error => error.and_then(general_error),
        }),
    );
    ctx.render_after(app, req, error)
}

#[handler]
pub(super) async fn register_form(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    register_form_page(app, req, &RegForm::default(), None).await
}

#[handler]
pub(super) async fn register_submit(
    req: &Request,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let typed = RegForm {
        id_number: form.text("id_number"),
        full_name: form.text("full_name"),
        birth_date: form.text("birth_date"),
        phone: form.text("phone"),
        email: form.text("email"),
    };
    if form.get("doi_ma").is_some() {
        // "Đổi mã" without script: the same form with a new picture.
        return register_form_page(app, req, &typed, None).await;
    }
    let input = registration::NewRegistration {
        kind: "citizen".into(),
        method: "mobile".into(),
        id_number: typed.id_number.clone(),
        full_name: typed.full_name.clone(),
        birth_date: typed.birth_date.clone(),
        phone: typed.phone.clone(),
        email: Some(typed.email.clone()),
        captcha_id: form.text("captcha_id"),
        captcha: form.text("captcha"),
        consent: form.get("consent").is_some(),
    };
    match registration::start(app, input, &crate::web::client_ip(req)).await {
        Ok(s) => redirect(&format!("{}/{}", STEPS.code_base, s.flow_id)),
        Err(e) => register_form_page(app, req, &typed, Some(&e)).await,
    }
}

/// The steps after the form: the SMS code, then the password.
pub(super) const STEPS: OtpSteps = OtpSteps {
    journey: &registration::JOURNEY,
    code_base: "/dang-ky/xac-thuc",
    password_base: "/dang-ky/mat-khau",
    sent_label: "Mã xác thực đã được gửi qua SĐT:",
    // The same page whether or not the ID already has an account (no
    // enumeration), so it says what happens in either case.
    note: Some(
        "Nếu thông tin hợp lệ, mã OTP đã được gửi tới số điện thoại trên; nếu số CMND/CCCD đã có tài khoản, anh/chị sẽ nhận tin nhắn hướng dẫn đăng nhập hoặc lấy lại mật khẩu thay cho mã OTP.",
    ),
    password_heading: "Đăng ký",
    password_lead: "Số điện thoại đã được xác thực. Vui lòng đặt mật khẩu cho tài khoản.",
    password_button: "Đăng ký",
    expired_heading: "Phiên đăng ký đã hết hạn",
    expired_paragraphs: &[
        "Phiên đăng ký này đã hết hạn hoặc không còn hiệu lực (mỗi lần đăng ký cần hoàn tất trong vòng 15 phút).",
        "Vui lòng đăng ký lại từ đầu; thông tin chưa được lưu.",
    ],
    expired_link: ("/dang-ky", "Đăng ký lại"),
};

#[handler]
pub(super) async fn register_password_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let p = NewPassword::of(req, &form);
    let r = registration::set_password(app, &flow, &p.password, &p.confirm, &p.ip).await;
    STEPS.after_password(app, req, &flow, r.map(|_| redirect("/dang-ky/thanh-cong")))
}

#[handler]
pub(super) async fn register_done(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    info(
        app,
        req,
        None,
        StatusCode::OK,
        "Chúc mừng bạn đã đăng ký thành công",
        &[
            "Tài khoản Cổng Dịch vụ công của anh/chị đã được tạo. Tên đăng nhập là số CMT/CCCD đã đăng ký.",
            "Mỗi lần đăng nhập, hệ thống gửi mã OTP tới số điện thoại đã đăng ký.",
        ],
        &[],
        false,
        &[("/dang-nhap", "Đăng nhập")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_map_to_api_names() {
        for (k, m) in [("cong-dan", "thue-bao"), ("doanh-nghiep", "usb-ky-so")] {
            assert!(kind_of(k).is_some() && method_of(m).is_some());
        }
        assert_eq!(kind_of("x"), None);
        assert_eq!(method_of("bao-hiem-xa-hoi"), Some("social_insurance"));
        for m in ["thue-bao", "bao-hiem-xa-hoi", "usb-ky-so", "sim-ky-so"] {
            let api = method_of(m).unwrap_or_default();
            assert!(registration::METHODS.contains(&api));
        }
    }
}
