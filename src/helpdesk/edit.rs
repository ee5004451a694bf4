//! The office's edits to the knowledge base, as pure rules: what one intent
//! looks like in the editor ([`IntentDoc`]), what a published version holds
//! ([`Overlay`]: edited and new intents, retired ones, questions assigned
//! from the unanswered list), how a version is laid over the embedded
//! `faq/` ([`build`]), how an edit is validated ([`validate`]), the
//! evaluation gate ([`judge`]), grouping of unanswered questions
//! ([`group_unanswered`]) and the export in `faq/`'s format ([`export`]).
//!
//! Nothing here does I/O except reading the embedded files and the
//! optional `<data dir>/faq` override folder; the store keeps the versions
//! (`store::faq`) and `flows::faq` runs a publish.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cli::{Confusion, EvalCase, EvalSummary, parse_eval};
use super::kb::{AnswerVars, Entry, KnowledgeBase, LoadError, embedded_text, valid_id};
use super::matcher::Matcher;
use super::normalize::{fold, has_vietnamese_marks};
use super::tree::{Target, Tree, parse_tree};

/// The least in-scope top-1 accuracy a published version may have.
pub const MIN_IN_SCOPE: f64 = 0.90;
/// The least out-of-scope abstention rate a published version may have.
pub const MIN_ABSTAIN: f64 = 0.85;
/// The least number of example questions (Vietnamese and English together)
/// an intent needs to be matched reliably.
pub const MIN_EXAMPLES: usize = 5;
/// Limits on the sizes of an intent's fields.
pub const MAX_TITLE: usize = 120;
pub const MAX_ANSWER: usize = 4000;
pub const MAX_EXAMPLE: usize = 200;
pub const MAX_EXAMPLES: usize = 300;
pub const MAX_TREE: usize = 8000;
const MAX_ID: usize = 60;

/// Ids that mean something else in the bot (button ids, the abstain class).
const RESERVED: &[&str] = &["handoff", "out-of-scope", "abstain", "tree", "new", "moi"];

/// A guided-troubleshooting tree as the editor shows it: its start button,
/// its first step, and its steps in `faq/troubleshoot`'s format
/// (`## step`, `vi:`, `en:`, `- target | nhãn | label`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeDoc {
    #[serde(default)]
    pub label_vi: String,
    #[serde(default)]
    pub label_en: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub steps: String,
}

/// One intent as the office edits it. Answers keep their placeholders
/// (`{public_url}`, `{office_phone}`, `{office_email}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentDoc {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub title_en: String,
    pub answer_vi: String,
    #[serde(default)]
    pub answer_en: String,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub examples_en: Vec<String>,
    #[serde(default)]
    pub suggest: Vec<String>,
    #[serde(default)]
    pub tree: Option<TreeDoc>,
}

/// What one published version holds on top of the embedded knowledge
/// base: the full text of every intent the office edited or added, the
/// intents it retired, and the questions it assigned from the unanswered
/// list (examples of an intent, or out-of-scope phrasings). Each version
/// stores the whole overlay, so restoring one is copying it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlay {
    #[serde(default)]
    pub intents: BTreeMap<String, IntentDoc>,
    #[serde(default)]
    pub retired: BTreeSet<String>,
    /// Assigned questions per intent (added to its examples).
    #[serde(default)]
    pub learned: BTreeMap<String, Vec<String>>,
    /// Questions marked out of scope.
    #[serde(default)]
    pub out_of_scope: Vec<String>,
}

/// Values that keep the placeholders as they are: the knowledge base as
/// written, for the editor and the export.
// The struct update keeps this building when AnswerVars grows (the
// other settings do not matter: raw answers are not substituted).
#[allow(clippy::needless_update)]
pub fn raw_vars() -> AnswerVars {
    AnswerVars {
        public_url: super::kb::RAW_URL.into(),
        office_phone: "{office_phone}".into(),
        office_email: "{office_email}".into(),
        ..AnswerVars::default()
    }
}

/// One list value in front matter: quoted when the parser would otherwise
/// strip quotes from it.
fn fm_value(v: &str) -> String {
    let v = v.trim();
    if v.starts_with(['"', '\'']) || v.ends_with(['"', '\'']) {
        format!("\"{v}\"")
    } else {
        v.to_string()
    }
}

/// An entry file (`faq/<id>.md`) for a document.
pub fn render_entry(doc: &IntentDoc) -> String {
    let mut s = String::new();
    s.push_str("---\n");
    s.push_str(&format!("id: {}\n", doc.id));
    s.push_str(&format!("title: {}\n", fm_value(&doc.title)));
    let title_en = if doc.title_en.trim().is_empty() {
        &doc.title
    } else {
        &doc.title_en
    };
    s.push_str(&format!("title_en: {}\n", fm_value(title_en)));
    for (key, list) in [
        ("suggest", &doc.suggest),
        ("examples", &doc.examples),
        ("examples_en", &doc.examples_en),
    ] {
        if list.is_empty() {
            continue;
        }
        s.push_str(key);
        s.push_str(":\n");
        for item in list {
            s.push_str(&format!("- {}\n", fm_value(item)));
        }
    }
    s.push_str("---\n## vi\n");
    s.push_str(doc.answer_vi.trim());
    s.push_str("\n\n## en\n");
    let en = if doc.answer_en.trim().is_empty() {
        &doc.answer_vi
    } else {
        &doc.answer_en
    };
    s.push_str(en.trim());
    s.push('\n');
    s
}

/// Lines of a tree file before its steps (see [`render_tree`]).
const TREE_HEADER_LINES: usize = 7;

