//! Nhật ký: the audit log with its filters.
use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Request, Response, handler};

use super::{Framed, error_page, frame};
use crate::app::App;
use crate::error::AppError;
use crate::store::audit;
use crate::util;
use crate::web::extract::StaffActor;
use crate::web::view::Val;
use crate::{page_ctx, page_type};

page_type!(AuditPage = "console/audit.html" { entries: Val, actions: Val, filter: Val });
#[derive(serde::Deserialize, Default)]
struct AuditQuery {
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[handler]
pub(super) async fn audit_page(
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
    let entries = crate::flows::reports::audit_log(app, &actor, filter, 500)
        .await
        .unwrap_or_default();
    let tree = app.tree();
    let unit_name = |id: u64| tree.get(id).map(|_| tree.name(id));
    let rows: Vec<minijinja::Value> = entries
        .iter()
        .map(|e| context! {
            at => util::fmt_time(e.at),
            actor => match e.actor.as_str() { "cli" => "Dòng lệnh trên máy chủ".to_string(), "-" => "Khách".to_string(), a => a.to_string() },
            action => crate::web::audit_labels::action(&e.action),
            object => crate::web::audit_labels::object(&e.object, &unit_name),
            detail => crate::web::audit_labels::detail(&e.action, &e.detail, &unit_name),
            ip => if e.ip == "local" { "Máy chủ".to_string() } else { e.ip.clone() },
        })
        .collect();
    let actions: Vec<minijinja::Value> = crate::web::audit_labels::ACTIONS
        .iter()
        .map(|(code, label)| context! { code => *code, label => *label })
        .collect();
    let ctx = Framed(
        frame(app, Some(&actor), "Nhật ký hệ thống", "audit").await,
        page_ctx!(AuditPage {
            entries => rows, actions => actions, filter => context! { actor => q.actor, action => q.action, from => q.from, to => q.to },
        }),
    );
    ctx.render(app, req, StatusCode::OK)
}
