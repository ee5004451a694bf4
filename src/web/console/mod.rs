//! The staff console at /quan-tri.

mod access;
mod audit;
pub mod citizens;
pub mod faq;
mod session;
mod sms;
pub mod sms_templates;
mod staff;
pub mod stats;
pub mod support;
mod units;

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{IntoResponse, Request, Response, Route, get, handler, post};

use super::ctx::{secure, status_of};
use super::extract::StaffActor;
use super::view::{ConsoleCan, ConsoleCounts, ConsoleMe, ConsoleShell, Page, Val, render};
use crate::app::App;
use crate::domain::Permission;
use crate::error::AppError;
use crate::flows::{Actor, admin};
use crate::{page_ctx, page_type};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(dashboard))
        .at(
            "/dang-nhap",
            get(session::login_page).post(session::login_submit),
        )
        .at(
            "/xac-thuc/:flow",
            get(session::otp_page).post(session::otp_submit),
        )
        .at("/xac-thuc/:flow/gui-lai", post(session::otp_resend))
        .at("/dang-xuat", post(session::logout))
        .at(
            "/doi-mat-khau",
            get(session::password_page).post(session::password_submit),
        )
        .at(
            "/thiet-lap/:token",
            get(session::setup_page).post(session::setup_submit),
        )
        .at("/don-vi", get(units::units_page).post(units::unit_create))
        .at("/don-vi/:id", post(units::unit_rename))
        .at("/can-bo", get(staff::staff_page).post(staff::staff_create))
        .at("/can-bo/:username", get(staff::grants_page))
        .at("/can-bo/:username/quyen", post(staff::grants_submit))
        .at("/nhat-ky", get(audit::audit_page))
        .at("/tin-nhan", get(sms::sms_page))
        .nest("/tao-tai-khoan-cong-dan", citizens::routes())
        .nest("/thong-ke", stats::routes())
        .nest("/mau-tin-nhan", sms_templates::routes())
        .nest("/ho-tro", support::support_routes())
        .nest("/khao-sat", support::survey_routes())
        .nest("/cau-hoi-chua-tra-loi", faq::unanswered_routes())
        .nest("/cau-hoi-thuong-gap", faq::routes())
        .at("/thong-bao", get(notices_page))
        .at("/yeu-cau-cap-quyen", get(access::access_page))
        .at("/yeu-cau-cap-quyen/:id/duyet", post(access::access_approve))
        .at(
            "/yeu-cau-cap-quyen/:id/tu-choi",
            post(access::access_reject),
        )
}

/// The console frame for `actor` with the menu's counts (read on the
/// store pool).
pub async fn frame(app: &Arc<App>, actor: Option<&Actor>, title: &str, nav: &str) -> ConsoleShell {
    let mut shell = frame_plain(actor, title, nav);
    if let (Some(a), Some(can)) = (actor, shell.can.as_mut()) {
        can.faq = crate::flows::faq::may_edit(app, &a.account);
    }
    if let Some(a) = actor {
        let c = admin::menu_counts(app, &a.account).await;
        shell.counts = ConsoleCounts {
            access: c.access,
            support: c.support,
        };
    }
    shell
}

/// The console frame without the menu's counts (message and error pages,
/// which must not wait on the store).
pub fn frame_plain(actor: Option<&Actor>, title: &str, nav: &str) -> ConsoleShell {
    let can = actor.map(|a| {
        let acc = &a.account;
        ConsoleCan {
            superadmin: acc.superadmin,
            users: acc.has_any(Permission::UsersCreate),
            stats: acc.has_any(Permission::StatsView),
            units: acc.superadmin || acc.has_any(Permission::UsersCreate),
            support: acc.has_any(Permission::SupportManage),
            // Refined by `frame` (it needs the unit tree).
            faq: acc.superadmin,
            survey: acc.has_any(Permission::SurveyProcess),
        }
    });
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
        counts: ConsoleCounts::default(),
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
        register::<session::SetupPage, ConsoleShell>(sample_frame()),
        register::<session::PasswordPage, ConsoleShell>(sample_frame()),
        register::<MessagePage, ConsoleShell>(sample_frame()),
        register::<DashboardPage, ConsoleShell>(sample_frame()),
        register::<session::LoginPage, ConsoleShell>(sample_frame()),
        register::<session::OtpPage, ConsoleShell>(sample_frame()),
        register::<session::SigninLinkPage, ConsoleShell>(sample_frame()),
        register::<units::UnitsPage, ConsoleShell>(sample_frame()),
        register::<staff::StaffPage, ConsoleShell>(sample_frame()),
        register::<staff::GrantsPage, ConsoleShell>(sample_frame()),
        register::<audit::AuditPage, ConsoleShell>(sample_frame()),
        register::<sms::SmsPage, ConsoleShell>(sample_frame()),
        register::<NoticesPage, ConsoleShell>(sample_frame()),
        register::<access::AccessPage, ConsoleShell>(sample_frame()),
    ]
}

// Errors (see [`error_page`]) and confirmations.
crate::message_page!("console/message.html");

/// Renders a message page in the console frame.
pub fn message(
    app: &App,
    req: &Request,
    actor: Option<&Actor>,
    status: StatusCode,
    p: &MessagePage,
) -> Response {
    render(app, req, status, &frame_plain(actor, &p.heading, ""), p)
}

/// A page in the console frame, ready to render.
pub struct Framed<P: Page>(pub ConsoleShell, pub P);

impl<P: Page> Framed<P> {
    pub fn render(&self, app: &App, req: &Request, status: StatusCode) -> Response {
        render(app, req, status, &self.0, &self.1)
    }
}

page_type!(DashboardPage = "console/dashboard.html" { stats: Val, me_grants: Val, sms_budget: Val });
page_type!(NoticesPage = "console/notices.html" {});
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
    let sms_budget = sms_templates::budget_alert(app, &actor).await;
    let ctx = Framed(
        frame(app, Some(&actor), "Dashboard", "dashboard").await,
        page_ctx!(DashboardPage {
            stats => context! { units => rows.len(), eligible => rows.iter().filter(|r| r.eligible).count(), staff => staff_count },
            me_grants => grants,
            sms_budget => sms_budget,
        }),
    );
    ctx.render(app, req, StatusCode::OK)
}

fn parse_id(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

#[handler]
async fn notices_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    Framed(
        frame(app, Some(&actor), "Thông báo", "notices").await,
        NoticesPage::default(),
    )
    .render(app, req, StatusCode::OK)
}

#[allow(dead_code)]
fn not_found_page(app: &App, req: &Request) -> Response {
    error_page(app, req, None, &AppError::not_found()).into_response()
}