/// A tree file (`faq/troubleshoot/<tree id>.md`).
pub fn render_tree(tree_id: &str, intent: &str, t: &TreeDoc) -> String {
    let label_vi = if t.label_vi.trim().is_empty() {
        "Hướng dẫn từng bước"
    } else {
        t.label_vi.trim()
    };
    let label_en = if t.label_en.trim().is_empty() {
        "Step-by-step help"
    } else {
        t.label_en.trim()
    };
    format!(
        "---\nid: {tree_id}\nintent: {intent}\nstart: {}\ntitle: {}\ntitle_en: {}\n---\n{}\n",
        t.start.trim(),
        fm_value(label_vi),
        fm_value(label_en),
        t.steps.trim_end()
    )
}

/// The steps of a parsed tree in `faq/troubleshoot`'s format.
pub fn render_steps(tree: &Tree) -> String {
    let mut s = String::new();
    for (i, step) in tree.steps.iter().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&format!("## {}\n", step.id));
        s.push_str(&format!("vi: {}\n", step.text_vi.replace('\n', "\n    ")));
        s.push_str(&format!("en: {}\n", step.text_en.replace('\n', "\n    ")));
        for b in &step.buttons {
            let target = match &b.target {
                Target::Step(x) => x.clone(),
                Target::Handoff => super::tree::HANDOFF.to_string(),
                Target::Intent(i) => format!("intent:{i}"),
            };
            s.push_str(&format!("- {target} | {} | {}\n", b.label_vi, b.label_en));
        }
    }
    s
}

/// The editor's view of an entry of a knowledge base loaded with
/// [`raw_vars`].
pub fn doc_of(kb: &KnowledgeBase, id: &str) -> Option<IntentDoc> {
    let e = kb.entry(id)?;
    Some(doc_from_entry(kb, e))
}

fn doc_from_entry(kb: &KnowledgeBase, e: &Entry) -> IntentDoc {
    let tree = kb.tree_for_intent(&e.id).map(|t| TreeDoc {
        label_vi: t.label_vi.clone(),
        label_en: t.label_en.clone(),
        start: t.start.clone(),
        steps: render_steps(t),
    });
    IntentDoc {
        id: e.id.clone(),
        title: e.title_vi.clone(),
        title_en: e.title_en.clone(),
        answer_vi: e.answer_vi.clone(),
        answer_en: e.answer_en.clone(),
        examples: e.examples.clone(),
        examples_en: e.examples_en.clone(),
        suggest: e.suggest.clone(),
        tree,
    }
}

/// The embedded knowledge base and the override folder, as written (no
/// office edits): the base the overlay is laid on.
fn base_tree_id(kb: &KnowledgeBase, intent: &str) -> String {
    kb.tree_for_intent(intent)
        .map(|t| t.id.clone())
        .unwrap_or_else(|| intent.to_string())
}

/// The knowledge base of a version: the embedded `faq/`, then the files of
/// `dir` (`<data dir>/faq`), then the overlay. Problems are reported and
/// skipped like broken files.
pub fn build(
    vars: &AnswerVars,
    dir: Option<&Path>,
    overlay: &Overlay,
) -> (KnowledgeBase, Vec<LoadError>) {
    // Tree ids come from the base, so that an edited tree replaces the old one.
    let (base, _) = KnowledgeBase::load_with(&raw_vars(), dir, &[]);
    let mut files = Vec::new();
    for (id, doc) in &overlay.intents {
        if overlay.retired.contains(id) {
            continue;
        }
        files.push((format!("{id}.md"), render_entry(doc)));
        if let Some(t) = &doc.tree {
            let tid = base_tree_id(&base, id);
            files.push((format!("troubleshoot/{tid}.md"), render_tree(&tid, id, t)));
        }
    }
    let (mut kb, errors) = KnowledgeBase::load_with(vars, dir, &files);
    for (id, doc) in &overlay.intents {
        if doc.tree.is_none() {
            kb.drop_trees_for(id);
        }
    }
    for id in &overlay.retired {
        kb.retire(id);
    }
    for (id, qs) in &overlay.learned {
        if let Some(e) = kb.entry_mut(id) {
            let have: HashSet<String> = e
                .examples
                .iter()
                .chain(&e.examples_en)
                .map(|x| x.to_lowercase())
                .collect();
            for q in qs {
                if !have.contains(&q.to_lowercase()) {
                    e.examples.push(q.clone());
                }
            }
        }
    }
    kb.add_out_of_scope(overlay.out_of_scope.iter().cloned());
    (kb, errors)
}

/// Where an intent of a version comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Built in (or from the override folder), unchanged.
    Builtin,
    /// Built in, edited by the office.
    Edited,
    /// Added by the office.
    Added,
}

impl Origin {
    pub fn label_vi(self) -> &'static str {
        match self {
            Origin::Builtin => "Có sẵn",
            Origin::Edited => "Đã sửa",
            Origin::Added => "Mới thêm",
        }
    }
}

/// The origin of every intent of a version (`base_ids`: the intents of the
/// knowledge base without office edits).
pub fn origin(base_ids: &HashSet<String>, overlay: &Overlay, id: &str) -> Origin {
    if !base_ids.contains(id) {
        Origin::Added
    } else if overlay.intents.contains_key(id) || overlay.learned.contains_key(id) {
        Origin::Edited
    } else {
        Origin::Builtin
    }
}

/// Field-by-field problems, in Vietnamese, keyed by the API's field names.
pub type FieldErrors = BTreeMap<String, String>;

fn single_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clean_text(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}

fn clean_list(items: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for i in items {
        for line in i.lines() {
            let v = single_line(line);
            if v.is_empty() {
                continue;
            }
            if seen.insert(v.to_lowercase()) {
                out.push(v);
            }
        }
    }
    out
}

