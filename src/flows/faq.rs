//! The office teaches its bot (issue 19): reading and editing the knowledge
//! base, publishing versions gated by the evaluation, restoring one, and
//! turning unanswered questions into examples or out-of-scope cases.
//!
//! Everything needs `support.manage` at the province unit (the root of the
//! unit tree). A publish runs, on the blocking pool: the candidate overlay
//! → its knowledge base and matcher → the evaluation on the office's eval
//! set (the embedded `faq/eval/*.jsonl` plus every question staff
//! assigned) for the version in use and the candidate → the gate
//! (`helpdesk::edit::judge`) → one write transaction (the version, the new
//! eval cases, the handled questions, the audit entry; refused if another
//! publish got there first) → the new knowledge base in use at once. Other
//! instances poll the newest version number every second.

use std::collections::HashSet;
use std::sync::Arc;

use crate::app::{App, Bot};
use crate::domain::Permission;
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::helpdesk::edit::{self, Evaluation, Group, IntentDoc, Overlay, Question};
use crate::helpdesk::{self, EvalCase, Lang, Reply};
use crate::store::accounts::Account;
use crate::store::{audit, conversations as conv, faq, stats};

/// Unanswered questions older than this are not offered any more.
pub const UNANSWERED_DAYS: i64 = 365;
const UNANSWERED_MAX: usize = 5000;

/// True when the account may edit the knowledge base: `support.manage` at
/// the province unit.
pub fn may_edit(app: &App, account: &Account) -> bool {
    let tree = app.tree();
    match tree.province() {
        Some(p) => tree.allows(account, Permission::SupportManage, p),
        None => account.superadmin,
    }
}

fn require(app: &App, actor: &Actor) -> AppResult<()> {
    if may_edit(app, &actor.account) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("Không tìm thấy chủ đề “{id}”."))
}

/// One intent in the list.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IntentRow {
    pub id: String,
    pub title: String,
    /// Example questions (Vietnamese and English).
    pub examples: usize,
    /// Questions the bot answered with it in the last 30 days.
    pub questions_30d: u64,
    pub origin: &'static str,
    pub has_tree: bool,
}

/// The intents of the version in use.
pub async fn intents(app: &Arc<App>, actor: &Actor) -> AppResult<(u64, Vec<IntentRow>)> {
    require(app, actor)?;
    app.db(|app| {
        let bot = app.bot();
        let now = app.now();
        let from = stats::day_of(now - 30 * 86_400);
        let to = stats::day_of(now);
        let rows = app
            .store
            .read(|r| stats::range(r, "bot_questions", &from, &to))?;
        let (base, _) =
            helpdesk::KnowledgeBase::load(&edit::raw_vars(), Some(&app.cfg.data_dir.join("faq")));
        let base_ids: HashSet<String> = base.entries().iter().map(|e| e.id.clone()).collect();
        let list = bot
            .raw
            .entries()
            .iter()
            .map(|e| IntentRow {
                id: e.id.clone(),
                title: e.title_vi.clone(),
                examples: e.examples.len() + e.examples_en.len(),
                questions_30d: rows.iter().filter(|r| r.dim == e.id).map(|r| r.count).sum(),
                origin: edit::origin(&base_ids, &bot.overlay, &e.id).label_vi(),
                has_tree: bot.raw.tree_for_intent(&e.id).is_some(),
            })
            .collect();
        Ok((bot.version, list))
    })
    .await
}

/// One intent as the editor shows it (examples include the questions
/// assigned to it).
pub async fn intent(app: &Arc<App>, actor: &Actor, id: &str) -> AppResult<IntentDoc> {
    require(app, actor)?;
    edit::doc_of(&app.bot().raw, id).ok_or_else(|| not_found(id))
}

