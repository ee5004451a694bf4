//! Tin nhắn SMS: the outgoing messages, the provider's health and delivery reports.
use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};

use super::{Framed, error_page, frame};
use crate::app::App;
use crate::error::AppError;
use crate::store::sms;
use crate::util;
use crate::web::extract::StaffActor;
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(SmsPage = "console/sms.html" { messages: Val, provider: Val, health: Val });
#[handler]
pub(super) async fn sms_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !actor.account.superadmin {
        return error_page(app, req, Some(&actor), &AppError::Forbidden);
    }
    let provider = app.cfg.sms_provider.name();
    let (jobs, health) = crate::flows::reports::sms_log(app, &actor, 200)
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
                by => j.initiator.label_vi(),
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
        frame(app, Some(&actor), "Tin nhắn SMS", "sms").await,
        page_ctx!(SmsPage { messages => rows, provider => provider, health => health }),
    );
    ctx.render(app, req, StatusCode::OK)
}
