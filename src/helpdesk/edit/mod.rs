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

mod eval;
mod export;
mod questions;
mod render;
#[cfg(test)]
mod tests;
mod validate;

pub use eval::{EvalConfusion, Evaluation, cases_for, embedded_eval_cases, judge, percent};
pub use export::{export, oos_line};
pub use questions::{Group, Question, SameQuestion, group_unanswered, merge_same, question_key};
pub use render::{doc_of, raw_vars, render_entry, render_steps, render_tree};
pub use validate::{FieldErrors, check_id, validate};

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::helpdesk::kb::{AnswerVars, KnowledgeBase, LoadError};

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
