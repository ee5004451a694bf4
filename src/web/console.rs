//! The staff console at /quan-tri.

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Body, IntoResponse, Request, Response, Route, get, handler, post};

use super::ctx::FormData;
use super::ctx::{
    clear_session_cookie, read_form, redirect, session_cookie, status_of, with_cookie,
};
use super::extract::{CsrfForm, StaffActor};
use super::view::{ConsoleCan, ConsoleCounts, ConsoleMe, ConsoleShell, Fields, Page, Val, render};
use crate::app::App;
use crate::domain::{CitizenId, Permission, PermissionSet, PhoneNumber};
use crate::error::AppError;
use crate::flows::{Actor, admin, setup, staff_login};
use crate::store::{accounts, audit, sms};
use crate::util;
use crate::{page_ctx, page_type};

pub mod faq;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(dashboard))
        .at("/dang-nhap", get(login_page).post(login_submit))
        .at("/xac-thuc/:flow", get(otp_page).post(otp_submit))
        .at("/xac-thuc/:flow/gui-lai", post(otp_resend))
        .at("/dang-xuat", post(logout))
        .at("/doi-mat-khau", get(password_page).post(password_submit))
        .at("/thiet-lap/:token", get(setup_page).post(setup_submit))
        .at("/don-vi", get(units_page).post(unit_create))
        .at("/don-vi/:id", post(unit_rename))
        .at("/can-bo", get(staff_page).post(staff_create))
        .at("/can-bo/:username", get(grants_page))
        .at("/can-bo/:username/quyen", post(grants_submit))
        .at("/nhat-ky", get(audit_page))
        .at("/tin-nhan", get(sms_page))
        .nest("/tao-tai-khoan-cong-dan", super::console_citizens::routes())
        .nest("/thong-ke", super::console_stats::routes())
        .nest("/ho-tro", super::console_support::support_routes())
        .nest("/khao-sat", super::console_support::survey_routes())
        .nest("/cau-hoi-chua-tra-loi", faq::unanswered_routes())
        .nest("/cau-hoi-thuong-gap", faq::routes())
        .at("/thong-bao", get(notices_page))
        .at("/yeu-cau-cap-quyen", get(access_page))
        .at("/yeu-cau-cap-quyen/:id/duyet", post(access_approve))
        .at("/yeu-cau-cap-quyen/:id/tu-choi", post(access_reject))
}

fn secure(app: &App) -> bool {
    app.cfg.public_url.starts_with("https://")
}

/// The console frame for `actor` (typed).
pub fn frame(app: &App, actor: Option<&Actor>, title: &str, nav: &str) -> ConsoleShell {
    let tree = app.tree();
    let can = actor.map(|a| {
        let acc = &a.account;
        ConsoleCan {
            superadmin: acc.superadmin,
            users: acc.has_any(Permission::UsersCreate),
            stats: acc.has_any(Permission::StatsView),
            units: acc.superadmin || acc.has_any(Permission::UsersCreate),
            support: acc.has_any(Permission::SupportManage),
            faq: crate::flows::faq::may_edit(app, acc),
            survey: acc.has_any(Permission::SurveyProcess),
        }
    });
    let access = actor
        .filter(|a| a.account.has_any(Permission::UsersCreate))
        .map(|a| {
            app.store
                .read(crate::store::access_requests::all)
                .map(|all| {
                    all.iter()
                        .filter(|r| {
                            r.status == crate::store::access_requests::Status::Pending
                                && tree.allows(&a.account, Permission::UsersCreate, r.unit)
                        })
                        .count()
                })
                .unwrap_or(0)
        })
        .unwrap_or(0);
    ConsoleShell {
        title: title.to_string(),
        nav: nav.to_string(),
        flash: None,
        flash_kind: None,
        me: actor.map(|a| ConsoleMe {
            full_name: a.account.full_name.clone(),
            username: a.account.username.clone(),
            superadmin: a.account.superadmin,
        }),
        can,
        counts: ConsoleCounts {
            access,
            support: actor
                .map(|a| crate::flows::chat::new_count(app, &a.account))
                .unwrap_or(0),
        },
    }
}

