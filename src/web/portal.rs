//! The citizen portal at / (seed part II): registration (Đăng ký), sign-in
//! (Đăng nhập) with an SMS OTP, Quên mật khẩu, and the citizen's own page.
//! Every page works without JavaScript; `app.js`/`portal.js` only enhance
//! (OTP boxes, resend countdown, live password policy, captcha reload).

use std::sync::Arc;

use minijinja::{Value, context};
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, Route, get, handler, post};

use super::api_portal::{masked_id, sign_in_start};
use super::ctx::{
    FormData, clear_session_cookie, read_form, redirect, session_cookie, status_of, with_cookie,
};
use super::extract::{CitizenActor, CsrfForm};
use super::view::{Page, PortalMe, PortalShell, Val};
use crate::app::App;
use crate::error::AppError;
use crate::flows::{Actor, admin, password_reset, registration, staff_login};
use crate::store::accounts::Origin;
use crate::subscriber::MISMATCH_NOTE;
use crate::{page_ctx, page_type};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(home))
        .at("/dang-ky", get(register_choice))
        .at("/dang-ky/chon", get(register_choose))
        .at(
            "/dang-ky/cong-dan/thue-bao",
            get(register_form).post(register_submit),
        )
        .at("/dang-ky/thanh-cong", get(register_done))
        .at(
            "/dang-ky/xac-thuc/:flow",
            get(register_otp_page).post(register_otp_submit),
        )
        .at("/dang-ky/xac-thuc/:flow/gui-lai", post(register_resend))
        .at(
            "/dang-ky/mat-khau/:flow",
            get(register_password_page).post(register_password_submit),
        )
        .at("/dang-ky/:kind/:method", get(register_not_offered))
        .at("/dang-nhap", get(login_page).post(login_submit))
        .at(
            "/dang-nhap/xac-thuc/:flow",
            get(login_otp_page).post(login_otp_submit),
        )
        .at("/dang-nhap/xac-thuc/:flow/gui-lai", post(login_resend))
        .at("/dang-nhap/phuong-thuc-khac", get(other_methods))
        .at("/dang-nhap/mat-so-dien-thoai", get(lost_phone))
        .at("/quen-mat-khau", get(forgot_page).post(forgot_submit))
        .at(
            "/quen-mat-khau/xac-thuc/:flow",
            get(reset_otp_page).post(reset_otp_submit),
        )
        .at("/quen-mat-khau/xac-thuc/:flow/gui-lai", post(reset_resend))
        .at(
            "/quen-mat-khau/mat-khau/:flow",
            get(reset_password_page).post(reset_password_submit),
        )
        .at("/quen-mat-khau/thanh-cong", get(reset_done))
        .at("/tai-khoan", get(account_home))
        .at(
            "/tai-khoan/doi-mat-khau",
            get(change_password_page).post(change_password_submit),
        )
        .at("/dang-xuat", post(logout))
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

