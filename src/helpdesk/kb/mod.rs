//! The knowledge base: one Markdown file per intent in `faq/`, embedded in
//! the binary, optionally overridden or extended by files in a directory
//! (`<data dir>/faq/`).
//!
//! Entry file format (`faq/<intent-id>.md`):
//!
//! ```text
//! ---
//! id: forgot-password
//! title: Quên mật khẩu
//! title_en: Forgot password
//! suggest:
//! - password-rules
//! examples:
//! - quên mật khẩu
//! - quen mk
//! examples_en:
//! - I forgot my password
//! ---
//! ## vi
//! Câu trả lời ...
//! ## en
//! The answer ...
//! ```
//!
//! `{public_url}`, `{office_phone}` and `{office_email}` in answers are
//! replaced at load; a line whose placeholder has no value is left out. A
//! line marked `{signin:account}`, `{signin:vneid}` or `{signin:both}`
//! (several values: `{signin:vneid,both}`) is kept only when the
//! deployment's portal signs in that way ([`PortalSignin`]).

mod files;
mod parse;
#[cfg(test)]
mod tests;

pub use files::dir_stamp;
pub(crate) use files::{dir_files, embedded_names, embedded_text};
pub(crate) use parse::{parse_front_matter, sections, substitute, valid_id};

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use crate::helpdesk::normalize::parse_abbreviations;
use crate::helpdesk::tree::{Tree, parse_tree};

use files::{FileKind, Source, dir_sources, embedded_sources, kind_of};
use parse::parse_entry;

/// The public URL of [`super::edit::raw_vars`]: answers are kept as
/// written, placeholders and all.
pub(crate) const RAW_URL: &str = "{public_url}";

/// Values substituted into answers at load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnswerVars {
    /// The portal's public URL (`MOTCUA_PUBLIC_URL`), without trailing slash.
    pub public_url: String,
    /// The local one-stop office's support phone (may be empty).
    pub office_phone: String,
    /// The local one-stop office's support email (may be empty).
    pub office_email: String,
    /// How this deployment's own portal signs citizens in
    /// (`MOTCUA_PORTAL_SIGNIN`): selects the `{signin:…}` lines.
    pub portal_signin: PortalSignin,
}

/// How the deployment's own portal signs citizens in, as the bot tells
/// them (`MOTCUA_PORTAL_SIGNIN`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PortalSignin {
    /// Accounts issued by this portal (ID number, password, OTP): what
    /// motcua itself does.
    #[default]
    Account,
    /// The VNeID electronic identification account only.
    Vneid,
    /// Either of them.
    Both,
}

impl PortalSignin {
    /// All values, as written in settings and `{signin:…}` markers.
    pub const NAMES: [&'static str; 3] = ["account", "vneid", "both"];

    /// Reads `account`, `vneid` or `both`.
    pub fn parse(s: &str) -> Option<PortalSignin> {
        match s.trim() {
            "account" => Some(PortalSignin::Account),
            "vneid" => Some(PortalSignin::Vneid),
            "both" => Some(PortalSignin::Both),
            _ => None,
        }
    }

    /// The setting's value.
    pub fn name(self) -> &'static str {
        match self {
            PortalSignin::Account => "account",
            PortalSignin::Vneid => "vneid",
            PortalSignin::Both => "both",
        }
    }
}

/// A problem found while loading a knowledge-base file. The rest of the
/// knowledge base still works.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LoadError {
    /// The file (`embedded:<name>` for a built-in file, else its path).
    pub file: String,
    /// 1-based line number; 0 when the problem is about the whole file.
    pub line: usize,
    /// What is wrong, in English.
    pub message: String,
}

impl LoadError {
    pub(crate) fn new(file: &str, line: usize, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

/// One intent: its titles, answers and example phrasings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub title_vi: String,
    pub title_en: String,
    pub answer_vi: String,
    pub answer_en: String,
    /// Follow-up intent ids.
    pub suggest: Vec<String>,
    /// Example phrasings (Vietnamese, any spelling).
    pub examples: Vec<String>,
    /// Example phrasings in English.
    pub examples_en: Vec<String>,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.title_vi)
    }
}

