//! Console: Quản trị hệ thống → Mẫu tin nhắn (province admin). A thin
//! transport over `flows::sms_templates`: the list of templates with what
//! each costs, and one editor page per template with a live preview
//! (`web/static/sms-template.js`: the same rules as `sms::template` and
//! `sms::text`, so the count the admin sees while typing is the one the
//! server shows after saving).

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, Route, get, handler, post};

use crate::app::App;
use crate::flows::sms_templates::{self, View};
use crate::sms::template::Id;
use crate::web::console::{Framed, error_page, frame};
use crate::web::ctx::{FormData, redirect, status_of};
use crate::web::extract::{CsrfForm, StaffActor};
use crate::web::view::Val;
use crate::{page_ctx, page_type, util};

pub fn routes() -> Route {
    Route::new()
        .at("/", get(list_page))
        .at("/:key", get(edit_page).post(save))
        .at("/:key/mac-dinh", post(reset))
}

page_type!(SmsTemplatesPage = "console/sms_templates.html" { items: Val, unicode: Val });
page_type!(SmsTemplatePage = "console/sms_template.html" { t: Val, error: Val, unicode: Val });

/// This module's page types, for the template tests.
#[cfg(test)]
pub(crate) fn pages() -> Vec<crate::web::view::check::Registered> {
    use crate::web::view::check::register;
    vec![
        register::<SmsTemplatesPage, crate::web::view::ConsoleShell>(super::sample_frame()),
        register::<SmsTemplatePage, crate::web::view::ConsoleShell>(super::sample_frame()),
    ]
}

fn cost(v: &View) -> minijinja::Value {
    context! {
        chars => v.preview.cost.units,
        encoding => v.preview.cost.encoding.label(),
        segments => v.preview.cost.segments,
    }
}

fn item(v: &View) -> minijinja::Value {
    context! {
        key => v.def.key, name => v.def.name, when => v.def.when,
        edited => v.edited, unaccent => v.unaccent, cost => cost(v),
        initiator => v.def.initiator.label_vi(),
    }
}

/// The editor's values; `text` is what the form shows (the refused text
/// after an error, so the admin can fix it).
fn editor(app: &App, v: &View, text: &str, unaccent: bool) -> minijinja::Value {
    let office = crate::sms::office_vars(&app.cfg);
    let vars = v.def.sample_vars(&office);
    let vars_json: serde_json::Map<String, serde_json::Value> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    let placeholders: Vec<minijinja::Value> = v
        .def
        .allowed()
        .map(|p| {
            context! {
                name => format!("{{{}}}", p.name), label => p.label,
                required => v.def.required.iter().any(|r| r.name == p.name),
                sample => vars.get(p.name).unwrap_or(p.sample).to_string(),
            }
        })
        .collect();
    let required: Vec<String> = v.def.required.iter().map(|p| p.name.to_string()).collect();
    context! {
        key => v.def.key, name => v.def.name, when => v.def.when, text => text,
        unaccent => unaccent, edited => v.edited, default_text => v.def.default_text,
        initiator => v.def.initiator.label_vi(),
        updated_at => v.updated_at.map(util::fmt_time), updated_by => v.updated_by.clone(),
        placeholders => placeholders,
        vars_json => serde_json::Value::Object(vars_json).to_string(),
        required => required.join(","),
        preview => v.preview.text.clone(), cost => cost(v),
    }
}

/// The dashboard's alert about the day's SMS budget, for province
/// admins: from 80 % of `MOTCUA_SMS_DAILY_LIMIT`, and once it is spent
/// (citizens' requests are then refused).
pub async fn budget_alert(app: &Arc<App>, actor: &crate::flows::Actor) -> Option<minijinja::Value> {
    if !actor.account.superadmin {
        return None;
    }
    let limit = app.cfg.sms.daily_limit?;
    let b = crate::flows::sms_templates::budget_today(app).await.ok()?;
    let spent = match b.level {
        crate::sms::budget::Level::Fine => return None,
        crate::sms::budget::Level::Near => false,
        crate::sms::budget::Level::Spent => true,
    };
    Some(context! { spent => spent, used => b.used, limit => limit })
}

fn unicode_note(app: &App) -> bool {
    app.cfg.sms.unicode
}

#[handler]
async fn list_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let views = match sms_templates::list(app, &actor).await {
        Ok(v) => v,
        Err(e) => return error_page(app, req, Some(&actor), &e),
    };
    let items: Vec<minijinja::Value> = views.iter().map(item).collect();
    Framed(
        frame(app, Some(&actor), "Mẫu tin nhắn", "sms_templates").await,
        page_ctx!(SmsTemplatesPage { items => items, unicode => unicode_note(app) }),
    )
    .render(app, req, StatusCode::OK)
}

async fn one(
    app: &Arc<App>,
    actor: &crate::flows::Actor,
    key: &str,
) -> Result<View, crate::error::AppError> {
    let id = Id::from_key(key).ok_or_else(crate::error::AppError::not_found)?;
    sms_templates::list(app, actor)
        .await?
        .into_iter()
        .find(|v| v.def.id == id)
        .ok_or_else(crate::error::AppError::not_found)
}

async fn editor_page(
    app: &Arc<App>,
    actor: &crate::flows::Actor,
    v: &View,
    text: &str,
    unaccent: bool,
    error: Option<String>,
) -> Framed<SmsTemplatePage> {
    Framed(
        frame(
            app,
            Some(actor),
            &format!("Mẫu tin nhắn: {}", v.def.name),
            "sms_templates",
        )
        .await,
        page_ctx!(SmsTemplatePage {
            t => editor(app, v, text, unaccent), error => error, unicode => unicode_note(app),
        }),
    )
}

#[handler]
async fn edit_page(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(key): Path<String>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match one(app, &actor, &key).await {
        Ok(v) => {
            let text = v.text.clone();
            editor_page(app, &actor, &v, &text, v.unaccent, None)
                .await
                .render(app, req, StatusCode::OK)
        }
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
async fn save(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(key): Path<String>,
    CsrfForm(form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    let text = form.text("text");
    let unaccent = form.get("unaccent").is_some_and(|v| v == "on" || v == "1");
    match sms_templates::save(app, &actor, &key, &text, unaccent).await {
        Ok(_) => redirect(&format!("/quan-tri/mau-tin-nhan/{key}?ok=mau-tin-nhan")),
        Err(e @ crate::error::AppError::Invalid { .. }) => match one(app, &actor, &key).await {
            // The stored template is unchanged; the form keeps the typed
            // text so the admin can put the placeholder back.
            Ok(v) => editor_page(app, &actor, &v, &text, unaccent, Some(e.to_string()))
                .await
                .render(app, req, status_of(&e)),
            Err(e2) => error_page(app, req, Some(&actor), &e2),
        },
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}

#[handler]
async fn reset(
    req: &Request,
    StaffActor(actor): StaffActor,
    Path(key): Path<String>,
    CsrfForm(_form): CsrfForm<FormData>,
    Data(app): Data<&Arc<App>>,
) -> Response {
    match sms_templates::reset(app, &actor, &key).await {
        Ok(_) => redirect(&format!(
            "/quan-tri/mau-tin-nhan/{key}?ok=mau-tin-nhan-mac-dinh"
        )),
        Err(e) => error_page(app, req, Some(&actor), &e),
    }
}