/// A signed-in frame for the template tests.
#[cfg(test)]
pub(crate) fn sample_frame() -> ConsoleShell {
    ConsoleShell {
        title: "Trang".into(),
        nav: "dashboard".into(),
        flash: Some("Đã lưu.".into()),
        flash_kind: Some("ok".into()),
        me: Some(ConsoleMe {
            full_name: "Nguyễn Văn A".into(),
            username: "quantri".into(),
            superadmin: true,
        }),
        can: Some(ConsoleCan {
            superadmin: true,
            users: true,
            stats: true,
            units: true,
            support: true,
            survey: true,
            faq: true,
        }),
        counts: ConsoleCounts {
            access: 1,
            support: 2,
        },
    }
}

/// This module's page types, for the template tests.
#[cfg(test)]
pub(crate) fn pages() -> Vec<super::view::check::Registered> {
    use super::view::check::register;
    vec![
        register::<SetupPage, ConsoleShell>(sample_frame()),
        register::<PasswordPage, ConsoleShell>(sample_frame()),
        register::<MessagePage, ConsoleShell>(sample_frame()),
        register::<DashboardPage, ConsoleShell>(sample_frame()),
        register::<LoginPage, ConsoleShell>(sample_frame()),
        register::<OtpPage, ConsoleShell>(sample_frame()),
        register::<SigninLinkPage, ConsoleShell>(sample_frame()),
        register::<UnitsPage, ConsoleShell>(sample_frame()),
        register::<StaffPage, ConsoleShell>(sample_frame()),
        register::<GrantsPage, ConsoleShell>(sample_frame()),
        register::<AuditPage, ConsoleShell>(sample_frame()),
        register::<SmsPage, ConsoleShell>(sample_frame()),
        register::<NoticesPage, ConsoleShell>(sample_frame()),
        register::<AccessPage, ConsoleShell>(sample_frame()),
    ]
}

/// `console/message.html`: a heading, a sentence and a way on. Used for
/// errors (see [`error_page`]) and confirmations.
#[derive(serde::Serialize, Default)]
pub struct MessagePage {
    pub heading: String,
    pub message: String,
    pub link: Option<String>,
    pub link_text: String,
}

impl Page for MessagePage {
    const TEMPLATE: &'static str = "console/message.html";
    fn samples() -> Vec<Self> {
        vec![MessagePage {
            heading: "Không tìm thấy".into(),
            message: "Trang không tồn tại.".into(),
            link: Some("/quan-tri".into()),
            link_text: "Về trang chủ".into(),
        }]
    }
}

/// Renders a message page in the console frame.
pub fn message(
    app: &App,
    req: &Request,
    actor: Option<&Actor>,
    status: StatusCode,
    p: &MessagePage,
) -> Response {
    render(app, req, status, &frame(app, actor, &p.heading, ""), p)
}

/// A page in the console frame, ready to render.
pub struct Framed<P: Page>(pub ConsoleShell, pub P);

impl<P: Page> Framed<P> {
    pub fn render(&self, app: &App, req: &Request, status: StatusCode) -> Response {
        render(app, req, status, &self.0, &self.1)
    }
}

page_type!(DashboardPage = "console/dashboard.html" { stats: Val, me_grants: Val });
page_type!(LoginPage = "console/login.html" { error: Val, fields: Val, username: Val, captcha: Val });
page_type!(OtpPage = "console/otp.html" { phone_masked: Val, resend_in: Val, action: Val, resend_action: Val, error: Val });
page_type!(SigninLinkPage = "console/signin_link.html" { username: Val });
page_type!(UnitsPage = "console/units.html" { rows: Val, manageable: Val, manageable_ids: Val, error: Val, form: Val });
page_type!(StaffPage = "console/staff.html" { staff: Val, manageable: Val, error: Val, fields: Val, form: Val });
page_type!(GrantsPage = "console/grants.html" { person: Val, units: Val, groups: Val, other_units: Val, error: Val });
page_type!(AuditPage = "console/audit.html" { entries: Val, actions: Val, filter: Val });
page_type!(SmsPage = "console/sms.html" { messages: Val, provider: Val, health: Val });
page_type!(NoticesPage = "console/notices.html" {});
page_type!(AccessPage = "console/access_requests.html" { items: Val, groups: Val, status: Val, error: Val });

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

