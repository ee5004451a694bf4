//! Console pages of the knowledge base (Quản trị hệ thống → Câu hỏi thường
//! gặp, `support.manage` at the province unit): the intents with their
//! example and last-month question counts, the editor (title, answers,
//! examples, follow-ups, guided-troubleshooting steps) with a preview as
//! the web chat, Telegram and Zalo show it (their own renderers), publish
//! with the evaluation figures or the refusal, retire, versions with
//! restore; and "Câu hỏi chưa có câu trả lời": similar questions grouped,
//! each group assigned to an intent or marked out of scope in one click.

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, Route, get, handler, post};

use super::super::ctx::{FormData, status_of};
use super::super::extract::{CsrfForm, StaffActor};
use super::super::view::Val;
use super::{Framed, error_page, frame};
use crate::app::App;
use crate::channels;
use crate::domain::Button;
use crate::error::AppError;
use crate::flows::Actor;
use crate::flows::faq::{self, Change, Outcome};
use crate::helpdesk::edit::{self, Evaluation, IntentDoc, TreeDoc};
use crate::helpdesk::{Lang, Reply};
use crate::util;
use crate::{page_ctx, page_type};

/// Mounted at /quan-tri/cau-hoi-thuong-gap.
pub fn routes() -> Route {
    Route::new()
        .at("/", get(list_page))
        .at("/them", get(new_page))
        .at("/chu-de", post(save))
        .at("/chu-de/:id", get(edit_page))
        .at("/chu-de/:id/ngung", post(retire))
        .at("/phien-ban", get(versions_page))
        .at("/phien-ban/:v/khoi-phuc", post(restore))
}

/// Mounted at /quan-tri/cau-hoi-chua-tra-loi.
pub fn unanswered_routes() -> Route {
    Route::new()
        .at("/", get(unanswered_page))
        .at("/gan", post(assign))
}

fn pct(x: f64) -> String {
    edit::percent(x)
}

/// The evaluation for the result and refusal panels.
fn eval_ctx(e: &Evaluation, bot_titles: &dyn Fn(&str) -> String) -> minijinja::Value {
    let name = |i: &Option<String>| match i {
        Some(i) => bot_titles(i),
        None => "(không trả lời: ngoài phạm vi)".to_string(),
    };
    context! {
        in_scope => pct(e.in_scope), abstain => pct(e.abstain),
        in_scope_before => pct(e.in_scope_before), abstain_before => pct(e.abstain_before),
        in_scope_cases => e.in_scope_cases, out_of_scope_cases => e.out_of_scope_cases,
        fixed => e.fixed, reasons => e.reasons.clone(),
        min_in_scope => pct(edit::MIN_IN_SCOPE), min_abstain => pct(edit::MIN_ABSTAIN),
        introduced => e.introduced.iter().take(50).map(|c| context! {
            q => c.q.clone(), expected => name(&c.expected), got => name(&c.got),
        }).collect::<Vec<_>>(),
        introduced_count => e.introduced.len(),
    }
}

fn titles(app: &App) -> impl Fn(&str) -> String {
    let bot = app.bot();
    move |id: &str| {
        bot.kb
            .entry(id)
            .map(|e| format!("{} ({id})", e.title_vi))
            .unwrap_or_else(|| id.to_string())
    }
}

fn result_ctx(app: &App, version: u64, e: &Evaluation) -> minijinja::Value {
    let t = titles(app);
    context! { version => version, eval => eval_ctx(e, &t) }
}

fn refused_ctx(app: &App, e: &Evaluation) -> minijinja::Value {
    let t = titles(app);
    eval_ctx(e, &t)
}

// ---- list ----

#[handler]
async fn list_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let (version, rows) = match faq::intents(app, &actor).await {
        Ok(r) => r,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let total_examples: usize = rows.iter().map(|r| r.examples).sum();
    let rows: Vec<minijinja::Value> = rows
        .iter()
        .map(|r| {
            context! {
                id => r.id.clone(), title => r.title.clone(), examples => r.examples,
                questions => r.questions_30d, origin => r.origin, has_tree => r.has_tree,
            }
        })
        .collect();
    let ctx = Framed(
        frame(app, Some(&actor), "Câu hỏi thường gặp", "faq").await,
        page_ctx!(FaqListPage {
            version => version, rows => rows, total_examples => total_examples,
        }),
    );
    ctx.render(app, req, StatusCode::OK)
}