fn secure(app: &App) -> bool {
    app.cfg.public_url.starts_with("https://")
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

/// `portal/message.html`: a heading, a sentence and a way on (error pages).
#[derive(serde::Serialize, Default)]
pub struct MessagePage {
    pub heading: String,
    pub message: String,
    pub link: Option<String>,
    pub link_text: String,
}

impl Page for MessagePage {
    const TEMPLATE: &'static str = "portal/message.html";
    fn samples() -> Vec<Self> {
        vec![MessagePage {
            heading: "Không tìm thấy trang".into(),
            message: "Trang không tồn tại.".into(),
            link: Some("/".into()),
            link_text: "Về trang chủ".into(),
        }]
    }
}

/// A page in the portal frame, ready to render.
pub struct PFramed<P: Page>(pub PortalShell, pub P);

impl<P: Page> PFramed<P> {
    pub fn render(&self, app: &App, req: &Request, status: StatusCode) -> Response {
        super::view::render(app, req, status, &self.0, &self.1)
    }
}

page_type!(HomePage = "portal/home.html" {});
page_type!(InfoPage = "portal/info.html" { heading: Val, paragraphs: Val, items: Val, contact: Val, links: Val });
page_type!(RegisterChoicePage = "portal/register_choice.html" { kind: Val });
page_type!(RegisterFormPage = "portal/register_form.html" { form: Val, captcha: Val, note: Val, fields: Val, error: Val });
page_type!(OtpPage = "portal/otp.html" { note: Val, sent_label: Val, phone_masked: Val, action: Val, resend_action: Val, resend_in: Val, error: Val, notice: Val, flow: Val, login_links: Val, back: Val, back_text: Val });
page_type!(PasswordPage = "portal/password.html" { heading: Val, lead: Val, action: Val, button: Val, fields: Val, error: Val });
page_type!(LoginPage = "portal/login.html" { tab: Val, username: Val, captcha: Val, notice: Val, fields: Val, error: Val });
page_type!(ForgotPage = "portal/forgot.html" { username: Val, captcha: Val, fields: Val, error: Val });
page_type!(AccountPage = "portal/account.html" { profile: Val, notice: Val });
page_type!(ChangePasswordPage = "portal/change_password.html" { forced: Val, fields: Val, error: Val });

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

/// The general message of an error, unless it is only about fields.
fn general_error(e: &AppError) -> Option<String> {
    match e {
        AppError::Invalid { fields, .. } if !fields.is_empty() => {
            Some("Thông tin nhập chưa hợp lệ, vui lòng kiểm tra lại các mục được đánh dấu.".into())
        }
        other => Some(other.to_string()),
    }
}

/// The six OTP boxes arrive as d0..d5 (no script) or joined in `otp`.
fn typed_otp(form: &FormData) -> String {
    let joined = form.text("otp");
    if !joined.trim().is_empty() {
        return joined;
    }
    (0..6).map(|i| form.text(&format!("d{i}"))).collect()
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

// ---------------------------------------------------------------- Đăng ký

#[handler]
async fn register_choice(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    let me = super::ctx::current(app, req, false).await;
    let ctx = PFramed(
        frame(me.as_ref(), "Đăng ký"),
        page_ctx!(RegisterChoicePage { kind => query(req, "loai") }),
    );
    ctx.render(app, req, StatusCode::OK)
}

fn kind_of(slug: &str) -> Option<&'static str> {
    match slug {
        "cong-dan" => Some("citizen"),
        "doanh-nghiep" => Some("business"),
        _ => None,
    }
}

fn method_of(slug: &str) -> Option<&'static str> {
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
async fn register_choose(req: &Request) -> Response {
    let kind = query(req, "loai").unwrap_or_else(|| "cong-dan".into());
    let method = query(req, "phuong-thuc").unwrap_or_default();
    match (kind_of(&kind), method_of(&method)) {
        (Some(_), Some(_)) => redirect(&format!("/dang-ky/{kind}/{method}")),
        _ => redirect("/dang-ky"),
    }
}

/// Every choice but Công dân + Thuê bao di động: an honest page.
#[handler]
async fn register_not_offered(
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
    let me = super::ctx::current(app, req, false).await;
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
struct RegForm {
    id_number: String,
    full_name: String,
    birth_date: String,
    phone: String,
    email: String,
}

async fn register_form_page(
    app: &Arc<App>,
    req: &Request,
    form: &RegForm,
    error: Option<&AppError>,
) -> Response {
    let me = super::ctx::current(app, req, false).await;
    let ctx = PFramed(
        frame(me.as_ref(), "Đăng ký"),
        page_ctx!(RegisterFormPage {
            form => super::ctx::v(form),
            captcha => captcha_ctx(app, req).await,
            note => MISMATCH_NOTE,
            fields => fields_of(error),
            error => error.and_then(general_error),
        }),
    );
    let status = error.map_or(StatusCode::OK, status_of);
    ctx.render(app, req, status)
}

#[handler]
async fn register_form(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    register_form_page(app, req, &RegForm::default(), None).await
}

#[handler]
async fn register_submit(
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
    match registration::start(app, input, &super::client_ip(req)).await {
        Ok(s) => redirect(&format!("/dang-ky/xac-thuc/{}", s.flow_id)),
        Err(e) => register_form_page(app, req, &typed, Some(&e)).await,
    }
}

fn expired_registration(app: &App, req: &Request, e: &AppError) -> Response {
    info(
        app,
        req,
        None,
        status_of(e),
        "Phiên đăng ký đã hết hạn",
        &[
            "Phiên đăng ký này đã hết hạn hoặc không còn hiệu lực (mỗi lần đăng ký cần hoàn tất trong vòng 15 phút).",
            "Vui lòng đăng ký lại từ đầu; thông tin chưa được lưu.",
        ],
        &[],
        false,
        &[("/dang-ky", "Đăng ký lại")],
    )
}

#[allow(clippy::too_many_arguments)]
fn otp_page(
    app: &App,
    req: &Request,
    title: &str,
    sent_label: &str,
    phone_masked: &str,
    base: &str,
    flow: &str,
    resend_in: i64,
    error: Option<String>,
    status: StatusCode,
    login_links: bool,
) -> Response {
    let notice = query(req, "gui-lai").map(|_| "Đã gửi lại mã OTP. Mã cũ không còn hiệu lực.");
    let back = (!login_links).then_some("/");
    // The same page whether or not the ID already has an account (no
    // enumeration), so it says what happens in either case.
    let note = (base == REG_OTP).then_some(
        "Nếu thông tin hợp lệ, mã OTP đã được gửi tới số điện thoại trên; nếu số CMND/CCCD đã có tài khoản, anh/chị sẽ nhận tin nhắn hướng dẫn đăng nhập hoặc lấy lại mật khẩu thay cho mã OTP.",
    );
    let ctx = PFramed(
        frame(None, title),
        page_ctx!(OtpPage {
            note => note,
            sent_label => sent_label,
            phone_masked => phone_masked,
            action => format!("{base}/{flow}"),
            resend_action => format!("{base}/{flow}/gui-lai"),
            resend_in => resend_in,
            error => error,
            notice => notice,
            flow => flow,
            login_links => login_links,
            back => back,
            back_text => "Hủy và về trang chủ",
        }),
    );
    ctx.render(app, req, status)
}

const REG_OTP: &str = "/dang-ky/xac-thuc";

async fn register_otp_view(
    app: &Arc<App>,
    req: &Request,
    flow: &str,
    error: Option<&AppError>,
) -> Response {
    match registration::describe(app, flow).await {
        Ok((_, true)) => redirect(&format!("/dang-ky/mat-khau/{flow}")),
        Ok((s, false)) => otp_page(
            app,
            req,
            "Xác thực mã OTP",
            "Mã xác thực đã được gửi qua SĐT:",
            &s.phone_masked,
            REG_OTP,
            flow,
            s.resend_in,
            error.map(otp_error_text),
            error.map_or(StatusCode::OK, status_of),
            false,
        ),
        Err(e) => expired_registration(app, req, &e),
    }
}

/// The message of an OTP error (its `otp` field when there is one).
fn otp_error_text(e: &AppError) -> String {
    e.field_map()
        .and_then(|f| f.get("otp").cloned())
        .unwrap_or_else(|| e.to_string())
}

#[handler]
async fn register_otp_page(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    register_otp_view(app, req, &flow, None).await
}

#[handler]
async fn register_otp_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match registration::verify_otp(app, &flow, &typed_otp(&form)).await {
        Ok(()) => redirect(&format!("/dang-ky/mat-khau/{flow}")),
        Err(e @ AppError::Gone(_)) => expired_registration(app, req, &e),
        Err(e) => register_otp_view(app, req, &flow, Some(&e)).await,
    }
}

#[handler]
async fn register_resend(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match registration::resend(app, &flow).await {
        Ok(_) => redirect(&format!("{REG_OTP}/{flow}?gui-lai=1")),
        Err(e @ AppError::Gone(_)) => expired_registration(app, req, &e),
        Err(e) => register_otp_view(app, req, &flow, Some(&e)).await,
    }
}

fn password_page(
    app: &App,
    req: &Request,
    heading: &str,
    lead: Option<&str>,
    action: &str,
    button: &str,
    error: Option<&AppError>,
) -> Response {
    let ctx = PFramed(
        frame(None, heading),
        page_ctx!(PasswordPage {
            heading => heading,
            lead => lead,
            action => action,
            button => button,
            fields => fields_of(error),
            error => error.and_then(|e| match e {
                AppError::Invalid { .. } => None,
                other => Some(other.to_string()),
            }),
        }),
    );
    let status = error.map_or(StatusCode::OK, status_of);
    ctx.render(app, req, status)
}

#[handler]
async fn register_password_page(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match registration::describe(app, &flow).await {
        Ok((_, true)) => password_page(
            app,
            req,
            "Đăng ký",
            Some("Số điện thoại đã được xác thực. Vui lòng đặt mật khẩu cho tài khoản."),
            &format!("/dang-ky/mat-khau/{flow}"),
            "Đăng ký",
            None,
        ),
        Ok((_, false)) => redirect(&format!("{REG_OTP}/{flow}")),
        Err(e) => expired_registration(app, req, &e),
    }
}

#[handler]
async fn register_password_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match registration::set_password(
        app,
        &flow,
        &form.text("password"),
        &form.text("password_confirm"),
        &super::client_ip(req),
    )
    .await
    {
        Ok(_) => redirect("/dang-ky/thanh-cong"),
        Err(e @ AppError::Gone(_)) => expired_registration(app, req, &e),
        Err(e) => password_page(
            app,
            req,
            "Đăng ký",
            None,
            &format!("/dang-ky/mat-khau/{flow}"),
            "Đăng ký",
            Some(&e),
        ),
    }
}

