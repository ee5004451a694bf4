//! Intent documents to and from files in `faq/`'s format: entries, trees
//! and their steps, and the editor's view of a loaded entry.

use crate::helpdesk::kb::{AnswerVars, Entry, KnowledgeBase};
use crate::helpdesk::tree::{Target, Tree};

use super::{IntentDoc, TreeDoc};

/// Values that keep the placeholders as they are: the knowledge base as
/// written, for the editor and the export.
// The struct update keeps this building when AnswerVars grows (the
// other settings do not matter: raw answers are not substituted).
#[allow(clippy::needless_update)]
pub fn raw_vars() -> AnswerVars {
    AnswerVars {
        public_url: crate::helpdesk::kb::RAW_URL.into(),
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
pub(super) const TREE_HEADER_LINES: usize = 7;

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
                Target::Handoff => crate::helpdesk::tree::HANDOFF.to_string(),
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

pub(super) fn doc_from_entry(kb: &KnowledgeBase, e: &Entry) -> IntentDoc {
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
