//! The evaluation gate: the evaluation set, and what a new version must
//! keep against the published one.

use std::collections::HashSet;

use serde::Serialize;

use crate::helpdesk::cli::{Confusion, EvalCase, EvalSummary, parse_eval};
use crate::helpdesk::kb::{KnowledgeBase, embedded_text};

use super::{MIN_ABSTAIN, MIN_IN_SCOPE};

/// The evaluation set built into the binary: every `faq/eval/*.jsonl`.
pub fn embedded_eval_cases() -> Vec<EvalCase> {
    let mut names: Vec<String> = crate::helpdesk::kb::embedded_names()
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
    for (what, now, was, least) in [
        (
            "Độ chính xác với câu hỏi trong phạm vi",
            acc,
            before.in_scope_accuracy(),
            MIN_IN_SCOPE,
        ),
        (
            "Tỉ lệ từ chối đúng với câu hỏi ngoài phạm vi",
            abst,
            before.abstention_rate(),
            MIN_ABSTAIN,
        ),
    ] {
        if now < least {
            reasons.push(format!(
                "{what} giảm còn {} (trước: {}), dưới mức tối thiểu {}.",
                percent(now),
                percent(was),
                percent(least)
            ));
        }
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
