//! Console pages of the support group: "Quản lý yêu cầu hỗ trợ" (requests
//! handed over by the bot, `support.manage`) and "Xử lý phiếu khảo sát"
//! (ratings, `survey.process`). "Câu hỏi chưa có câu trả lời" lives with
//! the knowledge-base editor (`console::faq`).

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, Route, get, handler, post};

use crate::app::App;
use crate::domain::TicketStatus;
use crate::error::AppError;
use crate::flows::Actor;
use crate::flows::chat;
use crate::helpdesk::Lang;
use crate::store::conversations::{Sender, Ticket};
use crate::util;
use crate::web::console::{Framed, error_page, frame};
use crate::web::ctx::FormData;
use crate::web::ctx::{redirect, status_of};
use crate::web::extract::{CsrfForm, StaffActor};
use crate::web::view::Val;
use crate::{page_ctx, page_type};

/// Mounted at /quan-tri/ho-tro.
pub fn support_routes() -> Route {
    Route::new()
        .at("/", get(list_page))
        .at("/:id", get(detail_page))
        .at("/:id/tra-loi", post(reply_submit))
        .at("/:id/trang-thai", post(status_submit))
}

/// Mounted at /quan-tri/khao-sat.
pub fn survey_routes() -> Route {
    Route::new().at("/", get(survey_page))
}

/// Ready-made answers for the common problems (the staff member may edit
/// them before sending).
pub fn canned(public_url: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "chao",
            "Chào và hỏi thêm thông tin",
            "Chào anh/chị, cán bộ hỗ trợ đã nhận được yêu cầu. Anh/chị vui lòng cho biết rõ hơn vướng mắc đang gặp (không gửi mật khẩu hay mã OTP).".to_string(),
        ),
        (
            "otp",
            "Không nhận được mã OTP",
            "Anh/chị kiểm tra lại số điện thoại đã nhập, sóng di động và hộp tin nhắn, sau đó bấm Gửi lại OTP và chỉ dùng mã mới nhất (mã có hiệu lực 2 phút). Nếu vẫn không nhận được, anh/chị tắt rồi bật lại điện thoại và thử lại.".to_string(),
        ),
        (
            "matkhau",
            "Quên mật khẩu",
            format!("Anh/chị vào {public_url}/quen-mat-khau (Đăng nhập → Quên mật khẩu), nhập số CMND/CCCD và mã xác thực, nhận mã OTP qua tin nhắn rồi đặt mật khẩu mới: ít nhất 8 ký tự, có chữ thường, chữ in hoa, chữ số và ký tự đặc biệt."),
        ),
        (
            "thuebao",
            "Thông tin thuê bao không khớp",
            "Thông tin thuê bao di động của anh/chị tại nhà mạng chưa khớp với thông tin đăng ký. Anh/chị đến cửa hàng của nhà mạng để cập nhật thông tin thuê bao, hoặc mang CMND/CCCD đến Bộ phận một cửa để được cán bộ tạo tài khoản.".to_string(),
        ),
        (
            "motcua",
            "Đến Bộ phận một cửa",
            "Anh/chị vui lòng mang CMND/CCCD và điện thoại đang dùng đến Bộ phận một cửa gần nhất. Cán bộ sẽ hỗ trợ tạo tài khoản hoặc cập nhật số điện thoại nhận mã OTP.".to_string(),
        ),
        (
            "ketthuc",
            "Cảm ơn và kết thúc",
            "Cảm ơn anh/chị đã liên hệ. Vướng mắc của anh/chị đã được giải quyết. Nếu cần hỗ trợ thêm, anh/chị cứ nhắn tiếp tại đây.".to_string(),
        ),
    ]
}

fn ticket_row(app: &App, t: &Ticket) -> minijinja::Value {
    let tree = app.tree();
    context! {
        id => t.id,
        status => t.status.as_str(),
        status_label => t.status.label_vi(),
        channel => t.channel.label_vi(),
        unit => tree.name(t.unit),
        summary => t.summary.clone(),
        assignee => t.assignee.clone(),
        created_at => util::fmt_time(t.created_at),
        updated_at => util::fmt_time(t.updated_at),
        rating => t.rating,
        comment => t.comment.clone(),
        resolved_at => t.resolved_at.map(util::fmt_time),
        resolved_by => t.resolved_by.clone(),
    }
}

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    #[serde(rename = "trang-thai")]
    status: Option<String>,
}