pub fn error_page(app: &App, req: &Request, actor: Option<&Actor>, e: &AppError) -> Response {
    let heading = match e {
        AppError::Forbidden => "Không có quyền truy cập",
        AppError::NotFound(_) => "Không tìm thấy",
        AppError::Gone(_) => "Đã hết hạn",
        AppError::Limited { .. } => "Vui lòng thử lại sau",
        _ => "Không thực hiện được",
    };
    let p = MessagePage {
        heading: heading.into(),
        message: e.to_string(),
        link: Some("/quan-tri".into()),
        link_text: "Về trang chủ".into(),
    };
    message(app, req, actor, status_of(e), &p)
}

#[handler]
async fn dashboard(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let tree = app.tree();
    let rows = tree.rows();
    let staff_count = admin::visible_staff(app, &actor.account)
        .await
        .map(|s| s.len())
        .unwrap_or(0);
    let grants: Vec<minijinja::Value> = actor
        .account
        .grants
        .iter()
        .map(|g| context! { unit => tree.name(g.unit), perms => g.perms.iter().map(|p| p.label_vi()).collect::<Vec<_>>() })
        .collect();
    let ctx = Framed(
        frame(app, Some(&actor), "Dashboard", "dashboard"),
        page_ctx!(DashboardPage {
            stats => context! { units => rows.len(), eligible => rows.iter().filter(|r| r.eligible).count(), staff => staff_count },
            me_grants => grants,
        }),
    );
    ctx.render(app, req, StatusCode::OK)
}

#[handler]
async fn login_page(req: &Request, Data(app): Data<&Arc<App>>) -> Response {
    if super::ctx::current(app, req, true).await.is_some() {
        return redirect("/quan-tri");
    }
    Framed(
        frame(app, None, "Đăng nhập", ""),
        page_ctx!(LoginPage { error => None::<String>, fields => Fields::new(), username => "", captcha => None::<String> }),
    )
    .render(app, req, StatusCode::OK)
}

