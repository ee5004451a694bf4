//! Guided troubleshooting: small decision trees with buttons
//! (`faq/troubleshoot/<id>.md`).
//!
//! ```text
//! ---
//! id: otp-not-received        # tree id
//! intent: otp-not-received    # the FAQ entry whose answer offers this tree
//! start: check-phone          # first step
//! title: Hướng dẫn từng bước   # label of the button that starts the tree
//! title_en: Step-by-step help
//! ---
//! ## check-phone
//! vi: Số điện thoại đã nhập có đúng không?
//! en: Is the phone number correct?
//! - resend | Đúng số | Yes, it is correct
//! - handoff | Gặp cán bộ hỗ trợ | Talk to a person
//! ```
//!
//! A button target is a step of the same tree, `handoff` (talk to a
//! person), or `intent:<id>` (show that FAQ answer).

use std::collections::HashSet;

use super::kb::{AnswerVars, LoadError, parse_front_matter, sections, substitute, valid_id};

/// Suggestion id meaning "talk to a person".
pub const HANDOFF: &str = "handoff";
/// Prefix of tree step suggestion ids: `tree:<tree>:<step>`.
pub const TREE_PREFIX: &str = "tree:";

/// Where a button leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Another step of the same tree.
    Step(String),
    /// Offer a person.
    Handoff,
    /// Show an FAQ answer.
    Intent(String),
}

/// A button of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub target: Target,
    pub label_vi: String,
    pub label_en: String,
}

/// One step: a question or advice, and its buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: String,
    pub text_vi: String,
    pub text_en: String,
    pub buttons: Vec<Button>,
}

/// A decision tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub id: String,
    /// The intent whose answer offers this tree.
    pub intent: String,
    pub start: String,
    pub label_vi: String,
    pub label_en: String,
    pub steps: Vec<Step>,
}

impl Tree {
    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The suggestion id of a step of this tree.
    pub fn step_id(&self, step: &str) -> String {
        format!("{TREE_PREFIX}{}:{step}", self.id)
    }

    /// Removes buttons that lead nowhere; returns a message for each.
    pub(crate) fn drop_broken_links(&mut self, intents: &HashSet<String>) -> Vec<String> {
        let steps: HashSet<String> = self.steps.iter().map(|s| s.id.clone()).collect();
        let mut bad = Vec::new();
        if !steps.contains(&self.start) {
            bad.push(format!("start step `{}` does not exist", self.start));
        }
        if !intents.contains(&self.intent) {
            bad.push(format!("intent `{}` does not exist", self.intent));
        }
        for s in &mut self.steps {
            s.buttons.retain(|b| {
                let ok = match &b.target {
                    Target::Step(t) => steps.contains(t),
                    Target::Handoff => true,
                    Target::Intent(i) => intents.contains(i),
                };
                if !ok {
                    bad.push(format!(
                        "step `{}`: button `{}` leads nowhere",
                        s.id, b.label_en
                    ));
                }
                ok
            });
        }
        bad
    }
}

/// Splits a suggestion id `tree:<tree>:<step>` (or `tree:<tree>` for the
/// start) into its parts.
pub fn parse_step_id(id: &str) -> Option<(&str, Option<&str>)> {
    let rest = id.strip_prefix(TREE_PREFIX)?;
    match rest.split_once(':') {
        Some((t, s)) => Some((t, Some(s))),
        None => Some((rest, None)),
    }
}

const TREE_KEYS: &[&str] = &["id", "intent", "start", "title", "title_en"];