#[handler]
async fn register_done(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
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

// ---------------------------------------------------------------- Đăng nhập

async fn login_form(
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
    let status = error.map_or(StatusCode::OK, status_of);
    ctx.render(app, req, status)
}

#[handler]
async fn login_page(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    if super::ctx::current(app, req, false).await.is_some() {
        return redirect("/tai-khoan");
    }
    login_form(app, req, "", None).await
}

#[handler]
async fn login_submit(
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
        &super::client_ip(req),
    )
    .await
    {
        Ok(s) => redirect(&format!("{LOGIN_OTP}/{}", s.flow_id)),
        Err(e) => login_form(app, req, &username, Some(&e)).await,
    }
}

const LOGIN_OTP: &str = "/dang-nhap/xac-thuc";

fn expired_login(app: &App, req: &Request, e: &AppError) -> Response {
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

async fn login_otp_view(
    app: &Arc<App>,
    req: &Request,
    flow: &str,
    error: Option<&AppError>,
) -> Response {
    match staff_login::describe(app, flow, false).await {
        Ok(s) => otp_page(
            app,
            req,
            "Xác thực mã OTP",
            "Mã xác thực đã được gửi qua số điện thoại:",
            &s.phone_masked,
            LOGIN_OTP,
            flow,
            s.resend_in,
            error.map(otp_error_text),
            error.map_or(StatusCode::OK, status_of),
            true,
        ),
        Err(e) => expired_login(app, req, &e),
    }
}

#[handler]
async fn login_otp_page(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    login_otp_view(app, req, &flow, None).await
}

#[handler]
async fn login_otp_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let ip = super::client_ip(req);
    match staff_login::verify(app, &flow, &typed_otp(&form), &ip, false).await {
        Ok(signed) => {
            let to = if signed.account.must_change_password {
                "/tai-khoan/doi-mat-khau"
            } else {
                "/tai-khoan"
            };
            with_cookie(redirect(to), &session_cookie(&signed.token, secure(app)))
        }
        Err(e @ AppError::Gone(_)) => expired_login(app, req, &e),
        Err(e) => login_otp_view(app, req, &flow, Some(&e)).await,
    }
}