#[handler]
async fn login_submit(
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
                Some(super::portal::captcha_ctx(app, req).await)
            } else {
                None
            };
            let status = if error.is_some() || !fields.is_empty() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            Framed(
                frame(app, None, "Đăng nhập", ""),
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
        match crate::captcha::verify(app, &captcha_id, &form.text("captcha")) {
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
    let client = staff_login::Client {
        ip: super::client_ip(req),
        device_cookie: super::ctx::device_cookie(app, req),
        captcha_passed,
    };
    match staff_login::start_from(app, &username, &form.text("password"), &client, true).await {
        Ok(s) => redirect(&format!("/quan-tri/xac-thuc/{}", s.flow_id)),
        Err(e) => {
            let fields = e.field_map().cloned().unwrap_or_default();
            let captcha = fields.contains_key("captcha");
            let r = again(Some(e.to_string()), fields, captcha).await;
            let mut r = r;
            if let Ok(s) = StatusCode::from_u16(e.status()) {
                r.set_status(s);
            }
            r
        }
    }
}

fn otp_ctx(
    app: &App,
    flow: &str,
    s: &staff_login::Started,
    error: Option<String>,
) -> Framed<OtpPage> {
    Framed(
        frame(app, None, "Xác thực OTP", ""),
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
async fn otp_page(req: &Request, Path(flow): Path<String>, Data(app): Data<&Arc<App>>) -> Response {
    match staff_login::describe(app, &flow, true).await {
        Ok(s) => otp_ctx(app, &flow, &s, None).render(app, req, StatusCode::OK),
        Err(e) => expired_login(app, req, &e),
    }
}

fn expired_login(app: &App, req: &Request, e: &AppError) -> Response {
    let p = MessagePage {
        heading: "Phiên đăng nhập đã hết hạn".into(),
        message: e.to_string(),
        link: Some("/quan-tri/dang-nhap".into()),
        link_text: "Đăng nhập lại".into(),
    };
    message(app, req, None, status_of(e), &p)
}

#[handler]
async fn otp_submit(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let ip = super::client_ip(req);
    match staff_login::verify(app, &flow, &form.text("otp"), &ip, true).await {
        Ok(signed) => {
            let to = if signed.account.must_change_password {
                "/quan-tri/doi-mat-khau"
            } else {
                "/quan-tri"
            };
            with_cookie(redirect(to), &session_cookie(&signed.token, secure(app)))
        }
        Err(e @ AppError::Gone(_)) => expired_login(app, req, &e),
        Err(e) => match staff_login::describe(app, &flow, true).await {
            Ok(s) => otp_ctx(app, &flow, &s, Some(e.to_string())).render(app, req, status_of(&e)),
            Err(e2) => expired_login(app, req, &e2),
        },
    }
}

#[handler]
async fn otp_resend(
    req: &Request,
    Path(flow): Path<String>,
    CsrfForm(_): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match staff_login::resend(app, &flow, true).await {
        Ok(_) => redirect(&format!("/quan-tri/xac-thuc/{flow}")),
        Err(e @ AppError::Gone(_)) => expired_login(app, req, &e),
        Err(e) => match staff_login::describe(app, &flow, true).await {
            Ok(s) => otp_ctx(app, &flow, &s, Some(e.to_string())).render(app, req, status_of(&e)),
            Err(e2) => expired_login(app, req, &e2),
        },
    }
}

#[handler]
async fn logout(req: &Request, body: Body, Data(app): Data<&Arc<App>>) -> Response {
    if read_form(req, body).await.is_ok()
        && let Some(a) = super::ctx::current(app, req, true).await
        && let Some(t) = &a.token
    {
        let _ = staff_login::sign_out(app, t).await;
    }
    with_cookie(
        redirect("/quan-tri/dang-nhap"),
        &clear_session_cookie(secure(app)),
    )
}

#[handler]
async fn password_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let p = PasswordPage {
        forced: actor.account.must_change_password,
        ..Default::default()
    };
    let frame = frame(app, Some(&actor), "Đổi mật khẩu", "password");
    render(app, req, StatusCode::OK, &frame, &p)
}

#[handler]
async fn password_submit(
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
            let frame = frame(app, Some(&actor), "Đổi mật khẩu", "password");
            render(app, req, status_of(&e), &frame, &p)
        }
    }
}

#[handler]
async fn setup_page(
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
            frame(app, None, "Đăng nhập một lần", ""),
            page_ctx!(SigninLinkPage { username => username }),
        );
        return ctx.render(app, req, StatusCode::OK);
    }
    let frame = frame(app, None, "Thiết lập ban đầu", "");
    render(app, req, StatusCode::OK, &frame, &SetupPage::default())
}

#[handler]
async fn setup_submit(
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
            return match setup::complete_signin(app, &token, &super::client_ip(req)).await {
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
    match setup::complete(app, &token, input, &super::client_ip(req)).await {
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
            let frame = frame(app, None, "Thiết lập ban đầu", "");
            render(app, req, status_of(&e), &frame, &p)
        }
    }
}

fn units_ctx(app: &App, actor: &Actor, error: Option<String>, name: &str) -> Framed<UnitsPage> {
    let tree = app.tree();
    let manageable = admin::manageable_units(app, &actor.account);
    let ids: Vec<u64> = manageable.iter().map(|r| r.id).collect();
    Framed(
        frame(app, Some(actor), "Đơn vị", "units"),
        page_ctx!(UnitsPage {
            rows => super::ctx::v(&tree.rows()), manageable => super::ctx::v(&manageable), manageable_ids => ids, error => error, form => context! { name => name },
        }),
    )
}

