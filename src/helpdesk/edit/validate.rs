//! Validation of an edited intent: ids, titles, answers, examples and the
//! tree, with Vietnamese messages per field.

use std::collections::{BTreeMap, HashSet};

use crate::helpdesk::kb::{LoadError, valid_id};
use crate::helpdesk::tree::parse_tree;

use super::render::{TREE_HEADER_LINES, raw_vars, render_tree};
use super::{
    IntentDoc, MAX_ANSWER, MAX_EXAMPLE, MAX_EXAMPLES, MAX_ID, MAX_TITLE, MAX_TREE, MIN_EXAMPLES,
    RESERVED, TreeDoc,
};

/// Field-by-field problems, in Vietnamese, keyed by the API's field names.
pub type FieldErrors = BTreeMap<String, String>;

pub(super) fn single_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clean_text(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = s.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_string()
}

pub(super) fn clean_list(items: &[String]) -> Vec<String> {
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