#[handler]
async fn list_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Query(q): Query<ListQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let all = match chat::tickets(app, &actor, None).await {
        Ok(t) => t,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let filter = q
        .status
        .as_deref()
        .and_then(TicketStatus::parse)
        .map(Some)
        .unwrap_or_else(|| {
            // Default tab: new requests (all when the filter is "all").
            if q.status.as_deref() == Some("all") {
                None
            } else {
                Some(TicketStatus::New)
            }
        });
    let tabs: Vec<minijinja::Value> = TicketStatus::ALL
        .iter()
        .map(|s| {
            context! {
                key => s.as_str(), label => s.label_vi(),
                count => all.iter().filter(|t| t.status == *s).count(),
                current => filter == Some(*s),
            }
        })
        .collect();
    let rows: Vec<minijinja::Value> = all
        .iter()
        .filter(|t| filter.is_none_or(|f| t.status == f))
        .map(|t| ticket_row(app, t))
        .collect();
    let ctx = Framed(
        frame(app, Some(&actor), "Quản lý yêu cầu hỗ trợ", "support").await,
        page_ctx!(SupportListPage {
            tabs => tabs, rows => rows, all_current => filter.is_none(), total => all.len(),
        }),
    );
    ctx.render(app, req, StatusCode::OK)
}

#[derive(serde::Deserialize, Default)]
struct DetailQuery {
    mau: Option<String>,
}

async fn detail_ctx(
    app: &Arc<App>,
    actor: &Actor,
    id: u64,
    draft: &str,
    error: Option<String>,
) -> Result<Framed<SupportDetailPage>, AppError> {
    let (t, c, msgs) = chat::ticket_detail(app, actor, id).await?;
    let messages: Vec<minijinja::Value> = msgs
        .iter()
        // A bot command (Telegram's /start, the web chat's opening) is not
        // something the citizen said.
        .filter(|m| !(matches!(m.from, Sender::Citizen) && is_bot_command(&m.text)))
        .map(|m| {
            let (who, kind) = match &m.from {
                Sender::Citizen => ("Công dân".to_string(), "citizen"),
                Sender::Bot => ("Trợ lý tự động".to_string(), "bot"),
                Sender::Staff(u) => (format!("Cán bộ {u}"), "staff"),
            };
            context! {
                who => who, kind => kind, at => util::fmt_time(m.at), text => m.text.clone(),
                // The bot's **bold** as bold, everything else escaped.
                html => minijinja::Value::from_safe_string(crate::channels::to_html(&m.text)),
                withheld => m.withheld,
                buttons => m.suggestions.iter().map(|b| b.label.clone()).collect::<Vec<_>>(),
            }
        })
        .collect();
    let canned: Vec<minijinja::Value> = canned(&app.cfg.public_url)
        .into_iter()
        .map(|(k, title, text)| context! { key => k, title => title, text => text })
        .collect();
    Ok(Framed(
        frame(
            app,
            Some(actor),
            &format!("Yêu cầu hỗ trợ số {id}"),
            "support",
        )
        .await,
        page_ctx!(SupportDetailPage {
            t => ticket_row(app, &t), messages => messages, canned => canned, draft => draft,
            open => t.status != TicketStatus::Done, error => error,
            lang => if c.lang == Lang::En.code() { "Tiếng Anh" } else { "Tiếng Việt" },
            statuses => TicketStatus::ALL.iter().filter(|s| **s != t.status).map(|s| context! { key => s.as_str(), label => s.label_vi() }).collect::<Vec<_>>(),
            max_len => chat::MAX_STAFF_TEXT,
        }),
    ))
}

/// The request a page names. Staff who hold `support.manage` nowhere get
/// 403, as for other objects (docs/design/permissions.md); another unit's
/// request stays 404.
fn ticket_id(actor: &Actor, id: &str) -> Result<u64, AppError> {
    if !actor
        .account
        .has_any(crate::domain::Permission::SupportManage)
    {
        return Err(AppError::Forbidden);
    }
    id.trim()
        .parse()
        .map_err(|_| AppError::NotFound("Không tìm thấy yêu cầu hỗ trợ.".into()))
}

/// What a change to request `id` answers: `done` once made, the error page
/// for a request the actor may not see, else its page again with the
/// error (and the typed `draft`).
async fn after_change(
    app: &Arc<App>,
    req: &Request,
    actor: &Actor,
    id: u64,
    draft: &str,
    r: Result<(), AppError>,
    done: &str,
) -> Response {
    match r {
        Ok(()) => redirect(done),
        Err(e @ (AppError::NotFound(_) | AppError::Forbidden)) => {
            error_page(app, req, Some(actor), &e)
        }
        Err(e) => match detail_ctx(app, actor, id, draft, Some(e.to_string())).await {
            Ok(ctx) => ctx.render(app, req, status_of(&e)),
            Err(e2) => error_page(app, req, Some(actor), &e2),
        },
    }
}