fn require_unit_admin(actor: &Actor) -> Result<(), AppError> {
    if actor.account.superadmin || actor.account.has_any(Permission::UsersCreate) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[handler]
async fn units_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if let Err(e) = require_unit_admin(&actor) {
        return error_page(app, req, Some(&actor), &e);
    }
    units_ctx(app, &actor, None, "").render(app, req, StatusCode::OK)
}

fn parse_id(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

#[handler]
async fn unit_create(
    req: &Request,
    StaffActor(actor): StaffActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let parent = parse_id(&form.text("parent_id"));
    match admin::create_unit(app, &actor, &form.text("name"), parent).await {
        Ok(_) => redirect("/quan-tri/don-vi?ok=don-vi"),
        Err(e) => units_ctx(app, &actor, Some(e.to_string()), &form.text("name")).render(
            app,
            req,
            status_of(&e),
        ),
    }
}

#[handler]
async fn unit_rename(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return error_page(app, req, Some(&actor), &AppError::not_found());
    };
    match admin::rename_unit(app, &actor, id, &form.text("name")).await {
        Ok(_) => redirect("/quan-tri/don-vi?ok=don-vi"),
        Err(e) => units_ctx(app, &actor, Some(e.to_string()), "").render(app, req, status_of(&e)),
    }
}

async fn staff_ctx(
    app: &Arc<App>,
    actor: &Actor,
    error: Option<String>,
    fields: Option<std::collections::BTreeMap<String, String>>,
    form: Option<&super::ctx::FormData>,
) -> Framed<StaffPage> {
    let tree = app.tree();
    let list = admin::visible_staff(app, &actor.account)
        .await
        .unwrap_or_default();
    let rows: Vec<minijinja::Value> = list
        .iter()
        .map(|s| {
            context! {
                username => s.username.clone(), full_name => s.full_name.clone(),
                id_masked => s.id_number.as_deref().and_then(|i| CitizenId::parse(i).ok()).map(|i| i.masked()).unwrap_or_default(),
                phone_masked => PhoneNumber::parse(&s.phone).map(|p| p.masked()).unwrap_or_default(),
                units => s.units.iter().map(|u| tree.name(*u)).collect::<Vec<_>>(),
            }
        })
        .collect();
    let f = form.cloned().unwrap_or_default();
    Framed(
        frame(app, Some(actor), "Cán bộ và phân quyền", "staff"),
        page_ctx!(StaffPage {
            staff => rows, manageable => super::ctx::v(&admin::manageable_units(app, &actor.account)), error => error, fields => fields.unwrap_or_default(),
            form => context! { username => f.text("username"), full_name => f.text("full_name"), id_number => f.text("id_number"), phone => f.text("phone"), email => f.text("email"), unit_id => f.text("unit_id") },
        }),
    )
}

#[handler]
async fn staff_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if let Err(e) = require_unit_admin(&actor) {
        return error_page(app, req, Some(&actor), &e);
    }
    let ctx = staff_ctx(app, &actor, None, None, None).await;
    ctx.render(app, req, StatusCode::OK)
}

#[handler]
async fn staff_create(
    req: &Request,
    StaffActor(actor): StaffActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let input = admin::NewStaff {
        username: form.text("username"),
        full_name: form.text("full_name"),
        id_number: form.text("id_number"),
        phone: form.text("phone"),
        email: form.get("email").map(str::to_string),
        unit_ids: form
            .all("unit_id")
            .iter()
            .filter_map(|s| parse_id(s))
            .collect(),
    };
    match admin::create_staff(app, &actor, input).await {
        Ok(a) => redirect(&format!("/quan-tri/can-bo/{}?ok=can-bo-moi", a.username)),
        Err(e) => {
            let ctx = staff_ctx(
                app,
                &actor,
                Some(e.to_string()),
                e.field_map().cloned(),
                Some(&form),
            )
            .await;
            ctx.render(app, req, status_of(&e))
        }
    }
}

#[derive(serde::Deserialize)]
struct GrantsQuery {
    unit: Option<u64>,
}