/// Entries, abbreviations, troubleshooting trees and out-of-scope phrasings.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    entries: Vec<Entry>,
    abbreviations: Vec<(String, String)>,
    synonyms: Vec<(String, String)>,
    trees: Vec<Tree>,
    out_of_scope: Vec<String>,
}

impl KnowledgeBase {
    /// The built-in knowledge base (embedded `faq/`). Problems in built-in
    /// files are logged; tests make sure there are none.
    pub fn embedded(vars: &AnswerVars) -> KnowledgeBase {
        let (kb, errors) = KnowledgeBase::load(vars, None);
        for e in &errors {
            tracing::warn!(error = %e, "built-in FAQ file");
        }
        kb
    }

    /// The embedded knowledge base plus the files in `override_dir`
    /// (`<id>.md` entries replace the entry with the same id or add one;
    /// `abbreviations.txt` adds to and overrides the dictionary;
    /// `out-of-scope.txt` adds phrasings; `troubleshoot/*.md` replace or add
    /// trees). A broken file is reported and skipped; the rest works.
    pub fn load(vars: &AnswerVars, override_dir: Option<&Path>) -> (KnowledgeBase, Vec<LoadError>) {
        let mut errors = Vec::new();
        let mut sources = embedded_sources();
        if let Some(dir) = override_dir {
            sources.extend(dir_sources(dir, &mut errors));
        }
        let kb = KnowledgeBase::from_sources(vars, sources, &mut errors);
        (kb, errors)
    }

    /// Like [`KnowledgeBase::load`], with more in-memory files `(relative
    /// path, text)` read after the directory's (so they win): the office's
    /// published edits (see [`super::edit`]).
    pub(crate) fn load_with(
        vars: &AnswerVars,
        override_dir: Option<&Path>,
        extra: &[(String, String)],
    ) -> (KnowledgeBase, Vec<LoadError>) {
        let mut errors = Vec::new();
        let mut sources = embedded_sources();
        if let Some(dir) = override_dir {
            sources.extend(dir_sources(dir, &mut errors));
        }
        sources.extend(extra.iter().map(|(rel, text)| Source {
            display: format!("store:{rel}"),
            rel: rel.clone(),
            text: text.clone(),
        }));
        let kb = KnowledgeBase::from_sources(vars, sources, &mut errors);
        (kb, errors)
    }

    pub(crate) fn entry_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    /// Removes the trees attached to an intent.
    pub(crate) fn drop_trees_for(&mut self, intent: &str) {
        self.trees.retain(|t| t.intent != intent);
    }

    /// Removes an intent: its entry, its trees, and every suggestion and
    /// tree button that led to it.
    pub(crate) fn retire(&mut self, id: &str) {
        self.entries.retain(|e| e.id != id);
        self.drop_trees_for(id);
        for e in &mut self.entries {
            e.suggest.retain(|s| s != id);
        }
        let ids: HashSet<String> = self.entries.iter().map(|e| e.id.clone()).collect();
        for t in &mut self.trees {
            t.drop_broken_links(&ids);
        }
    }

    /// Adds phrasings that are out of scope.
    pub(crate) fn add_out_of_scope(&mut self, items: impl IntoIterator<Item = String>) {
        self.out_of_scope.extend(items);
    }

    /// Builds a knowledge base from in-memory files `(relative path, text)`,
    /// e.g. for tests; same rules as [`KnowledgeBase::load`].
    pub fn from_files<'a>(
        vars: &AnswerVars,
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (KnowledgeBase, Vec<LoadError>) {
        let mut errors = Vec::new();
        let sources = files
            .into_iter()
            .map(|(rel, text)| Source {
                display: rel.to_string(),
                rel: rel.to_string(),
                text: text.to_string(),
            })
            .collect();
        let kb = KnowledgeBase::from_sources(vars, sources, &mut errors);
        (kb, errors)
    }