// ---- editor ----

/// The editor's form values.
fn form_ctx(doc: &IntentDoc) -> minijinja::Value {
    let tree = doc.tree.clone().unwrap_or_default();
    context! {
        id => doc.id.clone(), title => doc.title.clone(), title_en => doc.title_en.clone(),
        answer_vi => doc.answer_vi.clone(), answer_en => doc.answer_en.clone(),
        examples => doc.examples.join("\n"), examples_en => doc.examples_en.join("\n"),
        tree_label => tree.label_vi, tree_label_en => tree.label_en,
        tree_start => tree.start, tree_steps => tree.steps,
        examples_count => doc.examples.len() + doc.examples_en.len(),
    }
}

fn doc_from_form(f: &FormData) -> IntentDoc {
    let lines = |k: &str| -> Vec<String> {
        f.text(k)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let steps = f.text("tree_steps");
    IntentDoc {
        id: f.text("id").trim().to_string(),
        title: f.text("title"),
        title_en: f.text("title_en"),
        answer_vi: f.text("answer_vi"),
        answer_en: f.text("answer_en"),
        examples: lines("examples"),
        examples_en: lines("examples_en"),
        suggest: f.all("suggest").into_iter().map(str::to_string).collect(),
        tree: (!steps.trim().is_empty()).then(|| TreeDoc {
            label_vi: f.text("tree_label"),
            label_en: f.text("tree_label_en"),
            start: f.text("tree_start"),
            steps,
        }),
    }
}

/// One channel's preview of a reply.
fn channel_preview(r: &Reply, lang: Lang) -> minijinja::Value {
    let buttons: Vec<Button> = r
        .suggestions
        .iter()
        .map(|s| Button {
            id: s.id.clone(),
            label: s.label.clone(),
        })
        .collect();
    context! {
        web => minijinja::Value::from_safe_string(channels::web::message_html(&r.text)),
        web_buttons => buttons.iter().map(|b| context! { label => b.label.clone(), handoff => b.id == "handoff" }).collect::<Vec<_>>(),
        telegram => minijinja::Value::from_safe_string(channels::telegram::message_html(&r.text)),
        telegram_buttons => buttons.iter().map(|b| channels::telegram::button_label(&b.label)).collect::<Vec<_>>(),
        zalo => channels::zalo::message_text(&r.text, &buttons, lang.code()),
    }
}

struct Editor {
    doc: IntentDoc,
    is_new: bool,
    fields: std::collections::BTreeMap<String, String>,
    error: Option<String>,
    preview: Option<minijinja::Value>,
    result: Option<minijinja::Value>,
    refused: Option<minijinja::Value>,
}

impl Editor {
    fn of(doc: IntentDoc, is_new: bool) -> Editor {
        Editor {
            doc,
            is_new,
            fields: Default::default(),
            error: None,
            preview: None,
            result: None,
            refused: None,
        }
    }

    async fn render(
        self,
        app: &Arc<App>,
        req: &Request,
        actor: &Actor,
        status: StatusCode,
    ) -> Response {
        let bot = app.bot();
        let intents: Vec<minijinja::Value> = bot
            .raw
            .entries()
            .iter()
            .filter(|e| e.id != self.doc.id)
            .map(|e| {
                context! {
                    id => e.id.clone(), title => e.title_vi.clone(),
                    checked => self.doc.suggest.contains(&e.id),
                }
            })
            .collect();
        let title = if self.is_new {
            "Thêm chủ đề".to_string()
        } else {
            format!("Sửa chủ đề: {}", self.doc.title)
        };
        let ctx = Framed(
            frame(app, Some(actor), &title, "faq").await,
            page_ctx!(FaqEditPage {
                form => form_ctx(&self.doc), is_new => self.is_new, fields => self.fields,
                error => self.error, preview => self.preview, result => self.result,
                refused => self.refused, intents => intents, min_examples => edit::MIN_EXAMPLES,
                version => bot.version,
            }),
        );
        ctx.render(app, req, status)
    }
}

#[handler]
async fn new_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !faq::may_edit(app, &actor.account) {
        return error_page(app, req, Some(&actor), &AppError::Forbidden);
    }
    Editor::of(IntentDoc::default(), true)
        .render(app, req, &actor, StatusCode::OK)
        .await
}