pub(crate) fn parse_tree(
    file: &str,
    text: &str,
    vars: &AnswerVars,
    errors: &mut Vec<LoadError>,
) -> Option<Tree> {
    let lines: Vec<&str> = text.lines().collect();
    let fm = parse_front_matter(file, &lines, errors)?;
    for (k, line) in fm.keys() {
        if !TREE_KEYS.contains(&k) {
            errors.push(LoadError::new(file, line, format!("unknown key `{k}`")));
        }
    }
    let (Some(id), Some(start)) = (fm.scalar("id"), fm.scalar("start")) else {
        errors.push(LoadError::new(file, 1, "a tree needs `id` and `start`"));
        return None;
    };
    if !valid_id(id) {
        errors.push(LoadError::new(file, 1, format!("invalid id `{id}`")));
        return None;
    }
    let intent = fm.scalar("intent").unwrap_or(id).to_string();
    let label_vi = fm
        .scalar("title")
        .unwrap_or("Hướng dẫn từng bước")
        .to_string();
    let label_en = fm
        .scalar("title_en")
        .unwrap_or("Step-by-step help")
        .to_string();
    let mut steps = Vec::new();
    for (name, body, line) in sections(&lines, fm.body_start) {
        if !valid_id(&name) {
            errors.push(LoadError::new(
                file,
                line,
                format!("invalid step id `{name}`"),
            ));
            continue;
        }
        let mut vi = String::new();
        let mut en = String::new();
        let mut buttons = Vec::new();
        let mut current: Option<bool> = None; // Some(true) = vi, Some(false) = en
        for (k, raw) in body.iter().enumerate() {
            let t = raw.trim();
            let n = line + 1 + k;
            if t.is_empty() {
                continue;
            }
            if let Some(b) = t.strip_prefix("- ") {
                let parts: Vec<&str> = b.split('|').map(str::trim).collect();
                if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
                    errors.push(LoadError::new(
                        file,
                        n,
                        "a button is `- target | nhãn tiếng Việt | English label`",
                    ));
                    continue;
                }
                let target = if parts[0] == HANDOFF {
                    Target::Handoff
                } else if let Some(i) = parts[0].strip_prefix("intent:") {
                    Target::Intent(i.to_string())
                } else {
                    Target::Step(parts[0].to_string())
                };
                buttons.push(Button {
                    target,
                    label_vi: parts[1].to_string(),
                    label_en: parts[2].to_string(),
                });
                current = None;
            } else if let Some(v) = t.strip_prefix("vi:") {
                vi.push_str(v.trim());
                current = Some(true);
            } else if let Some(v) = t.strip_prefix("en:") {
                en.push_str(v.trim());
                current = Some(false);
            } else {
                match current {
                    Some(true) => {
                        vi.push('\n');
                        vi.push_str(t);
                    }
                    Some(false) => {
                        en.push('\n');
                        en.push_str(t);
                    }
                    None => errors.push(LoadError::new(
                        file,
                        n,
                        "expected `vi:`, `en:` or a `- button`",
                    )),
                }
            }
        }
        if vi.is_empty() {
            errors.push(LoadError::new(
                file,
                line,
                format!("step `{name}` has no `vi:` text"),
            ));
            continue;
        }
        if en.is_empty() {
            errors.push(LoadError::new(
                file,
                line,
                format!("step `{name}` has no `en:` text"),
            ));
            en = vi.clone();
        }
        steps.push(Step {
            id: name,
            text_vi: substitute(&vi, vars),
            text_en: substitute(&en, vars),
            buttons,
        });
    }
    if steps.is_empty() {
        errors.push(LoadError::new(
            file,
            1,
            "a tree needs at least one `## step`",
        ));
        return None;
    }
    Some(Tree {
        id: id.to_string(),
        intent,
        start: start.to_string(),
        label_vi,
        label_en,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_tree() {
        let text = "---\nid: t\nintent: x\nstart: a\n---\n## a\nvi: Câu hỏi?\ntiếp\nen: Question?\n- b | Có | Yes\n- handoff | Gặp cán bộ | Person\n- nowhere | Sai | Wrong\n## b\nvi: Xong\nen: Done\n- oops\n";
        let mut errors = Vec::new();
        let mut tree = parse_tree("t.md", text, &AnswerVars::default(), &mut errors).expect("tree");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, 16);
        assert_eq!(tree.steps[0].text_vi, "Câu hỏi?\ntiếp");
        let bad = tree.drop_broken_links(&HashSet::from(["x".to_string()]));
        assert_eq!(bad.len(), 1);
        assert_eq!(tree.steps[0].buttons.len(), 2);
        assert_eq!(parse_step_id("tree:t:a"), Some(("t", Some("a"))));
        assert_eq!(parse_step_id("tree:t"), Some(("t", None)));
        assert_eq!(parse_step_id("handoff"), None);
    }
}
