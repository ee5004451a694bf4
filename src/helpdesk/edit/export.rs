//! A version written out in `faq/`'s format.

use std::collections::BTreeMap;
use std::path::Path;

use crate::helpdesk::cli::EvalCase;
use crate::helpdesk::kb::{KnowledgeBase, embedded_text};

use super::render::{doc_from_entry, raw_vars, render_entry, render_steps, render_tree};
use super::validate::single_line;
use super::{Overlay, TreeDoc, build};

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
    for n in crate::helpdesk::kb::embedded_names() {
        if let Some(t) = embedded_text(&n) {
            files.insert(n, t);
        }
    }
    if let Some(d) = dir {
        for (rel, text) in crate::helpdesk::kb::dir_files(d) {
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