#[handler]
async fn login_resend(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match staff_login::resend(app, &flow, false).await {
        Ok(_) => redirect(&format!("{LOGIN_OTP}/{flow}?gui-lai=1")),
        Err(e @ AppError::Gone(_)) => expired_login(app, req, &e),
        Err(e) => login_otp_view(app, req, &flow, Some(&e)).await,
    }
}

#[handler]
async fn other_methods(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
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
async fn lost_phone(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
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

// ---------------------------------------------------------------- Quên mật khẩu

async fn forgot_form(
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
            error => error.and_then(|e| match e {
                AppError::Invalid { .. } => None,
                other => Some(other.to_string()),
            }),
        }),
    );
    let status = error.map_or(StatusCode::OK, status_of);
    ctx.render(app, req, status)
}

#[handler]
async fn forgot_page(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    forgot_form(app, req, &query(req, "ten").unwrap_or_default(), None).await
}

#[handler]
async fn forgot_submit(
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
        &super::client_ip(req),
    )
    .await
    {
        Ok(s) => redirect(&format!("{RESET_OTP}/{}", s.flow_id)),
        Err(e) => forgot_form(app, req, &username, Some(&e)).await,
    }
}

const RESET_OTP: &str = "/quen-mat-khau/xac-thuc";

fn expired_reset(app: &App, req: &Request, e: &AppError) -> Response {
    info(
        app,
        req,
        None,
        status_of(e),
        "Phiên đặt lại mật khẩu đã hết hạn",
        &[
            "Phiên đặt lại mật khẩu này đã hết hạn hoặc không còn hiệu lực (cần hoàn tất trong vòng 15 phút).",
            "Vui lòng thực hiện lại.",
        ],
        &[],
        false,
        &[("/quen-mat-khau", "Thực hiện lại")],
    )
}

async fn reset_otp_view(
    app: &Arc<App>,
    req: &Request,
    flow: &str,
    error: Option<&AppError>,
) -> Response {
    match password_reset::describe(app, flow).await {
        Ok((_, true)) => redirect(&format!("/quen-mat-khau/mat-khau/{flow}")),
        Ok((s, false)) => otp_page(
            app,
            req,
            "Xác thực mã OTP",
            "Nếu tên đăng nhập đúng, mã xác thực đã được gửi tới số điện thoại đã đăng ký của tài khoản.",
            "",
            RESET_OTP,
            flow,
            s.resend_in,
            error.map(otp_error_text),
            error.map_or(StatusCode::OK, status_of),
            false,
        ),
        Err(e) => expired_reset(app, req, &e),
    }
}