    fn from_sources(
        vars: &AnswerVars,
        sources: Vec<Source>,
        errors: &mut Vec<LoadError>,
    ) -> KnowledgeBase {
        let mut kb = KnowledgeBase::default();
        for src in &sources {
            match kind_of(&src.rel) {
                FileKind::Entry => {
                    if let Some(entry) = parse_entry(&src.display, &src.text, vars, errors) {
                        match kb.entries.iter_mut().find(|e| e.id == entry.id) {
                            Some(old) => *old = entry,
                            None => kb.entries.push(entry),
                        }
                    }
                }
                FileKind::Abbreviations | FileKind::Synonyms => {
                    let (pairs, errs) = parse_abbreviations(&src.text);
                    errors.extend(
                        errs.into_iter()
                            .map(|(line, m)| LoadError::new(&src.display, line, m)),
                    );
                    if kind_of(&src.rel) == FileKind::Synonyms {
                        kb.synonyms.extend(pairs);
                    } else {
                        kb.abbreviations.extend(pairs);
                    }
                }
                FileKind::OutOfScope => {
                    kb.out_of_scope.extend(
                        src.text
                            .lines()
                            .map(|l| l.split('#').next().unwrap_or("").trim())
                            .filter(|l| !l.is_empty())
                            .map(str::to_string),
                    );
                }
                FileKind::Tree => {
                    if let Some(tree) = parse_tree(&src.display, &src.text, vars, errors) {
                        match kb.trees.iter_mut().find(|t| t.id == tree.id) {
                            Some(old) => *old = tree,
                            None => kb.trees.push(tree),
                        }
                    }
                }
                FileKind::Ignored => {}
            }
        }
        kb.check_references(&sources, errors);
        kb
    }

    /// Drops follow-up suggestions and tree links that point nowhere,
    /// reporting each.
    fn check_references(&mut self, sources: &[Source], errors: &mut Vec<LoadError>) {
        let ids: HashSet<String> = self.entries.iter().map(|e| e.id.clone()).collect();
        let file_of = |id: &str, tree: bool| -> String {
            sources
                .iter()
                .rev()
                .find(|s| {
                    let k = kind_of(&s.rel);
                    (if tree {
                        k == FileKind::Tree
                    } else {
                        k == FileKind::Entry
                    }) && s.text.lines().any(|l| l.trim() == format!("id: {id}"))
                })
                .map(|s| s.display.clone())
                .unwrap_or_else(|| id.to_string())
        };
        for e in &mut self.entries {
            let before = e.suggest.len();
            let mut bad = Vec::new();
            e.suggest.retain(|s| {
                let ok = ids.contains(s) && *s != e.id;
                if !ok {
                    bad.push(s.clone());
                }
                ok
            });
            if e.suggest.len() != before {
                for b in bad {
                    errors.push(LoadError::new(
                        &file_of(&e.id, false),
                        0,
                        format!("suggest: unknown intent `{b}`"),
                    ));
                }
            }
        }
        for t in &mut self.trees {
            let bad = t.drop_broken_links(&ids);
            for b in bad {
                errors.push(LoadError::new(&file_of(&t.id, true), 0, b));
            }
        }
    }

    /// The entry with this intent id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// All entries, in a stable order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The abbreviation dictionary (`abbreviations.txt`), `(key,
    /// expansion)`; later pairs win.
    pub fn abbreviations(&self) -> &[(String, String)] {
        &self.abbreviations
    }

    /// The synonym dictionary (`synonyms.txt`: mostly English words mapped
    /// to the Vietnamese words of the examples), applied after the
    /// abbreviations.
    pub fn synonyms(&self) -> &[(String, String)] {
        &self.synonyms
    }

    /// Guided troubleshooting trees.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// The tree with this id.
    pub fn tree(&self, id: &str) -> Option<&Tree> {
        self.trees.iter().find(|t| t.id == id)
    }

    /// The tree attached to an intent, if any.
    pub fn tree_for_intent(&self, intent: &str) -> Option<&Tree> {
        self.trees.iter().find(|t| t.intent == intent)
    }

    /// Phrasings that are known to be out of scope (they teach the matcher
    /// what not to answer).
    pub fn out_of_scope(&self) -> &[String] {
        &self.out_of_scope
    }
}