async fn grants_ctx(
    app: &Arc<App>,
    actor: &Actor,
    username: &str,
    extra_unit: Option<u64>,
    error: Option<String>,
) -> Result<Framed<GrantsPage>, AppError> {
    let u = username.to_string();
    let person = app
        .db(move |app| Ok(app.store.read(|r| accounts::get(r, &u))?))
        .await?
        .ok_or_else(|| AppError::NotFound("Không tìm thấy người dùng.".into()))?;
    let tree = app.tree();
    let scope = tree.units_with(&actor.account, Permission::UsersCreate);
    let visible = actor.account.superadmin
        || person
            .units
            .iter()
            .chain(person.grants.iter().map(|g| &g.unit))
            .any(|u| scope.contains(u));
    if !visible {
        return Err(AppError::NotFound("Không tìm thấy người dùng.".into()));
    }
    let mut unit_ids: Vec<u64> = person.units.clone();
    for g in &person.grants {
        if !unit_ids.contains(&g.unit) {
            unit_ids.push(g.unit);
        }
    }
    if let Some(x) = extra_unit.filter(|x| scope.contains(x) && !unit_ids.contains(x)) {
        unit_ids.push(x);
    }
    let units: Vec<minijinja::Value> = unit_ids
        .iter()
        .filter(|u| scope.contains(u))
        .map(|u| {
            let held = tree.effective(&actor.account, *u);
            context! {
                id => u, name => tree.name(*u),
                granted => person.grant_on(*u).iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                grantable => held.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            }
        })
        .collect();
    let groups: Vec<minijinja::Value> = ["Nhóm quyền hỗ trợ", "Nhóm quyền quản trị"]
        .iter()
        .map(|g| {
            context! { name => *g, perms => Permission::ALL.iter().filter(|p| p.group_vi() == *g).map(|p| context! { key => p.as_str(), label => p.label_vi() }).collect::<Vec<_>>() }
        })
        .collect();
    let others: Vec<crate::org::TreeRow> = admin::manageable_units(app, &actor.account)
        .into_iter()
        .filter(|r| !unit_ids.contains(&r.id))
        .collect();
    Ok(Framed(
        frame(app, Some(actor), "Phân quyền", "staff"),
        page_ctx!(GrantsPage {
            person => context! { username => person.username, full_name => person.full_name },
            units => units, groups => groups, other_units => super::ctx::v(&others), error => error,
        }),
    ))
}