/// Checks the id of a new intent: lowercase letters without marks, digits
/// and single dashes, 3–60 characters, starting with a letter.
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = valid_id(id)
        && (3..=MAX_ID).contains(&id.len())
        && id.as_bytes()[0].is_ascii_lowercase()
        && !id.ends_with('-')
        && !id.contains("--");
    if !ok {
        return Err("Mã chủ đề chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang, bắt đầu bằng một chữ cái, dài từ 3 đến 60 ký tự (ví dụ: dang-nhap-vneid).".into());
    }
    if RESERVED.contains(&id) {
        return Err(format!(
            "Mã “{id}” đã được hệ thống dùng cho việc khác, vui lòng chọn mã khác."
        ));
    }
    Ok(())
}

fn check_answer(field: &str, text: &str, lang: &str, errors: &mut FieldErrors) {
    if text.is_empty() {
        errors.insert(field.into(), format!("Vui lòng nhập câu trả lời {lang}."));
    } else if text.chars().count() > MAX_ANSWER {
        errors.insert(
            field.into(),
            format!("Câu trả lời {lang} dài quá {MAX_ANSWER} ký tự."),
        );
    } else if text.lines().any(|l| l.trim_start().starts_with("## ")) {
        errors.insert(
            field.into(),
            format!("Câu trả lời {lang} không được có dòng bắt đầu bằng “## ”."),
        );
    }
}

/// Validates and tidies an edited intent. `known` are the intent ids the
/// version will have (for follow-up topics and tree buttons). Returns the
/// tidied document, or the problems field by field in Vietnamese.
pub fn validate(doc: &IntentDoc, known: &HashSet<String>) -> Result<IntentDoc, FieldErrors> {
    let mut errors = FieldErrors::new();
    let id = doc.id.trim().to_string();
    if let Err(e) = check_id(&id) {
        // Built-in ids are all valid; this catches new ones.
        errors.insert("id".into(), e);
    }
    let title = single_line(&doc.title);
    if title.is_empty() {
        errors.insert("title".into(), "Vui lòng nhập tiêu đề chủ đề.".into());
    } else if title.chars().count() > MAX_TITLE {
        errors.insert(
            "title".into(),
            format!("Tiêu đề dài quá {MAX_TITLE} ký tự."),
        );
    }
    let mut title_en = single_line(&doc.title_en);
    if title_en.chars().count() > MAX_TITLE {
        errors.insert(
            "title_en".into(),
            format!("Tiêu đề tiếng Anh dài quá {MAX_TITLE} ký tự."),
        );
    }
    if title_en.is_empty() {
        title_en = title.clone();
    }
    let answer_vi = clean_text(&doc.answer_vi);
    let answer_en = clean_text(&doc.answer_en);
    check_answer("answer_vi", &answer_vi, "tiếng Việt", &mut errors);
    check_answer("answer_en", &answer_en, "tiếng Anh", &mut errors);
    let examples = clean_list(&doc.examples);
    let examples_en: Vec<String> = clean_list(&doc.examples_en)
        .into_iter()
        .filter(|e| {
            !examples
                .iter()
                .any(|v| v.to_lowercase() == e.to_lowercase())
        })
        .collect();
    let n = examples.len() + examples_en.len();
    if n < MIN_EXAMPLES {
        errors.insert(
            "examples".into(),
            format!(
                "Cần ít nhất {MIN_EXAMPLES} câu hỏi mẫu (mỗi câu một dòng) để trợ lý nhận ra chủ đề; hiện có {n}."
            ),
        );
    } else if n > MAX_EXAMPLES {
        errors.insert(
            "examples".into(),
            format!("Tối đa {MAX_EXAMPLES} câu hỏi mẫu; hiện có {n}."),
        );
    }
    if let Some(long) = examples
        .iter()
        .chain(&examples_en)
        .find(|e| e.chars().count() > MAX_EXAMPLE)
    {
        errors.insert(
            "examples".into(),
            format!(
                "Mỗi câu hỏi mẫu tối đa {MAX_EXAMPLE} ký tự; câu “{}…” dài hơn.",
                long.chars().take(30).collect::<String>()
            ),
        );
    }
    let suggest = clean_list(&doc.suggest);
    let bad: Vec<&str> = suggest
        .iter()
        .filter(|s| !known.contains(*s) || **s == id)
        .map(String::as_str)
        .collect();
    if !bad.is_empty() {
        errors.insert(
            "suggest".into(),
            format!("Chủ đề gợi ý không tồn tại: {}.", bad.join(", ")),
        );
    }
    let tree = match &doc.tree {
        Some(t) if !t.steps.trim().is_empty() => {
            let t = TreeDoc {
                label_vi: single_line(&t.label_vi),
                label_en: single_line(&t.label_en),
                start: t.start.trim().to_string(),
                steps: clean_text(&t.steps),
            };
            if let Err(e) = check_tree(&id, &t, known) {
                errors.insert("tree".into(), e);
            }
            Some(t)
        }
        _ => None,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(IntentDoc {
        id,
        title,
        title_en,
        answer_vi,
        answer_en,
        examples,
        examples_en,
        suggest,
        tree,
    })
}

/// Checks a troubleshooting tree; the problems in Vietnamese, one per line.
fn check_tree(intent: &str, t: &TreeDoc, known: &HashSet<String>) -> Result<(), String> {
    if t.steps.chars().count() > MAX_TREE {
        return Err(format!(
            "Phần hướng dẫn từng bước dài quá {MAX_TREE} ký tự."
        ));
    }
    let mut msgs = Vec::new();
    if t.start.is_empty() {
        msgs.push("Vui lòng nhập tên bước đầu tiên.".to_string());
    } else if !valid_id(&t.start) {
        msgs.push(format!(
            "Tên bước đầu tiên “{}” chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang.",
            t.start
        ));
    }
    if msgs.is_empty() {
        let text = render_tree(intent, intent, t);
        let mut errors = Vec::new();
        let mut ids = known.clone();
        ids.insert(intent.to_string());
        match parse_tree("tree", &text, &raw_vars(), &mut errors) {
            Some(mut tree) => {
                for m in tree.drop_broken_links(&ids) {
                    errors.push(LoadError::new("tree", 0, m));
                }
            }
            None if errors.is_empty() => errors.push(LoadError::new("tree", 0, "")),
            None => {}
        }
        msgs.extend(errors.iter().map(tree_error_vi));
    }
    if msgs.is_empty() {
        Ok(())
    } else {
        Err(msgs.join("\n"))
    }
}

/// A tree problem in Vietnamese, with its line in the steps box.
fn tree_error_vi(e: &LoadError) -> String {
    let line = e.line.saturating_sub(TREE_HEADER_LINES);
    let at = if e.line > TREE_HEADER_LINES {
        format!("Dòng {line}: ")
    } else {
        String::new()
    };
    let m = e.message.as_str();
    let quoted = |m: &str| m.split('`').nth(1).unwrap_or("").to_string();
    let body = if m.starts_with("a button is") {
        "nút phải có dạng “- đích | nhãn tiếng Việt | English label” (đích là tên một bước, intent:mã-chủ-đề hoặc handoff).".to_string()
    } else if m.starts_with("expected `vi:`") {
        "mỗi dòng của một bước bắt đầu bằng “vi:”, “en:” hoặc “- ” (một nút).".to_string()
    } else if m.starts_with("invalid step id") {
        format!(
            "tên bước “{}” chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang.",
            quoted(m)
        )
    } else if m.contains("has no `vi:`") {
        format!("bước “{}” chưa có nội dung tiếng Việt (vi:).", quoted(m))
    } else if m.contains("has no `en:`") {
        format!("bước “{}” chưa có nội dung tiếng Anh (en:).", quoted(m))
    } else if m.starts_with("a tree needs at least one") || m.is_empty() {
        "cần ít nhất một bước, bắt đầu bằng dòng “## tên-bước”.".to_string()
    } else if m.starts_with("start step") {
        format!("bước đầu tiên “{}” không có trong các bước.", quoted(m))
    } else if m.contains("leads nowhere") {
        let step = quoted(m);
        let button = m.split('`').nth(3).unwrap_or("");
        format!("bước “{step}”: nút “{button}” dẫn tới một bước hoặc chủ đề không tồn tại.")
    } else {
        "nội dung chưa đúng định dạng hướng dẫn từng bước.".to_string()
    };
    let mut out = format!("{at}{body}");
    if let Some(first) = out.get(..1)
        && at.is_empty()
    {
        out = format!("{}{}", first.to_uppercase(), &out[1..]);
    }
    out
}

/// The evaluation set built into the binary: every `faq/eval/*.jsonl`.
pub fn embedded_eval_cases() -> Vec<EvalCase> {
    let mut names: Vec<String> = super::kb::embedded_names()
        .into_iter()
        .filter(|n| n.starts_with("eval/") && n.ends_with(".jsonl"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        if let Some(text) = embedded_text(&n) {
            match parse_eval(text.as_bytes()) {
                Ok(c) => out.extend(c),
                Err(e) => tracing::warn!(file = %n, error = %e, "built-in eval file"),
            }
        }
    }
    out
}

/// Cases scored against a version: those of an intent the version does
/// not have (retired) are left out. Counting them as questions the bot
/// should decline would refuse nearly every retirement: their neighbours
/// answer them, which is the point of retiring a topic into another.
pub fn cases_for(kb: &KnowledgeBase, cases: &[EvalCase]) -> Vec<EvalCase> {
    cases
        .iter()
        .filter(|c| c.intent.as_ref().is_none_or(|i| kb.entry(i).is_some()))
        .cloned()
        .collect()
}

/// The outcome of the evaluation gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// In-scope top-1 accuracy of the new version, 0..=1.
    pub in_scope: f64,
    /// Out-of-scope abstention rate of the new version, 0..=1.
    pub abstain: f64,
    /// The same figures for the version in use.
    pub in_scope_before: f64,
    pub abstain_before: f64,
    /// Number of in-scope and out-of-scope cases.
    pub in_scope_cases: usize,
    pub out_of_scope_cases: usize,
    /// Questions the new version gets wrong that the one in use got right.
    pub introduced: Vec<EvalConfusion>,
    /// Questions the new version gets right that the one in use got wrong.
    pub fixed: usize,
    /// Why the version is refused, in Vietnamese; empty when accepted.
    pub reasons: Vec<String>,
}

/// A question answered wrongly, for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvalConfusion {
    pub q: String,
    /// The expected intent (`None`: the bot should say it does not know).
    pub expected: Option<String>,
    /// What the bot did (an intent id, or `None` when it abstained).
    pub got: Option<String>,
}