#[handler]
async fn edit_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match faq::intent(app, &actor, &id).await {
        Ok(doc) => {
            Editor::of(doc, false)
                .render(app, req, &actor, StatusCode::OK)
                .await
        }
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
async fn save(
    req: &Request,
    StaffActor(actor): StaffActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    if !faq::may_edit(app, &actor.account) {
        return error_page(app, req, Some(&actor), &AppError::Forbidden);
    }
    let doc = doc_from_form(&form);
    let is_new = form.text("moi") == "1";
    let mut ed = Editor::of(doc.clone(), is_new);
    if is_new && app.bot().kb.entry(&doc.id).is_some() {
        ed.fields.insert(
            "id".into(),
            "Mã chủ đề này đã có; vui lòng chọn mã khác, hoặc mở chủ đề đó để sửa.".into(),
        );
        return ed.render(app, req, &actor, StatusCode::BAD_REQUEST).await;
    }
    let fail = |mut ed: Editor, e: AppError| {
        let status =
            StatusCode::from_u16(status_of(&e).as_u16()).unwrap_or(StatusCode::BAD_REQUEST);
        match e {
            AppError::Invalid { fields, message } => {
                if fields.is_empty() {
                    ed.error = Some(message);
                } else {
                    ed.error = Some(
                        "Thông tin nhập chưa hợp lệ, vui lòng kiểm tra các ô được đánh dấu.".into(),
                    );
                    ed.fields = fields;
                }
            }
            AppError::Forbidden => return Err(e),
            other => ed.error = Some(other.to_string()),
        }
        Ok((ed, status))
    };
    if form.text("hanh_dong") == "xem-truoc" {
        return match faq::preview(app, &actor, doc).await {
            Ok((vi, en)) => {
                ed.preview = Some(context! {
                    vi => channel_preview(&vi, Lang::Vi), en => channel_preview(&en, Lang::En),
                });
                ed.render(app, req, &actor, StatusCode::OK).await
            }
            Err(e) => match fail(ed, e) {
                Ok((ed, s)) => ed.render(app, req, &actor, s).await,
                Err(e) => error_page(app, req, Some(&actor), &e),
            },
        };
    }
    match faq::publish(app, &actor, Change::Put(Box::new(doc.clone()))).await {
        Ok(Outcome::Published { version, eval }) => {
            let mut ed = match faq::intent(app, &actor, &doc.id).await {
                Ok(d) => Editor::of(d, false),
                Err(e) => return error_page(app, req, Some(&actor), &e),
            };
            ed.result = Some(result_ctx(app, version, &eval));
            ed.render(app, req, &actor, StatusCode::OK).await
        }
        Ok(Outcome::Refused(eval)) => {
            ed.refused = Some(refused_ctx(app, &eval));
            ed.render(app, req, &actor, StatusCode::CONFLICT).await
        }
        Err(e) => match fail(ed, e) {
            Ok((ed, s)) => ed.render(app, req, &actor, s).await,
            Err(e) => error_page(app, req, Some(&actor), &e),
        },
    }
}

#[handler]
async fn retire(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(id): Path<String>,
    CsrfForm(_form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match faq::publish(app, &actor, Change::Retire(id.clone())).await {
        Ok(Outcome::Published { version, eval }) => {
            versions_response(
                app,
                req,
                &actor,
                Some(result_ctx(app, version, &eval)),
                None,
            )
            .await
        }
        Ok(Outcome::Refused(eval)) => match faq::intent(app, &actor, &id).await {
            Ok(doc) => {
                let mut ed = Editor::of(doc, false);
                ed.refused = Some(refused_ctx(app, &eval));
                ed.render(app, req, &actor, StatusCode::CONFLICT).await
            }
            Err(e) => error_page(app, req, Some(&actor), &e),
        },
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

// ---- versions ----

async fn versions_response(
    app: &Arc<App>,
    req: &Request,
    actor: &Actor,
    result: Option<minijinja::Value>,
    refused: Option<minijinja::Value>,
) -> Response {
    let (current, list) = match faq::versions(app, actor).await {
        Ok(v) => v,
        Err(e) => return error_page(app, req, Some(actor), &e),
    };
    let rows: Vec<minijinja::Value> = list
        .iter()
        .map(|v| {
            context! {
                version => v.version, created_at => util::fmt_time(v.created_at), by => v.by.clone(),
                summary => v.summary.clone(), in_scope => pct(v.in_scope), abstain => pct(v.abstain),
                current => v.version == current, restored_from => v.restored_from,
            }
        })
        .collect();
    let status = if refused.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let ctx = Framed(
        frame(app, Some(actor), "Phiên bản câu hỏi thường gặp", "faq").await,
        page_ctx!(FaqVersionsPage {
            current => current, rows => rows, result => result, refused => refused,
        }),
    );
    ctx.render(app, req, status)
}

#[handler]
async fn versions_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    versions_response(app, req, &actor, None, None).await
}

#[handler]
async fn restore(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(v): Path<String>,
    CsrfForm(_form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let Ok(v) = v.trim().parse::<u64>() else {
        return error_page(
            app,
            req,
            Some(&actor),
            &AppError::NotFound("Không có phiên bản này.".into()),
        );
    };
    match faq::publish(app, &actor, Change::Restore(v)).await {
        Ok(Outcome::Published { version, eval }) => {
            versions_response(
                app,
                req,
                &actor,
                Some(result_ctx(app, version, &eval)),
                None,
            )
            .await
        }
        Ok(Outcome::Refused(eval)) => {
            versions_response(app, req, &actor, None, Some(refused_ctx(app, &eval))).await
        }
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

// ---- unanswered questions ----

#[derive(serde::Deserialize, Default)]
struct UnansweredQuery {
    ky: Option<i64>,
}

/// What the last action on the unanswered page did.
#[derive(Default)]
struct Panels {
    result: Option<minijinja::Value>,
    refused: Option<minijinja::Value>,
    error: Option<String>,
}

async fn unanswered_response(
    app: &Arc<App>,
    req: &Request,
    actor: &Actor,
    days: i64,
    panels: Panels,
    status: StatusCode,
) -> Response {
    let Panels {
        result,
        refused,
        error,
    } = panels;
    let since = app.now() - days * 86_400;
    let (total, groups) = match faq::unanswered_view(app, actor, since).await {
        Ok(g) => g,
        Err(e) => return error_page(app, req, Some(actor), &e),
    };
    let bot = app.bot();
    let groups: Vec<minijinja::Value> = groups
        .iter()
        .enumerate()
        .map(|(n, g)| {
            context! {
                n => n + 1, count => g.count,
                closest => g.closest.clone(),
                closest_title => g.closest.as_deref().and_then(|i| bot.kb.entry(i)).map(|e| e.title_vi.clone()),
                items => g.items.iter().map(|s| context! {
                    id => s.id, text => s.text.clone(), count => s.count,
                    last_at => util::fmt_time(s.last_at),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let intents: Vec<minijinja::Value> = bot
        .kb
        .entries()
        .iter()
        .map(|e| context! { id => e.id.clone(), title => e.title_vi.clone() })
        .collect();
    let periods: Vec<minijinja::Value> = [
        (7, "7 ngày qua"),
        (30, "30 ngày qua"),
        (90, "90 ngày qua"),
        (365, "1 năm qua"),
    ]
    .iter()
    .map(|(d, l)| context! { days => *d, label => *l, current => *d == days })
    .collect();
    let ctx = Framed(
        frame(
            app,
            Some(actor),
            "Câu hỏi chưa có câu trả lời",
            "unanswered",
        )
        .await,
        page_ctx!(UnansweredPage {
            total => total, groups => groups, periods => periods, days => days,
            intents => intents, can_assign => faq::may_edit(app, &actor.account),
            result => result, refused => refused, error => error,
        }),
    );
    ctx.render(app, req, status)
}

fn period(d: Option<i64>) -> i64 {
    d.filter(|d| [7, 30, 90, 365].contains(d)).unwrap_or(30)
}

#[handler]
async fn unanswered_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Query(q): Query<UnansweredQuery>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    unanswered_response(
        app,
        req,
        &actor,
        period(q.ky),
        Panels::default(),
        StatusCode::OK,
    )
    .await
}

/// One group's form: the ticked questions go to the chosen intent
/// (`hanh_dong=gan`) or out of scope (`hanh_dong=ngoai-pham-vi`).
#[handler]
async fn assign(
    req: &Request,
    StaffActor(actor): StaffActor,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let days = period(form.text("ky").parse().ok());
    let ids: Vec<u64> = form
        .all("ids")
        .into_iter()
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let intent = match form.text("hanh_dong").as_str() {
        "ngoai-pham-vi" => None,
        _ => {
            let i = form.text("intent");
            if i.trim().is_empty() {
                let p = Panels {
                    error: Some("Vui lòng chọn chủ đề để gán câu hỏi.".into()),
                    ..Panels::default()
                };
                return unanswered_response(app, req, &actor, days, p, StatusCode::BAD_REQUEST)
                    .await;
            }
            Some(i.trim().to_string())
        }
    };
    match faq::publish(app, &actor, Change::Assign { ids, intent }).await {
        Ok(Outcome::Published { version, eval }) => {
            let p = Panels {
                result: Some(result_ctx(app, version, &eval)),
                ..Panels::default()
            };
            unanswered_response(app, req, &actor, days, p, StatusCode::OK).await
        }
        Ok(Outcome::Refused(eval)) => {
            let p = Panels {
                refused: Some(refused_ctx(app, &eval)),
                ..Panels::default()
            };
            unanswered_response(app, req, &actor, days, p, StatusCode::CONFLICT).await
        }
        Err(e @ AppError::Forbidden) => error_page(app, req, Some(&actor), &e),
        Err(e) => {
            let s = StatusCode::from_u16(status_of(&e).as_u16()).unwrap_or(StatusCode::BAD_REQUEST);
            let msg = match &e {
                AppError::Invalid { fields, message } => fields
                    .values()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| message.clone()),
                other => other.to_string(),
            };
            let p = Panels {
                error: Some(msg),
                ..Panels::default()
            };
            unanswered_response(app, req, &actor, days, p, s).await
        }
    }
}

page_type!(FaqListPage = "console/faq.html" { version: Val, rows: Val, total_examples: Val });
page_type!(FaqEditPage = "console/faq_edit.html" {
    form: Val, is_new: Val, fields: Val, error: Val, preview: Val, result: Val, refused: Val,
    intents: Val, min_examples: Val, version: Val,
});
page_type!(FaqVersionsPage = "console/faq_versions.html" { current: Val, rows: Val, result: Val, refused: Val });
page_type!(UnansweredPage = "console/unanswered.html" {
    total: Val, groups: Val, periods: Val, days: Val, intents: Val, can_assign: Val,
    result: Val, refused: Val, error: Val,
});

/// This module's page types, for the template tests.
#[cfg(test)]
pub(crate) fn pages() -> Vec<super::super::view::check::Registered> {
    use super::super::view::ConsoleShell;
    use super::super::view::check::register;
    use super::sample_frame;
    vec![
        register::<FaqListPage, ConsoleShell>(sample_frame()),
        register::<FaqEditPage, ConsoleShell>(sample_frame()),
        register::<FaqVersionsPage, ConsoleShell>(sample_frame()),
        register::<UnansweredPage, ConsoleShell>(sample_frame()),
    ]
}