/// A change to publish.
#[derive(Debug, Clone)]
pub enum Change {
    /// Edit an intent, or add it when new (or retired).
    Put(Box<IntentDoc>),
    /// Retire an intent.
    Retire(String),
    /// Unanswered questions (by id; identical ones go along) become
    /// examples and eval cases of an intent, or out-of-scope cases (`None`).
    Assign {
        ids: Vec<u64>,
        intent: Option<String>,
    },
    /// Make an older version's content current again (0: the built-in
    /// knowledge base).
    Restore(u64),
}

/// What a publish did.
#[derive(Debug, Clone)]
pub enum Outcome {
    Published {
        version: u64,
        eval: Evaluation,
    },
    /// Refused by the evaluation gate: nothing changed.
    Refused(Evaluation),
}

/// Serialises publishes of this process (the write transaction also
/// refuses a publish based on an outdated version, for other instances).
static PUBLISHING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn title_of(bot: &Bot, id: &str) -> String {
    bot.kb
        .entry(id)
        .map(|e| e.title_vi.clone())
        .unwrap_or_else(|| id.to_string())
}

/// The office's eval set: the embedded one and every case staff added.
fn eval_set(app: &App) -> AppResult<Vec<EvalCase>> {
    let mut cases = edit::embedded_eval_cases();
    cases.extend(app.store.read(faq::cases)?.into_iter().map(|c| EvalCase {
        q: c.q,
        intent: c.intent,
    }));
    Ok(cases)
}

/// Unhandled unanswered questions of the last year.
fn open_questions(app: &App) -> AppResult<Vec<Question>> {
    let since = app.now() - UNANSWERED_DAYS * 86_400;
    let (list, handled) = app.store.read(|r| {
        Ok((
            conv::unanswered_since(r, since, UNANSWERED_MAX)?,
            faq::handled_ids(r)?,
        ))
    })?;
    Ok(list
        .into_iter()
        .filter(|u| !handled.contains(&u.id))
        .map(|u| Question {
            id: u.id,
            text: u.text,
            at: u.at,
        })
        .collect())
}

/// Applies a change to the overlay in use: the new overlay, a summary in
/// Vietnamese, the new eval cases, the questions handled, the restored
/// version.
struct Planned {
    overlay: Overlay,
    summary: String,
    cases: Vec<EvalCase>,
    handled: Vec<(u64, Option<String>)>,
    restored_from: Option<u64>,
}