impl Evaluation {
    pub fn accepted(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// A rate as a Vietnamese percentage (`92,5 %`).
pub fn percent(x: f64) -> String {
    format!("{:.1} %", x * 100.0).replace('.', ",")
}

fn confusion_key(c: &Confusion) -> (String, Option<String>) {
    (c.q.clone(), c.expected.clone())
}

/// Judges a candidate version against the one in use (both scored on the
/// same cases): refused when in-scope accuracy falls under
/// [`MIN_IN_SCOPE`] or abstention under [`MIN_ABSTAIN`].
pub fn judge(before: &EvalSummary, after: &EvalSummary) -> Evaluation {
    let old: HashSet<(String, Option<String>)> =
        before.confusions.iter().map(confusion_key).collect();
    let new: HashSet<(String, Option<String>)> =
        after.confusions.iter().map(confusion_key).collect();
    let introduced: Vec<EvalConfusion> = after
        .confusions
        .iter()
        .filter(|c| !old.contains(&confusion_key(c)))
        .map(|c| EvalConfusion {
            q: c.q.clone(),
            expected: c.expected.clone(),
            got: c.got.clone().filter(|g| !g.starts_with('(')),
        })
        .collect();
    let fixed = before
        .confusions
        .iter()
        .filter(|c| !new.contains(&confusion_key(c)))
        .count();
    let mut reasons = Vec::new();
    let (acc, abst) = (after.in_scope_accuracy(), after.abstention_rate());
    if acc < MIN_IN_SCOPE {
        reasons.push(format!(
            "Độ chính xác với câu hỏi trong phạm vi giảm còn {} (trước: {}), dưới mức tối thiểu {}.",
            percent(acc),
            percent(before.in_scope_accuracy()),
            percent(MIN_IN_SCOPE)
        ));
    }
    if abst < MIN_ABSTAIN {
        reasons.push(format!(
            "Tỉ lệ từ chối đúng với câu hỏi ngoài phạm vi giảm còn {} (trước: {}), dưới mức tối thiểu {}.",
            percent(abst),
            percent(before.abstention_rate()),
            percent(MIN_ABSTAIN)
        ));
    }
    if !reasons.is_empty() && !introduced.is_empty() {
        reasons.push(format!(
            "Thay đổi này làm trợ lý trả lời sai {} câu hỏi trước đây trả lời đúng (xem danh sách bên dưới).",
            introduced.len()
        ));
    }
    Evaluation {
        in_scope: acc,
        abstain: abst,
        in_scope_before: before.in_scope_accuracy(),
        abstain_before: before.abstention_rate(),
        in_scope_cases: after.in_scope,
        out_of_scope_cases: after.out_of_scope,
        introduced,
        fixed,
        reasons,
    }
}

/// One unanswered question as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: u64,
    pub text: String,
    pub at: i64,
}

/// Identical questions (same normalised words) counted once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SameQuestion {
    /// The newest question's id.
    pub id: u64,
    pub text: String,
    /// Every question's id.
    pub ids: Vec<u64>,
    pub count: usize,
    pub last_at: i64,
}