#[handler]
async fn detail_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let id = match ticket_id(&actor, &id) {
        Ok(id) => id,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let draft = q
        .mau
        .and_then(|k| {
            canned(&app.cfg.public_url)
                .into_iter()
                .find(|(key, _, _)| *key == k)
        })
        .map(|(_, _, text)| text)
        .unwrap_or_default();
    match detail_ctx(app, &actor, id, &draft, None).await {
        Ok(ctx) => ctx.render(app, req, StatusCode::OK),
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
async fn reply_submit(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let id = match ticket_id(&actor, &id) {
        Ok(id) => id,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let mut text = form.text("text");
    if text.trim().is_empty()
        && let Some((_, _, t)) = canned(&app.cfg.public_url)
            .into_iter()
            .find(|(k, _, _)| *k == form.text("canned"))
    {
        text = t;
    }
    let r = chat::staff_reply(app, &actor, id, &text).await;
    let done = format!("/quan-tri/ho-tro/{id}#tra-loi");
    after_change(app, req, &actor, id, &text, r, &done).await
}

#[handler]
async fn status_submit(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let id = match ticket_id(&actor, &id) {
        Ok(id) => id,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let Some(status) = TicketStatus::parse(&form.text("status")) else {
        return error_page(
            app,
            req,
            Some(&actor),
            &AppError::invalid("Trạng thái không hợp lệ."),
        );
    };
    let r = chat::set_status(app, &actor, id, status).await;
    let done = format!("/quan-tri/ho-tro/{id}");
    after_change(app, req, &actor, id, "", r, &done).await
}

#[handler]
async fn survey_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let list = match chat::ratings(app, &actor).await {
        Ok(l) => l,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let total = list.len();
    let sum: u64 = list.iter().filter_map(|t| t.rating).map(u64::from).sum();
    let average = if total > 0 {
        format!("{:.1}", sum as f64 / total as f64).replace('.', ",")
    } else {
        "–".into()
    };
    let dist: Vec<minijinja::Value> = (1..=5u8)
        .rev()
        .map(|n| {
            let c = list.iter().filter(|t| t.rating == Some(n)).count();
            let pct = (c * 100).checked_div(total).unwrap_or(0);
            context! { stars => n, count => c, pct => pct }
        })
        .collect();
    let mut rows: Vec<&Ticket> = list.iter().collect();
    rows.sort_by_key(|t| std::cmp::Reverse(t.rated_at.unwrap_or(t.updated_at)));
    let rows: Vec<minijinja::Value> = rows
        .into_iter()
        .map(|t| {
            let mut v = ticket_row(app, t);
            v = context! { ..v, ..context! { rated_at => t.rated_at.map(util::fmt_time) } };
            v
        })
        .collect();
    let ctx = Framed(
        frame(app, Some(&actor), "Xử lý phiếu khảo sát", "survey").await,
        page_ctx!(SurveyPage {
            total => total, average => average, dist => dist, rows => rows,
            with_comments => list.iter().filter(|t| t.comment.is_some()).count(),
        }),
    );
    ctx.render(app, req, StatusCode::OK)
}

/// `/start` and the like: a command to the bot, one word after a slash.
fn is_bot_command(text: &str) -> bool {
    let t = text.trim();
    t.starts_with('/')
        && t.len() <= 32
        && t[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

page_type!(SupportListPage = "console/support.html" { tabs: Val, rows: Val, all_current: Val, total: Val });
page_type!(SupportDetailPage = "console/support_detail.html" {
    t: Val, messages: Val, canned: Val, draft: Val, open: Val, error: Val, lang: Val, statuses: Val, max_len: Val,
});
page_type!(SurveyPage = "console/survey.html" { total: Val, average: Val, dist: Val, rows: Val, with_comments: Val });

/// This module's page types, for the template tests.
#[cfg(test)]
pub(crate) fn pages() -> Vec<crate::web::view::check::Registered> {
    use crate::web::console::sample_frame;
    use crate::web::view::ConsoleShell;
    use crate::web::view::check::register;
    vec![
        register::<SupportListPage, ConsoleShell>(sample_frame()),
        register::<SupportDetailPage, ConsoleShell>(sample_frame()),
        register::<SurveyPage, ConsoleShell>(sample_frame()),
    ]
}