fn plan(app: &App, bot: &Bot, change: Change) -> AppResult<Planned> {
    let mut o = bot.overlay.clone();
    let mut cases = Vec::new();
    let mut handled = Vec::new();
    let mut restored_from = None;
    let summary = match change {
        Change::Put(doc) => {
            let doc = *doc;
            let id = doc.id.trim().to_string();
            let exists = bot.kb.entry(&id).is_some();
            let mut known: HashSet<String> =
                bot.kb.entries().iter().map(|e| e.id.clone()).collect();
            known.insert(id.clone());
            let doc = edit::validate(&doc, &known).map_err(AppError::fields)?;
            o.retired.remove(&id);
            o.learned.remove(&id);
            let summary = if exists {
                format!("Sửa chủ đề “{}”", doc.title)
            } else {
                format!("Thêm chủ đề “{}”", doc.title)
            };
            o.intents.insert(id, doc);
            summary
        }
        Change::Retire(id) => {
            if bot.kb.entry(&id).is_none() {
                return Err(not_found(&id));
            }
            let summary = format!("Ngừng sử dụng chủ đề “{}”", title_of(bot, &id));
            o.intents.remove(&id);
            o.learned.remove(&id);
            o.retired.insert(id);
            summary
        }
        Change::Assign { ids, intent } => {
            if ids.is_empty() {
                return Err(AppError::field("ids", "Vui lòng chọn ít nhất một câu hỏi."));
            }
            if let Some(i) = &intent
                && bot.kb.entry(i).is_none()
            {
                return Err(AppError::field(
                    "intent",
                    format!("Chủ đề “{i}” không tồn tại."),
                ));
            }
            let open = open_questions(app)?;
            let same = edit::merge_same(&bot.matcher, &open);
            let mut picked: Vec<&edit::SameQuestion> = Vec::new();
            for id in &ids {
                match same.iter().find(|s| s.ids.contains(id)) {
                    Some(s) if !picked.iter().any(|p| p.id == s.id) => picked.push(s),
                    Some(_) => {}
                    None => {
                        return Err(AppError::NotFound(format!(
                            "Không tìm thấy câu hỏi số {id} trong danh sách câu hỏi chưa được xử lý (có thể đã được gán)."
                        )));
                    }
                }
            }
            let n: usize = picked.iter().map(|s| s.count).sum();
            for s in &picked {
                cases.push(EvalCase {
                    q: s.text.clone(),
                    intent: intent.clone(),
                });
                handled.extend(s.ids.iter().map(|i| (*i, intent.clone())));
                match &intent {
                    Some(i) => {
                        let l = o.learned.entry(i.clone()).or_default();
                        if !l.iter().any(|x| x.to_lowercase() == s.text.to_lowercase()) {
                            l.push(s.text.clone());
                        }
                    }
                    None => {
                        let line = edit::oos_line(&s.text);
                        if !o.out_of_scope.contains(&line) {
                            o.out_of_scope.push(line);
                        }
                    }
                }
            }
            match &intent {
                Some(i) => format!("Gán {n} câu hỏi vào chủ đề “{}”", title_of(bot, i)),
                None => format!("Đánh dấu {n} câu hỏi ngoài phạm vi"),
            }
        }
        Change::Restore(v) => {
            if v == 0 {
                o = Overlay::default();
            } else {
                let old = app
                    .store
                    .read(|r| faq::get(r, v))?
                    .ok_or_else(|| AppError::NotFound(format!("Không có phiên bản số {v}.")))?;
                o = old.overlay()?;
            }
            restored_from = Some(v);
            if v == 0 {
                "Khôi phục nội dung gốc (phiên bản 0)".to_string()
            } else {
                format!("Khôi phục phiên bản {v}")
            }
        }
    };
    Ok(Planned {
        overlay: o,
        summary,
        cases,
        handled,
        restored_from,
    })
}

/// Publishes a change when the evaluation allows it.
pub async fn publish(app: &Arc<App>, actor: &Actor, change: Change) -> AppResult<Outcome> {
    require(app, actor)?;
    let actor = actor.clone();
    app.db(move |app| {
        let _one = PUBLISHING.lock().unwrap_or_else(|e| e.into_inner());
        let started = std::time::Instant::now();
        let live = app.bot();
        let p = plan(app, &live, change)?;
        let mut candidate = Bot::build(&app.cfg, live.version, p.overlay.clone());
        let mut cases = eval_set(app)?;
        cases.extend(p.cases.iter().cloned());
        // Both versions on the same cases: those of intents the candidate
        // has (a retired intent's questions are not scored).
        let scored = edit::cases_for(&candidate.kb, &cases);
        let before = helpdesk::evaluate(&live.matcher, &scored);
        let after = helpdesk::evaluate(&candidate.matcher, &scored);
        let eval = edit::judge(&before, &after);
        if !eval.accepted() {
            tracing::info!(reasons = ?eval.reasons, "FAQ change refused by the evaluation");
            return Ok(Outcome::Refused(eval));
        }
        let now = app.now();
        let by = actor.username().to_string();
        let version = app.store.write(|w| {
            let cur = faq::latest_number(w)?;
            if cur != live.version {
                return Err(AppError::Conflict(format!(
                    "Vừa có phiên bản {cur} được xuất bản trong lúc anh/chị sửa; vui lòng tải lại trang và làm lại."
                )));
            }
            let v = cur + 1;
            faq::insert(
                w,
                &faq::Version::new(
                    v,
                    now,
                    &by,
                    &p.summary,
                    &p.overlay,
                    (eval.in_scope, eval.abstain),
                    p.restored_from,
                )?,
            )?;
            for c in &p.cases {
                faq::add_case(w, &c.q, c.intent.as_deref(), now, &by)?;
            }
            for (id, intent) in &p.handled {
                faq::mark_handled(
                    w,
                    *id,
                    &faq::Handled {
                        at: now,
                        by: by.clone(),
                        intent: intent.clone(),
                        version: v,
                    },
                )?;
            }
            audit::record(
                w,
                now,
                &by,
                "faq_publish",
                &format!("faq:v{v}"),
                &actor.ip,
                &format!(
                    "{} (đúng {}, từ chối đúng {})",
                    p.summary,
                    edit::percent(eval.in_scope),
                    edit::percent(eval.abstain)
                ),
            )?;
            Ok::<_, AppError>(v)
        })?;
        candidate.version = version;
        app.set_bot(Arc::new(candidate));
        tracing::info!(
            version,
            in_scope = eval.in_scope,
            abstain = eval.abstain,
            ms = started.elapsed().as_millis() as u64,
            "FAQ version published"
        );
        Ok(Outcome::Published { version, eval })
    })
    .await
}