#[handler]
async fn reset_otp_page(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    reset_otp_view(app, req, &flow, None).await
}

#[handler]
async fn reset_otp_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match password_reset::verify_otp(app, &flow, &typed_otp(&form)).await {
        Ok(()) => redirect(&format!("/quen-mat-khau/mat-khau/{flow}")),
        Err(e @ AppError::Gone(_)) => expired_reset(app, req, &e),
        Err(e) => reset_otp_view(app, req, &flow, Some(&e)).await,
    }
}

#[handler]
async fn reset_resend(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match password_reset::resend(app, &flow).await {
        Ok(_) => redirect(&format!("{RESET_OTP}/{flow}?gui-lai=1")),
        Err(e @ AppError::Gone(_)) => expired_reset(app, req, &e),
        Err(e) => reset_otp_view(app, req, &flow, Some(&e)).await,
    }
}

#[handler]
async fn reset_password_page(
    req: &Request,
    Path(flow): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match password_reset::describe(app, &flow).await {
        Ok((_, true)) => password_page(
            app,
            req,
            "Đặt lại mật khẩu",
            Some("Vui lòng đặt mật khẩu mới cho tài khoản."),
            &format!("/quen-mat-khau/mat-khau/{flow}"),
            "Lưu mật khẩu mới",
            None,
        ),
        Ok((_, false)) => redirect(&format!("{RESET_OTP}/{flow}")),
        Err(e) => expired_reset(app, req, &e),
    }
}

#[handler]
async fn reset_password_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match password_reset::set_password(
        app,
        &flow,
        &form.text("password"),
        &form.text("password_confirm"),
        &super::client_ip(req),
    )
    .await
    {
        Ok(()) => with_cookie(
            redirect("/quen-mat-khau/thanh-cong"),
            &clear_session_cookie(secure(app)),
        ),
        Err(e @ AppError::Gone(_)) => expired_reset(app, req, &e),
        Err(e) => password_page(
            app,
            req,
            "Đặt lại mật khẩu",
            None,
            &format!("/quen-mat-khau/mat-khau/{flow}"),
            "Lưu mật khẩu mới",
            Some(&e),
        ),
    }
}

#[handler]
async fn reset_done(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
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

// ---------------------------------------------------------------- Tài khoản

#[handler]
async fn account_home(
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
        phone_masked => staff_login::mask_phone(&a.phone),
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

fn change_password_view(
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
            error => error.and_then(|e| match e {
                AppError::Invalid { .. } => None,
                other => Some(other.to_string()),
            }),
        }),
    );
    let status = error.map_or(StatusCode::OK, status_of);
    ctx.render(app, req, status)
}

#[handler]
async fn change_password_page(
    req: &Request,
    CitizenActor(actor): CitizenActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    change_password_view(app, req, &actor, None)
}

#[handler]
async fn change_password_submit(
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
async fn logout(req: &Request, body: Body, Data(app): Data<&Arc<App>>) -> Response {
    let signed_in = match read_form(req, body).await {
        Ok(_) => super::ctx::current(app, req, false).await,
        Err(_) => None,
    };
    if let Some(t) = signed_in.and_then(|a| a.token) {
        let _ = staff_login::sign_out(app, &t).await;
    }
    with_cookie(redirect("/"), &clear_session_cookie(secure(app)))
}

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
        register::<RegisterChoicePage, PortalShell>(sample_frame()),
        register::<RegisterFormPage, PortalShell>(sample_frame()),
        register::<OtpPage, PortalShell>(sample_frame()),
        register::<PasswordPage, PortalShell>(sample_frame()),
        register::<LoginPage, PortalShell>(sample_frame()),
        register::<ForgotPage, PortalShell>(sample_frame()),
        register::<AccountPage, PortalShell>(sample_frame()),
        register::<ChangePasswordPage, PortalShell>(sample_frame()),
    ]
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

    #[test]
    fn flow_ids_are_checked_before_use_in_links() {
        assert!(flow_like(&crate::util::random_token()));
        assert!(!flow_like("javascript:alert(1)"));
        assert!(!flow_like(""));
    }

    #[test]
    fn otp_boxes_or_joined_field() {
        let f = FormData(vec![
            ("d0".into(), "1".into()),
            ("d1".into(), "2".into()),
            ("d5".into(), "6".into()),
        ]);
        assert_eq!(typed_otp(&f), "126");
        let f = FormData(vec![
            ("otp".into(), "123456".into()),
            ("d0".into(), "9".into()),
        ]);
        assert_eq!(typed_otp(&f), "123456");
    }
}