#[handler]
async fn grants_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(username): Path<String>,
    Query(q): Query<GrantsQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if let Err(e) = require_unit_admin(&actor) {
        return error_page(app, req, Some(&actor), &e);
    }
    match grants_ctx(app, &actor, &username, q.unit, None).await {
        Ok(ctx) => ctx.render(app, req, StatusCode::OK),
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
async fn grants_submit(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(username): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(unit) = parse_id(&form.text("unit_id")) else {
        return error_page(
            app,
            req,
            Some(&actor),
            &AppError::invalid("Vui lòng chọn đơn vị."),
        );
    };
    let mut perms = PermissionSet::empty();
    for p in form.all("perm") {
        match Permission::parse(p) {
            Ok(p) => {
                perms.insert(p);
            }
            Err(e) => return error_page(app, req, Some(&actor), &e.into()),
        }
    }
    match admin::set_grants(app, &actor, &username, unit, perms).await {
        Ok(_) => redirect(&format!("/quan-tri/can-bo/{username}?ok=phan-quyen")),
        Err(e) => match grants_ctx(app, &actor, &username, Some(unit), Some(e.to_string())).await {
            Ok(ctx) => ctx.render(app, req, status_of(&e)),
            Err(e2) => error_page(app, req, Some(&actor), &e2),
        },
    }
}

#[derive(serde::Deserialize, Default)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[handler]
async fn audit_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Query(q): Query<AuditQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !actor.account.superadmin {
        return error_page(app, req, Some(&actor), &AppError::Forbidden);
    }
    let nonempty = |s: &Option<String>| {
        s.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let filter = audit::AuditFilter {
        actor: nonempty(&q.actor),
        action: nonempty(&q.action),
        from: nonempty(&q.from).and_then(|s| util::parse_day_start(&s)),
        to: nonempty(&q.to)
            .and_then(|s| util::parse_day_start(&s))
            .map(|t| t + 86_399),
    };
    let entries = app
        .db_heavy(move |app| Ok(app.store.read(|r| audit::search(r, &filter, 500))?))
        .await
        .unwrap_or_default();
    let tree = app.tree();
    let unit_name = |id: u64| tree.get(id).map(|_| tree.name(id));
    let rows: Vec<minijinja::Value> = entries
        .iter()
        .map(|e| context! {
            at => util::fmt_time(e.at),
            actor => match e.actor.as_str() { "cli" => "Dòng lệnh trên máy chủ".to_string(), "-" => "Khách".to_string(), a => a.to_string() },
            action => super::audit_labels::action(&e.action),
            object => super::audit_labels::object(&e.object, &unit_name),
            detail => super::audit_labels::detail(&e.action, &e.detail, &unit_name),
            ip => if e.ip == "local" { "Máy chủ".to_string() } else { e.ip.clone() },
        })
        .collect();
    let actions: Vec<minijinja::Value> = super::audit_labels::ACTIONS
        .iter()
        .map(|(code, label)| context! { code => *code, label => *label })
        .collect();
    let ctx = Framed(
        frame(app, Some(&actor), "Nhật ký hệ thống", "audit"),
        page_ctx!(AuditPage {
            entries => rows, actions => actions, filter => context! { actor => q.actor, action => q.action, from => q.from, to => q.to },
        }),
    );
    ctx.render(app, req, StatusCode::OK)
}

#[handler]
async fn sms_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !actor.account.superadmin {
        return error_page(app, req, Some(&actor), &AppError::Forbidden);
    }
    let provider = app.cfg.sms_provider.name();
    let (jobs, health) = app
        .db(move |app| {
            Ok(app.store.read(|r| {
                let jobs = sms::recent(r, 200)?
                    .into_iter()
                    .map(|j| {
                        let rec = sms::receipt(r, j.id)?;
                        Ok((j, rec))
                    })
                    .collect::<crate::store::Result<Vec<_>>>()?;
                Ok((jobs, sms::config_error(r, provider)?))
            })?)
        })
        .await
        .unwrap_or_default();
    let gateway = crate::sms::gateway(&app.cfg);
    let explain = |code: &str| match &gateway {
        Some(g) => g.explain(code),
        None => crate::sms::provider::explain_common(code),
    };
    let rows: Vec<minijinja::Value> = jobs
        .iter()
        .map(|(j, rec)| {
            let code = rec.as_ref().and_then(|r| r.code.clone());
            let delivery = match rec.as_ref().and_then(|r| r.delivered) {
                Some(true) => "Đã đến máy người nhận",
                Some(false) => "Không đến được máy người nhận",
                None if j.status == sms::SmsStatus::Sent && provider != "outbox" => "Chưa có báo cáo của nhà mạng",
                None => "",
            };
            context! {
                at => util::fmt_time(j.created_at), to => j.to.clone(), text => j.text.clone(), attempts => j.attempts,
                status => match j.status { sms::SmsStatus::Sent => "Đã gửi", sms::SmsStatus::Pending => "Đang chờ gửi", sms::SmsStatus::GaveUp => "Không gửi được" },
                delivery => delivery,
                code => code.clone(),
                problem => code.as_deref().filter(|_| j.status != sms::SmsStatus::Sent).map(explain),
            }
        })
        .collect();
    let health = health.map(|h| {
        context! {
            code => h.code, message => h.message, since => util::fmt_time(h.since),
            last_at => util::fmt_time(h.last_at), count => h.count,
        }
    });
    let ctx = Framed(
        frame(app, Some(&actor), "Tin nhắn SMS", "sms"),
        page_ctx!(SmsPage { messages => rows, provider => provider, health => health }),
    );
    ctx.render(app, req, StatusCode::OK)
}

