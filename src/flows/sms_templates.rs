//! Editing the SMS templates (province admin: Quản trị hệ thống → Mẫu tin
//! nhắn). The rules are `sms::template`'s; each change is stored with its
//! audit entry in one transaction. A refused text changes nothing.

use std::sync::Arc;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::sms::template::{self, DEFS, Def, Id, Preview};
use crate::store::{audit, sms_templates};

/// One template as the editor shows it.
#[derive(Debug, Clone)]
pub struct View {
    pub def: &'static Def,
    pub text: String,
    pub unaccent: bool,
    /// Edited by the office (false: today's default).
    pub edited: bool,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
    /// What the text costs with sample values, as it would be sent now.
    pub preview: Preview,
}

fn require_admin(actor: &Actor) -> AppResult<()> {
    if actor.account.superadmin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn view(app: &App, def: &'static Def, stored: Option<sms_templates::Stored>) -> View {
    let (text, unaccent, at, by) = match stored {
        Some(s) => (s.text, s.unaccent, Some(s.updated_at), Some(s.updated_by)),
        None => (def.default_text.to_string(), false, None, None),
    };
    let vars = def.sample_vars(&crate::sms::office_vars(&app.cfg));
    let preview = template::preview(&text, &vars, unaccent, app.cfg.sms.unicode);
    View {
        def,
        edited: at.is_some(),
        text,
        unaccent,
        updated_at: at,
        updated_by: by,
        preview,
    }
}

/// Every template, in the order of [`DEFS`].
pub async fn list(app: &Arc<App>, actor: &Actor) -> AppResult<Vec<View>> {
    require_admin(actor)?;
    let stored = app
        .db(|app| Ok(app.store.read(sms_templates::all)?))
        .await?;
    Ok(DEFS
        .iter()
        .map(|d| {
            let s = stored
                .iter()
                .find(|(k, _)| k == d.key)
                .map(|(_, s)| s.clone());
            view(app, d, s)
        })
        .collect())
}

fn find(key: &str) -> AppResult<Id> {
    Id::from_key(key).ok_or_else(|| AppError::NotFound("Không tìm thấy mẫu tin nhắn.".into()))
}

/// Saves the office's text of template `key`; refused (400, nothing
/// changes) when it lost a required placeholder or is otherwise unusable.
pub async fn save(
    app: &Arc<App>,
    actor: &Actor,
    key: &str,
    text: &str,
    unaccent: bool,
) -> AppResult<View> {
    require_admin(actor)?;
    let def = find(key)?.def();
    let text = template::normalize(text);
    template::check(def, &text).map_err(|p| AppError::field("text", p.message(def)))?;
    let now = app.now();
    let (me, ip) = (actor.username().to_string(), actor.ip.clone());
    let stored = sms_templates::Stored {
        text,
        unaccent,
        updated_at: now,
        updated_by: me.clone(),
    };
    let s2 = stored.clone();
    app.db(move |app| {
        Ok(app.store.write(|w| {
            let before = sms_templates::get(w, def.key)?;
            sms_templates::put(w, def.key, &s2)?;
            let detail = format!(
                "{}{}",
                if unaccent { "bỏ dấu; " } else { "" },
                match before {
                    Some(_) => "sửa nội dung",
                    None => "sửa nội dung mặc định",
                }
            );
            audit::record(
                w,
                now,
                &me,
                "sms_template_update",
                &format!("sms_template:{}", def.key),
                &ip,
                &detail,
            )
        })?)
    })
    .await?;
    Ok(view(app, def, Some(stored)))
}

/// Puts template `key` back to its default text.
pub async fn reset(app: &Arc<App>, actor: &Actor, key: &str) -> AppResult<View> {
    require_admin(actor)?;
    let def = find(key)?.def();
    let now = app.now();
    let (me, ip) = (actor.username().to_string(), actor.ip.clone());
    app.db(move |app| {
        Ok(app.store.write(|w| {
            if sms_templates::reset(w, def.key)? {
                audit::record(
                    w,
                    now,
                    &me,
                    "sms_template_reset",
                    &format!("sms_template:{}", def.key),
                    &ip,
                    "",
                )?;
            }
            Ok::<_, crate::store::StoreError>(())
        })?)
    })
    .await?;
    Ok(view(app, def, None))
}

/// Today's use of the daily SMS budget (the dashboard's alert).
pub async fn budget_today(app: &Arc<App>) -> AppResult<crate::sms::BudgetToday> {
    app.db(|app| Ok(app.store.read(|r| crate::sms::budget_today(app, r))?))
        .await
}