/// Similar questions, for handling many at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub items: Vec<SameQuestion>,
    /// Questions in the group (with repeats).
    pub count: usize,
    /// The closest intent, as a proposal.
    pub closest: Option<String>,
}

/// The key two questions share when they say the same thing.
pub fn question_key(m: &Matcher, text: &str) -> String {
    let toks = m.tokens(text);
    if toks.is_empty() {
        fold(text)
    } else {
        toks.join(" ")
    }
}

/// Merges identical questions (same normalised words), newest first.
pub fn merge_same(m: &Matcher, questions: &[Question]) -> Vec<SameQuestion> {
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<SameQuestion> = Vec::new();
    let mut sorted: Vec<&Question> = questions.iter().collect();
    sorted.sort_by_key(|q| std::cmp::Reverse((q.at, q.id)));
    for q in sorted {
        let text = q.text.trim();
        if text.is_empty() {
            continue;
        }
        let k = question_key(m, text);
        match by_key.get(&k) {
            Some(&i) => {
                out[i].ids.push(q.id);
                out[i].count += 1;
                // Shown (and learnt) with its diacritics when someone typed them.
                if !has_vietnamese_marks(&out[i].text) && has_vietnamese_marks(text) {
                    out[i].text = text.to_string();
                }
            }
            None => {
                by_key.insert(k, out.len());
                out.push(SameQuestion {
                    id: q.id,
                    text: text.to_string(),
                    ids: vec![q.id],
                    count: 1,
                    last_at: q.at,
                });
            }
        }
    }
    out
}

/// Groups questions whose normalised words overlap with the group's first
/// question: the Jaccard index of the word sets, or the cosine of their
/// words and word pairs weighted like the matcher (rare words count more),
/// at least `min_overlap`. Biggest groups first.
pub fn group_unanswered(m: &Matcher, questions: &[Question], min_overlap: f32) -> Vec<Group> {
    let same = merge_same(m, questions);
    // Each group with its first question's words and weighted bag.
    type Seed = (HashSet<String>, Vec<(u64, f32)>);
    let mut groups: Vec<(Group, Seed)> = Vec::new();
    for s in same {
        let words: HashSet<String> = m.tokens(&s.text).into_iter().collect();
        let bag = m.bag(&s.text);
        let best = groups
            .iter_mut()
            .map(|(g, (w, b))| {
                let inter = w.intersection(&words).count() as f32;
                let union = w.union(&words).count().max(1) as f32;
                ((inter / union).max(Matcher::cosine(&bag, b)), g)
            })
            .filter(|(j, _)| *j >= min_overlap)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, g)) => {
                g.count += s.count;
                g.items.push(s);
            }
            None => {
                let closest = m.rank(&s.text).top.first().map(|(id, _)| id.clone());
                groups.push((
                    Group {
                        count: s.count,
                        items: vec![s],
                        closest,
                    },
                    (words, bag),
                ));
            }
        }
    }
    let mut out: Vec<Group> = groups.into_iter().map(|(g, _)| g).collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.count));
    out
}

/// An out-of-scope phrasing as `out-of-scope.txt` can hold it (`#` starts
/// a comment there).
pub fn oos_line(text: &str) -> String {
    single_line(&text.replace('#', " "))
}