#[handler]
async fn notices_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    Framed(
        frame(app, Some(&actor), "Thông báo", "notices"),
        NoticesPage::default(),
    )
    .render(app, req, StatusCode::OK)
}

#[allow(dead_code)]
fn not_found_page(app: &App, req: &Request) -> Response {
    error_page(app, req, None, &AppError::not_found()).into_response()
}

#[derive(serde::Deserialize, Default)]
struct AccessQuery {
    status: Option<String>,
}

async fn access_ctx(
    app: &Arc<App>,
    actor: &Actor,
    status: &str,
    error: Option<String>,
) -> Framed<AccessPage> {
    use crate::store::access_requests::Status;
    let st = Status::parse(status).unwrap_or(Status::Pending);
    let list = crate::flows::access_requests::visible(app, actor, Some(st))
        .await
        .unwrap_or_default();
    let tree = app.tree();
    let mut items = vec![];
    for r in list {
        let u = r.username.clone();
        let person = app
            .db(move |app| Ok(app.store.read(|t| accounts::get(t, &u))?))
            .await
            .ok()
            .flatten();
        let held = tree.effective(&actor.account, r.unit);
        items.push(context! {
            id => r.id,
            full_name => person.as_ref().map(|p| p.full_name.clone()).unwrap_or_default(),
            id_masked => person.as_ref().and_then(|p| p.id_number.as_deref()).and_then(|i| CitizenId::parse(i).ok()).map(|i| i.masked()).unwrap_or_default(),
            unit => tree.name(r.unit), eligible => tree.eligible(r.unit),
            position => r.position, work_phone => r.work_phone, note => r.note,
            created_at => util::fmt_time(r.created_at),
            pending => r.status == Status::Pending, status => r.status.label_vi(), reason => r.reason,
            grantable => held.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        });
    }
    let groups: Vec<minijinja::Value> = ["Nhóm quyền hỗ trợ", "Nhóm quyền quản trị"]
        .iter()
        .map(|g| context! { name => *g, perms => Permission::ALL.iter().filter(|p| p.group_vi() == *g).map(|p| context! { key => p.as_str(), label => p.label_vi() }).collect::<Vec<_>>() })
        .collect();
    Framed(
        frame(app, Some(actor), "Yêu cầu cấp quyền", "access"),
        page_ctx!(AccessPage { items => items, groups => groups, status => st.as_str(), error => error }),
    )
}

#[handler]
async fn access_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Query(q): Query<AccessQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !actor.account.has_any(Permission::UsersCreate) {
        return error_page(app, req, Some(&actor), &AppError::Forbidden);
    }
    let ctx = access_ctx(app, &actor, q.status.as_deref().unwrap_or("pending"), None).await;
    ctx.render(app, req, StatusCode::OK)
}

#[handler]
async fn access_approve(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return error_page(app, req, Some(&actor), &AppError::not_found());
    };
    let mut perms = PermissionSet::empty();
    for p in form.all("perm") {
        match Permission::parse(p) {
            Ok(p) => {
                perms.insert(p);
            }
            Err(e) => return error_page(app, req, Some(&actor), &e.into()),
        }
    }
    match crate::flows::access_requests::approve(app, &actor, id, perms).await {
        Ok(_) => redirect("/quan-tri/yeu-cau-cap-quyen?ok=duyet"),
        Err(e) => {
            let ctx = access_ctx(app, &actor, "pending", Some(e.to_string())).await;
            ctx.render(app, req, status_of(&e))
        }
    }
}

#[handler]
async fn access_reject(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Some(id) = parse_id(&id) else {
        return error_page(app, req, Some(&actor), &AppError::not_found());
    };
    match crate::flows::access_requests::reject(app, &actor, id, &form.text("reason")).await {
        Ok(_) => redirect("/quan-tri/yeu-cau-cap-quyen?ok=tu-choi"),
        Err(e) => {
            let ctx = access_ctx(app, &actor, "pending", Some(e.to_string())).await;
            ctx.render(app, req, status_of(&e))
        }
    }
}