/// The answer an edited intent would give, in both languages, without
/// publishing anything (the editor's preview).
pub async fn preview(app: &Arc<App>, actor: &Actor, doc: IntentDoc) -> AppResult<(Reply, Reply)> {
    require(app, actor)?;
    app.db(move |app| {
        let live = app.bot();
        let mut known: HashSet<String> = live.kb.entries().iter().map(|e| e.id.clone()).collect();
        known.insert(doc.id.trim().to_string());
        let doc = edit::validate(&doc, &known).map_err(AppError::fields)?;
        let mut o = live.overlay.clone();
        o.retired.remove(&doc.id);
        o.learned.remove(&doc.id);
        let id = doc.id.clone();
        o.intents.insert(id.clone(), doc);
        let (kb, _) = edit::build(
            &Bot::answer_vars(&app.cfg),
            Some(&app.cfg.data_dir.join("faq")),
            &o,
        );
        let vi = helpdesk::answer(&kb, &id, Lang::Vi).ok_or_else(|| not_found(&id))?;
        let en = helpdesk::answer(&kb, &id, Lang::En).ok_or_else(|| not_found(&id))?;
        Ok((vi, en))
    })
    .await
}

/// Published versions, newest first.
pub async fn versions(app: &Arc<App>, actor: &Actor) -> AppResult<(u64, Vec<faq::Version>)> {
    require(app, actor)?;
    app.db(|app| Ok((app.bot().version, app.store.read(|r| faq::list(r, 500))?)))
        .await
}

/// Unhandled unanswered questions, identical ones counted once, newest
/// first.
pub async fn unanswered(app: &Arc<App>, actor: &Actor) -> AppResult<Vec<edit::SameQuestion>> {
    require(app, actor)?;
    app.db(|app| {
        let open = open_questions(app)?;
        Ok(edit::merge_same(&app.bot().matcher, &open))
    })
    .await
}

/// Unhandled unanswered questions since `since`, grouped by similarity
/// (normalised-word overlap); with the number of questions. Anyone with
/// `support.manage` may look; assigning needs it at the province.
pub async fn unanswered_view(
    app: &Arc<App>,
    actor: &Actor,
    since: i64,
) -> AppResult<(usize, Vec<Group>)> {
    if !actor.account.has_any(Permission::SupportManage) {
        return Err(AppError::Forbidden);
    }
    app.db(move |app| {
        let open: Vec<Question> = open_questions(app)?
            .into_iter()
            .filter(|q| q.at >= since)
            .collect();
        let groups = edit::group_unanswered(&app.bot().matcher, &open, 0.5);
        Ok((open.len(), groups))
    })
    .await
}