/// The knowledge base of a version in `faq/`'s format: `(relative path,
/// text)`. Unchanged built-in files are copied as they are; edited, added
/// and assigned-to intents are written out; retired ones are left out.
/// `office_cases` (questions staff assigned) go to `eval/office.jsonl`.
pub fn export(
    dir: Option<&Path>,
    overlay: &Overlay,
    office_cases: &[EvalCase],
) -> Vec<(String, String)> {
    let (base, _) = KnowledgeBase::load_with(&raw_vars(), dir, &[]);
    let (kb, _) = build(&raw_vars(), dir, overlay);
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    // The built-in files, overridden by the folder's.
    for n in super::kb::embedded_names() {
        if let Some(t) = embedded_text(&n) {
            files.insert(n, t);
        }
    }
    if let Some(d) = dir {
        for (rel, text) in super::kb::dir_files(d) {
            files.insert(rel, text);
        }
    }
    // Entries and trees: rewritten from the version's knowledge base when
    // they differ from the files (edited, assigned questions, a follow-up
    // retired), dropped when retired.
    let touched = |id: &str| base.entry(id) != kb.entry(id);
    let entry_files: Vec<String> = files
        .keys()
        .filter(|k| k.ends_with(".md") && !k.contains('/') && !k.eq_ignore_ascii_case("README.md"))
        .cloned()
        .collect();
    for f in entry_files {
        let id = f.trim_end_matches(".md");
        if touched(id) || kb.entry(id).is_none() {
            files.remove(&f);
        }
    }
    let tree_files: Vec<String> = files
        .keys()
        .filter(|k| k.starts_with("troubleshoot/"))
        .cloned()
        .collect();
    for f in tree_files {
        let tid = f
            .trim_start_matches("troubleshoot/")
            .trim_end_matches(".md");
        let keep = kb.tree(tid).is_some_and(|_| base.tree(tid) == kb.tree(tid));
        if !keep {
            files.remove(&f);
        }
    }
    for e in kb.entries() {
        if touched(&e.id) {
            files.insert(
                format!("{}.md", e.id),
                render_entry(&doc_from_entry(&kb, e)),
            );
        }
    }
    for t in kb.trees() {
        let name = format!("troubleshoot/{}.md", t.id);
        files.entry(name).or_insert_with(|| {
            let doc = TreeDoc {
                label_vi: t.label_vi.clone(),
                label_en: t.label_en.clone(),
                start: t.start.clone(),
                steps: render_steps(t),
            };
            render_tree(&t.id, &t.intent, &doc)
        });
    }
    if !overlay.out_of_scope.is_empty() {
        let mut oos = files.remove("out-of-scope.txt").unwrap_or_default();
        if !oos.ends_with('\n') && !oos.is_empty() {
            oos.push('\n');
        }
        oos.push_str("\n# --- marked out of scope by the office (console)\n");
        for q in &overlay.out_of_scope {
            oos.push_str(&oos_line(q));
            oos.push('\n');
        }
        files.insert("out-of-scope.txt".into(), oos);
    }
    if !office_cases.is_empty() {
        let mut s = String::new();
        for c in office_cases {
            s.push_str(&serde_json::json!({"q": c.q, "intent": c.intent}).to_string());
            s.push('\n');
        }
        files.insert("eval/office.jsonl".into(), s);
    }
    files.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpdesk::evaluate;

    #[allow(clippy::needless_update)]
    fn vars() -> AnswerVars {
        AnswerVars {
            public_url: "https://dvc.example.vn".into(),
            office_phone: "0221 3829883".into(),
            office_email: String::new(),
            ..AnswerVars::default()
        }
    }

    fn ids(kb: &KnowledgeBase) -> HashSet<String> {
        kb.entries().iter().map(|e| e.id.clone()).collect()
    }

    fn new_doc(id: &str) -> IntentDoc {
        IntentDoc {
            id: id.into(),
            title: "Đăng nhập bằng VNeID".into(),
            title_en: "Sign in with VNeID".into(),
            answer_vi: "Mở ứng dụng **VNeID** rồi quét mã. Xem {public_url}/dang-nhap".into(),
            answer_en: "Open the **VNeID** app and scan the code.".into(),
            examples: vec![
                "đăng nhập bằng vneid".into(),
                "dang nhap vneid the nao".into(),
                "tài khoản định danh điện tử đăng nhập cổng dịch vụ công".into(),
                "quet ma vneid".into(),
            ],
            examples_en: vec!["how do I sign in with VNeID".into()],
            suggest: vec!["forgot-password".into()],
            tree: None,
        }
    }

    #[test]
    fn an_empty_overlay_is_the_built_in_knowledge_base() {
        let (kb, errors) = build(&vars(), None, &Overlay::default());
        assert!(errors.is_empty(), "{errors:?}");
        let plain = KnowledgeBase::embedded(&vars());
        assert_eq!(kb.entries(), plain.entries());
        assert_eq!(kb.trees(), plain.trees());
        assert_eq!(kb.out_of_scope(), plain.out_of_scope());
    }

    #[test]
    fn every_built_in_intent_survives_the_editor_round_trip() {
        let (raw, _) = KnowledgeBase::load_with(&raw_vars(), None, &[]);
        let mut overlay = Overlay::default();
        for e in raw.entries() {
            let doc = doc_of(&raw, &e.id).unwrap();
            let checked = validate(&doc, &ids(&raw)).unwrap_or_else(|e| panic!("{e:?}"));
            overlay.intents.insert(e.id.clone(), checked);
        }
        // Every intent rewritten from the editor's view: the same bot.
        let (kb, errors) = build(&vars(), None, &overlay);
        assert!(errors.is_empty(), "{errors:?}");
        let plain = KnowledgeBase::embedded(&vars());
        assert_eq!(kb.entries().len(), plain.entries().len());
        for e in plain.entries() {
            assert_eq!(kb.entry(&e.id), Some(e));
        }
        assert_eq!(kb.trees().len(), plain.trees().len());
        for t in plain.trees() {
            assert_eq!(kb.tree(&t.id), Some(t));
        }
        assert!(
            raw.entries()
                .iter()
                .any(|e| e.answer_vi.contains("{public_url}"))
        );
    }

    #[test]
    fn an_overlay_edits_adds_retires_and_learns() {
        let mut o = Overlay::default();
        let (raw, _) = KnowledgeBase::load_with(&raw_vars(), None, &[]);
        let mut fp = doc_of(&raw, "forgot-password").unwrap();
        fp.answer_vi = "Gọi {office_phone} để được cấp lại mật khẩu.".into();
        o.intents.insert(fp.id.clone(), fp);
        o.intents
            .insert("vneid-dang-nhap".into(), new_doc("vneid-dang-nhap"));
        let mut otp = doc_of(&raw, "otp-not-received").unwrap();
        assert!(otp.tree.is_some());
        otp.tree = None;
        o.intents.insert(otp.id.clone(), otp);
        o.retired.insert("business-account".into());
        o.learned
            .insert("captcha".into(), vec!["ma xac thuc mo qua".into()]);
        o.out_of_scope.push("giá vàng hôm nay".into());
        let (kb, errors) = build(&vars(), None, &o);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            kb.entry("forgot-password").unwrap().answer_vi,
            "Gọi 0221 3829883 để được cấp lại mật khẩu."
        );
        let added = kb.entry("vneid-dang-nhap").unwrap();
        assert!(
            added
                .answer_vi
                .ends_with("https://dvc.example.vn/dang-nhap")
        );
        assert!(kb.tree_for_intent("otp-not-received").is_none());
        assert!(kb.entry("business-account").is_none());
        assert!(
            kb.entries()
                .iter()
                .all(|e| !e.suggest.iter().any(|s| s == "business-account"))
        );
        assert!(
            kb.entry("captcha")
                .unwrap()
                .examples
                .contains(&"ma xac thuc mo qua".to_string())
        );
        assert!(kb.out_of_scope().contains(&"giá vàng hôm nay".to_string()));
        // The bot answers the new intent.
        let m = Matcher::new(&kb);
        assert_eq!(
            m.rank("dang nhap bang vneid nhu the nao").intent.as_deref(),
            Some("vneid-dang-nhap")
        );
    }

    #[test]
    fn validation_explains_each_field_in_vietnamese() {
        let (raw, _) = KnowledgeBase::load_with(&raw_vars(), None, &[]);
        let known = ids(&raw);
        assert!(validate(&new_doc("vneid-dang-nhap"), &known).is_ok());
        let mut d = new_doc("Sai Mã");
        d.title = "  ".into();
        d.answer_en = String::new();
        d.answer_vi = "a\n## b".into();
        d.examples.truncate(2);
        d.examples_en.clear();
        d.suggest = vec!["khong-co".into()];
        let e = validate(&d, &known).unwrap_err();
        for f in [
            "id",
            "title",
            "answer_vi",
            "answer_en",
            "examples",
            "suggest",
        ] {
            assert!(e.contains_key(f), "{f}: {e:?}");
        }
        assert!(e["examples"].contains("ít nhất 5"), "{}", e["examples"]);
        assert!(e["id"].contains("chữ thường"), "{}", e["id"]);
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "1abc",
            "handoff",
            "out-of-scope",
            "dang_nhap",
        ] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert!(check_id("vneid-login").is_ok());
        // Duplicates (also across spellings) count once.
        let mut d = new_doc("abc");
        d.examples = vec!["Một".into(), "một".into(), "một ".into(), "hai".into()];
        // Spellings without marks are examples of their own.
        assert_eq!(clean_list(&["một".into(), "mot".into()]).len(), 2);
        d.examples_en = vec!["one".into()];
        let e = validate(&d, &known).unwrap_err();
        assert!(e["examples"].contains("hiện có 3"), "{}", e["examples"]);
    }

    #[test]
    fn tree_problems_name_the_line() {
        let (raw, _) = KnowledgeBase::load_with(&raw_vars(), None, &[]);
        let known = ids(&raw);
        let mut d = new_doc("vneid-dang-nhap");
        d.tree = Some(TreeDoc {
            label_vi: "Làm từng bước".into(),
            label_en: "Step by step".into(),
            start: "mo-app".into(),
            steps: "## mo-app\nvi: Anh/chị đã cài VNeID chưa?\nen: Is VNeID installed?\n- xong | Rồi | Yes\n- intent:forgot-password | Quên mật khẩu | Forgot password\n- handoff | Gặp cán bộ | Person\n## xong\nvi: Tốt.\nen: Good.\n".into(),
        });
        let ok = validate(&d, &known).unwrap();
        let (kb, errors) = build(
            &vars(),
            None,
            &Overlay {
                intents: BTreeMap::from([(ok.id.clone(), ok)]),
                ..Overlay::default()
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        let t = kb.tree_for_intent("vneid-dang-nhap").unwrap();
        assert_eq!(t.steps.len(), 2);
        assert_eq!(t.steps[0].buttons.len(), 3);
        let tree = d.tree.as_mut().unwrap();
        tree.steps = "## mo-app\nvi: Cài chưa?\nen: Installed?\n- di-dau | Rồi\n- khong-co | Sai | Wrong\nlung tung\n".into();
        let e = validate(&d, &known).unwrap_err();
        let msg = &e["tree"];
        assert!(msg.contains("Dòng 4: nút phải có dạng"), "{msg}");
        assert!(msg.contains("Dòng 6: mỗi dòng"), "{msg}");
        assert!(msg.contains("nút “Wrong” dẫn tới"), "{msg}");
        d.tree.as_mut().unwrap().start = "khong-co-buoc".into();
        d.tree.as_mut().unwrap().steps = "## mo-app\nvi: a\nen: b\n".into();
        let e = validate(&d, &known).unwrap_err();
        assert!(
            e["tree"].contains("Bước đầu tiên “khong-co-buoc”"),
            "{}",
            e["tree"]
        );
    }

    #[test]
    fn the_gate_refuses_a_change_that_answers_out_of_scope_questions() {
        let (kb, _) = build(&vars(), None, &Overlay::default());
        let cases = embedded_eval_cases();
        assert!(cases.len() >= 300, "{}", cases.len());
        let before = evaluate(&Matcher::new(&kb), &cases_for(&kb, &cases));
        assert!(before.in_scope_accuracy() >= MIN_IN_SCOPE);
        assert!(before.abstention_rate() >= MIN_ABSTAIN);
        // A harmless new intent passes.
        let mut o = Overlay::default();
        o.intents
            .insert("vneid-dang-nhap".into(), new_doc("vneid-dang-nhap"));
        let (kb2, _) = build(&vars(), None, &o);
        let after = evaluate(&Matcher::new(&kb2), &cases_for(&kb2, &cases));
        let v = judge(&before, &after);
        assert!(v.accepted(), "{:?}", v.reasons);
        // A catch-all "other procedures" intent made of out-of-scope
        // questions is refused, with the reason and what it breaks.
        let mut bad = new_doc("thu-tuc-khac");
        bad.examples = cases
            .iter()
            .filter(|c| c.intent.is_none())
            .map(|c| c.q.clone())
            .collect();
        o.intents.insert(bad.id.clone(), bad);
        let (kb3, _) = build(&vars(), None, &o);
        let after = evaluate(&Matcher::new(&kb3), &cases_for(&kb3, &cases));
        let v = judge(&before, &after);
        assert!(!v.accepted());
        assert!(v.abstain < MIN_ABSTAIN, "{}", v.abstain);
        assert!(v.reasons[0].contains("ngoài phạm vi"), "{:?}", v.reasons);
        assert!(v.reasons[0].contains("85,0 %"), "{:?}", v.reasons);
        assert!(
            v.introduced
                .iter()
                .any(|c| c.expected.is_none() && c.got.as_deref() == Some("thu-tuc-khac"))
        );
        // Retiring an intent: its questions are no longer scored.
        let mut r = Overlay::default();
        r.retired.insert("captcha".into());
        let (kb4, _) = build(&vars(), None, &r);
        let c4 = cases_for(&kb4, &cases);
        assert!(c4.iter().all(|c| c.intent.as_deref() != Some("captcha")));
        let n = cases
            .iter()
            .filter(|c| c.intent.as_deref() == Some("captcha"))
            .count();
        assert!(n > 0);
        assert_eq!(c4.len() + n, cases.len());
        let after = evaluate(&Matcher::new(&kb4), &c4);
        assert!(judge(&evaluate(&Matcher::new(&kb), &c4), &after).accepted());
    }

    #[test]
    fn similar_questions_are_grouped_and_identical_ones_merged() {
        let kb = KnowledgeBase::embedded(&vars());
        let m = Matcher::new(&kb);
        let q = |id: u64, text: &str| Question {
            id,
            text: text.into(),
            at: id as i64,
        };
        let list = vec![
            q(1, "đăng nhập bằng VNeID thế nào"),
            q(2, "dang nhap bang vneid the nao"),
            q(3, "đăng nhập bằng vneid thế nào ạ"),
            q(4, "giá vàng hôm nay"),
            q(5, "Đăng nhập bằng VNeID như thế nào"),
            q(6, "   "),
        ];
        let same = merge_same(&m, &list);
        // Case, marks and the polite "ạ" do not make a new question.
        let first = same.iter().find(|s| s.ids.contains(&1)).unwrap();
        assert_eq!(first.count, 3, "{same:?}");
        assert_eq!(first.id, 3, "the newest id represents them");
        let plain = merge_same(&m, &[q(1, "đăng nhập vneid"), q(2, "dang nhap vneid")]);
        assert_eq!(plain[0].text, "đăng nhập vneid", "shown with its marks");
        let groups = group_unanswered(&m, &list, 0.5);
        assert_eq!(groups.len(), 2, "{groups:?}");
        // Rare words shared count more than common ones.
        let tax = vec![
            q(1, "cách nộp thuế đất online"),
            q(2, "nộp thuế đất trên mạng thế nào"),
            q(3, "xin giấy phép lái xe ở đâu"),
        ];
        assert_eq!(group_unanswered(&m, &tax, 0.5).len(), 2);
        assert_eq!(groups[0].count, 4);
        assert_eq!(groups[1].count, 1);
        let all: usize = groups[0].items.iter().map(|s| s.ids.len()).sum();
        assert_eq!(all, 4);
    }

    #[test]
    fn export_writes_what_the_bot_knows() {
        let mut o = Overlay::default();
        o.intents
            .insert("vneid-dang-nhap".into(), new_doc("vneid-dang-nhap"));
        o.retired.insert("business-account".into());
        o.learned
            .insert("captcha".into(), vec!["ma xac thuc mo qua".into()]);
        o.out_of_scope.push("giá vàng # hôm nay".into());
        let cases = vec![EvalCase {
            q: "ma xac thuc mo qua".into(),
            intent: Some("captcha".into()),
        }];
        let files = export(None, &o, &cases);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"vneid-dang-nhap.md"));
        assert!(!names.contains(&"business-account.md"));
        assert!(names.contains(&"troubleshoot/otp-not-received.md"));
        assert!(names.contains(&"eval/office.jsonl"));
        assert!(names.contains(&"abbreviations.txt"));
        // Unchanged built-in files are copied byte for byte.
        let fp = files
            .iter()
            .find(|(n, _)| n == "forgot-password.md")
            .unwrap();
        assert_eq!(Some(fp.1.clone()), embedded_text("forgot-password.md"));
        // Loaded as a faq folder, the export is the same knowledge base.
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let (again, errors) = KnowledgeBase::from_files(&vars(), refs);
        assert!(errors.is_empty(), "{errors:?}");
        let (kb, _) = build(&vars(), None, &o);
        // The same entries and trees (the export is in file-name order).
        let sorted = |kb: &KnowledgeBase| {
            let mut e = kb.entries().to_vec();
            e.sort_by(|a, b| a.id.cmp(&b.id));
            let mut t = kb.trees().to_vec();
            t.sort_by(|a, b| a.id.cmp(&b.id));
            (e, t)
        };
        assert_eq!(sorted(&again), sorted(&kb));
        assert!(
            again
                .out_of_scope()
                .contains(&"giá vàng hôm nay".to_string())
        );
    }
}
