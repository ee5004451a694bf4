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

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use super::normalize::parse_abbreviations;
use super::tree::{Tree, parse_tree};

#[derive(rust_embed::Embed)]
#[folder = "faq/"]
struct FaqFiles;

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

/// The `{signin:a,b}` marker of a line: `(its byte range, the values)`.
fn signin_marker(line: &str) -> Option<(std::ops::Range<usize>, &str)> {
    let start = line.find("{signin:")?;
    let len = line[start..].find('}')?;
    let values = &line[start + "{signin:".len()..start + len];
    Some((start..start + len + 1, values))
}

/// Values of `{signin:…}` markers in `text` that are not a
/// [`PortalSignin`] name, with their 1-based line within `text`.
fn unknown_signin_values(text: &str) -> Vec<(usize, String)> {
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some((_, values)) = signin_marker(line) {
            for v in values.split(',') {
                if PortalSignin::parse(v).is_none() {
                    bad.push((n + 1, v.trim().to_string()));
                }
            }
        }
    }
    bad
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

/// Entries, abbreviations, troubleshooting trees and out-of-scope phrasings.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    entries: Vec<Entry>,
    abbreviations: Vec<(String, String)>,
    synonyms: Vec<(String, String)>,
    trees: Vec<Tree>,
    out_of_scope: Vec<String>,
}

/// One source file: its display name, its path relative to the faq folder,
/// and its text.
struct Source {
    display: String,
    rel: String,
    text: String,
}

pub(crate) fn embedded_text(name: &str) -> Option<String> {
    FaqFiles::get(name).map(|f| match std::str::from_utf8(&f.data) {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(&f.data).into_owned(),
    })
}

/// The paths of every embedded file of `faq/` (entries, trees,
/// dictionaries, eval sets, README).
pub(crate) fn embedded_names() -> Vec<String> {
    let mut names: Vec<String> = FaqFiles::iter().map(|n| n.into_owned()).collect();
    names.sort();
    names
}

/// The files of an override folder the loader would read, `(relative
/// path, text)`; unreadable ones are skipped.
pub(crate) fn dir_files(dir: &Path) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    dir_sources(dir, &mut errors)
        .into_iter()
        .map(|s| (s.rel, s.text))
        .collect()
}

fn embedded_sources() -> Vec<Source> {
    // Only the files the loader reads (not the eval sets or the README).
    let mut names: Vec<String> = FaqFiles::iter()
        .filter(|n| kind_of(n) != FileKind::Ignored)
        .map(|n| n.into_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|rel| {
            let text = embedded_text(&rel)?;
            Some(Source {
                display: format!("embedded:{rel}"),
                rel,
                text,
            })
        })
        .collect()
}

fn dir_sources(dir: &Path, errors: &mut Vec<LoadError>) -> Vec<Source> {
    let mut out = Vec::new();
    for (sub, prefix) in [
        (dir.to_path_buf(), ""),
        (dir.join("troubleshoot"), "troubleshoot/"),
    ] {
        let read = match std::fs::read_dir(&sub) {
            Ok(r) => r,
            Err(e) => {
                if prefix.is_empty() && e.kind() != std::io::ErrorKind::NotFound {
                    errors.push(LoadError::new(
                        &dir.display().to_string(),
                        0,
                        format!("cannot read directory: {e}"),
                    ));
                }
                continue;
            }
        };
        let mut paths: Vec<_> = read
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let rel = format!("{prefix}{name}");
            if kind_of(&rel) == FileKind::Ignored {
                continue;
            }
            match std::fs::read(&p) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => out.push(Source {
                        display: p.display().to_string(),
                        rel,
                        text,
                    }),
                    Err(_) => errors.push(LoadError::new(
                        &p.display().to_string(),
                        0,
                        "not valid UTF-8",
                    )),
                },
                Err(e) => errors.push(LoadError::new(
                    &p.display().to_string(),
                    0,
                    format!("cannot read: {e}"),
                )),
            }
        }
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
enum FileKind {
    Entry,
    Abbreviations,
    Synonyms,
    OutOfScope,
    Tree,
    Ignored,
}

fn kind_of(rel: &str) -> FileKind {
    if rel == "abbreviations.txt" {
        FileKind::Abbreviations
    } else if rel == "synonyms.txt" {
        FileKind::Synonyms
    } else if rel == "out-of-scope.txt" {
        FileKind::OutOfScope
    } else if let Some(name) = rel.strip_prefix("troubleshoot/") {
        if name.ends_with(".md") && !name.contains('/') {
            FileKind::Tree
        } else {
            FileKind::Ignored
        }
    } else if rel.ends_with(".md") && !rel.contains('/') && !rel.eq_ignore_ascii_case("README.md") {
        FileKind::Entry
    } else {
        FileKind::Ignored
    }
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

/// A cheap fingerprint of the override directory (names, sizes and
/// modification times of the files the loader reads): poll it and reload
/// when it changes, so edits are picked up without a restart.
pub fn dir_stamp(dir: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = super::normalize::Fx::default();
    for sub in [dir.to_path_buf(), dir.join("troubleshoot")] {
        let Ok(read) = std::fs::read_dir(&sub) else {
            continue;
        };
        let mut items: Vec<(String, u64, u128)> = read
            .filter_map(Result::ok)
            .filter_map(|e| {
                let md = e.metadata().ok()?;
                if !md.is_file() {
                    return None;
                }
                let mtime = md
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    md.len(),
                    mtime,
                ))
            })
            .collect();
        items.sort();
        items.hash(&mut h);
    }
    h.finish()
}

/// Replaces `{public_url}`, `{office_phone}`, `{office_email}`; lines whose
/// placeholder has an empty value are dropped, and so are lines whose
/// `{signin:…}` marker does not name the deployment's [`PortalSignin`].
pub(crate) fn substitute(text: &str, vars: &AnswerVars) -> String {
    if vars.public_url == RAW_URL {
        // The editor's view (`edit::raw_vars`): the text as written.
        return text.trim().to_string();
    }
    let url = vars.public_url.trim().trim_end_matches('/');
    let subs = [
        ("{public_url}", url),
        ("{office_phone}", vars.office_phone.trim()),
        ("{office_email}", vars.office_email.trim()),
    ];
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.lines() {
        let mut l = line.to_string();
        if let Some((range, values)) = signin_marker(line) {
            let wanted = vars.portal_signin.name();
            if !values.split(',').any(|v| v.trim() == wanted) {
                continue;
            }
            l.replace_range(range, "");
        }
        let mut keep = true;
        for (k, v) in subs {
            if l.contains(k) {
                if v.is_empty() {
                    keep = false;
                    break;
                }
                l = l.replace(k, v);
            }
        }
        if keep {
            out.push_str(&l);
            out.push('\n');
        }
    }
    // Collapse the blank lines that dropped lines may leave behind.
    let mut cleaned = String::with_capacity(out.len());
    let mut blank = 0;
    for line in out.trim().lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        cleaned.push_str(line);
        cleaned.push('\n');
    }
    cleaned.trim_end().to_string()
}

/// The parsed front matter: scalars and lists, each with its line number.
#[derive(Debug, Default)]
pub(crate) struct FrontMatter {
    pub scalars: Vec<(String, String, usize)>,
    pub lists: Vec<(String, Vec<String>, usize)>,
    /// Line index (0-based) of the first body line.
    pub body_start: usize,
}

impl FrontMatter {
    pub fn scalar(&self, key: &str) -> Option<&str> {
        self.scalars
            .iter()
            .rev()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
    }
    pub fn list(&self, key: &str) -> Vec<String> {
        self.lists
            .iter()
            .filter(|(k, _, _)| k == key)
            .flat_map(|(_, v, _)| v.iter().cloned())
            .collect()
    }
    pub fn keys(&self) -> impl Iterator<Item = (&str, usize)> {
        self.scalars
            .iter()
            .map(|(k, _, l)| (k.as_str(), *l))
            .chain(self.lists.iter().map(|(k, _, l)| (k.as_str(), *l)))
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')))
    {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Parses `---` front matter with `key: value` scalars and `key:` followed
/// by `- item` lists. Errors carry 1-based line numbers.
pub(crate) fn parse_front_matter(
    file: &str,
    lines: &[&str],
    errors: &mut Vec<LoadError>,
) -> Option<FrontMatter> {
    let first = lines.iter().position(|l| !l.trim().is_empty())?;
    if lines[first].trim() != "---" {
        errors.push(LoadError::new(
            file,
            first + 1,
            "expected `---` to open the front matter",
        ));
        return None;
    }
    let mut fm = FrontMatter::default();
    let mut current_list: Option<usize> = None;
    for (i, raw) in lines.iter().enumerate().skip(first + 1) {
        let line = raw.trim_end();
        let t = line.trim();
        if t == "---" {
            fm.body_start = i + 1;
            return Some(fm);
        }
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(item) = t
            .strip_prefix("- ")
            .or_else(|| if t == "-" { Some("") } else { None })
        {
            match current_list {
                Some(idx) => {
                    let item = unquote(item);
                    if !item.is_empty() {
                        fm.lists[idx].1.push(item.to_string());
                    }
                }
                None => errors.push(LoadError::new(
                    file,
                    i + 1,
                    "list item outside a list (write `key:` first)",
                )),
            }
            continue;
        }
        match t.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() && !k.contains(' ') => {
                let key = k.trim().to_string();
                let value = unquote(v);
                if value.is_empty() {
                    fm.lists.push((key, Vec::new(), i + 1));
                    current_list = Some(fm.lists.len() - 1);
                } else {
                    fm.scalars.push((key, value.to_string(), i + 1));
                    current_list = None;
                }
            }
            _ => errors.push(LoadError::new(
                file,
                i + 1,
                "expected `key: value`, `key:` or `- item`",
            )),
        }
    }
    errors.push(LoadError::new(
        file,
        first + 1,
        "front matter is not closed by `---`",
    ));
    None
}

/// Splits a body into `## name` sections: `(name lowercased, text, line)`.
pub(crate) fn sections<'a>(lines: &[&'a str], start: usize) -> Vec<(String, Vec<&'a str>, usize)> {
    let mut out: Vec<(String, Vec<&'a str>, usize)> = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start) {
        if let Some(name) = line.trim_end().strip_prefix("## ") {
            out.push((name.trim().to_lowercase(), Vec::new(), i + 1));
        } else if let Some(last) = out.last_mut() {
            last.1.push(line);
        }
    }
    out
}

pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

const ENTRY_KEYS: &[&str] = &[
    "id",
    "title",
    "title_en",
    "suggest",
    "examples",
    "examples_en",
];

fn parse_entry(
    file: &str,
    text: &str,
    vars: &AnswerVars,
    errors: &mut Vec<LoadError>,
) -> Option<Entry> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(fm) = parse_front_matter(file, &lines, errors) else {
        if lines.iter().all(|l| l.trim().is_empty()) {
            errors.push(LoadError::new(file, 0, "empty file"));
        }
        return None;
    };
    for (k, line) in fm.keys() {
        if !ENTRY_KEYS.contains(&k) {
            errors.push(LoadError::new(file, line, format!("unknown key `{k}`")));
        }
    }
    let Some(id) = fm.scalar("id").map(str::to_string) else {
        errors.push(LoadError::new(file, 1, "missing `id`"));
        return None;
    };
    if !valid_id(&id) {
        errors.push(LoadError::new(
            file,
            1,
            format!("invalid id `{id}` (use lowercase letters, digits and `-`)"),
        ));
        return None;
    }
    let Some(title_vi) = fm.scalar("title").map(str::to_string) else {
        errors.push(LoadError::new(file, 1, "missing `title`"));
        return None;
    };
    let title_en = fm
        .scalar("title_en")
        .map(str::to_string)
        .unwrap_or_else(|| {
            errors.push(LoadError::new(
                file,
                1,
                "missing `title_en` (the Vietnamese title is used)",
            ));
            title_vi.clone()
        });
    let examples = fm.list("examples");
    let examples_en = fm.list("examples_en");
    if examples.is_empty() && examples_en.is_empty() {
        errors.push(LoadError::new(
            file,
            1,
            "no `examples`: the entry could never be matched",
        ));
        return None;
    }
    let mut answer_vi = None;
    let mut answer_en = None;
    for (name, body, line) in sections(&lines, fm.body_start) {
        for (n, v) in unknown_signin_values(&body.join("\n")) {
            errors.push(LoadError::new(
                file,
                line + n,
                format!("`{{signin:{v}}}`: use {}", PortalSignin::NAMES.join(", ")),
            ));
        }
        let text = body.join("\n").trim().to_string();
        let slot = match name.as_str() {
            "vi" => &mut answer_vi,
            "en" => &mut answer_en,
            other => {
                errors.push(LoadError::new(
                    file,
                    line,
                    format!("unknown section `## {other}` (use `## vi` and `## en`)"),
                ));
                continue;
            }
        };
        if text.is_empty() {
            errors.push(LoadError::new(
                file,
                line,
                format!("empty section `## {name}`"),
            ));
        } else {
            *slot = Some(substitute(&text, vars));
        }
    }
    let Some(answer_vi) = answer_vi else {
        errors.push(LoadError::new(
            file,
            fm.body_start.max(1),
            "missing `## vi` answer",
        ));
        return None;
    };
    let answer_en = answer_en.unwrap_or_else(|| {
        errors.push(LoadError::new(
            file,
            fm.body_start.max(1),
            "missing `## en` answer (the Vietnamese one is used)",
        ));
        answer_vi.clone()
    });
    Some(Entry {
        id,
        title_vi,
        title_en,
        answer_vi,
        answer_en,
        suggest: fm.list("suggest"),
        examples,
        examples_en,
    })
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.title_vi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> AnswerVars {
        AnswerVars {
            public_url: "https://motcua.example.vn/".into(),
            office_phone: "0221 3829883".into(),
            office_email: "motcua@example.vn".into(),
            ..AnswerVars::default()
        }
    }

    const GOOD: &str = "---\nid: test-one\ntitle: Thử\ntitle_en: Test\nsuggest:\n- test-two\n- nope\nexamples:\n- câu một\n- \"câu: hai\"\n---\n## vi\nXem {public_url}/dang-nhap\nGọi {office_phone}\n## en\nSee {public_url}/dang-nhap\n";

    #[test]
    fn parses_an_entry() {
        let two = GOOD
            .replace("test-one", "test-two")
            .replace("- test-two\n", "");
        let (kb, errors) = KnowledgeBase::from_files(
            &vars(),
            [("test-one.md", GOOD), ("test-two.md", two.as_str())],
        );
        let e = kb.entry("test-one").expect("entry");
        assert_eq!(e.title_en, "Test");
        assert_eq!(e.examples, vec!["câu một", "câu: hai"]);
        assert_eq!(
            e.answer_vi,
            "Xem https://motcua.example.vn/dang-nhap\nGọi 0221 3829883"
        );
        assert_eq!(e.suggest, vec!["test-two"]);
        assert_eq!(errors.len(), 2, "{errors:?}"); // `nope` twice (in both files)
        assert!(
            errors[0]
                .to_string()
                .starts_with("test-one.md:0: suggest: unknown intent `nope`"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn empty_vars_drop_lines() {
        let v = AnswerVars {
            public_url: "http://x".into(),
            ..AnswerVars::default()
        };
        assert_eq!(
            substitute("A\n\nGọi {office_phone}\n\nB {public_url}/a", &v),
            "A\n\nB http://x/a"
        );
    }

    #[test]
    fn signin_markers_pick_the_deployments_lines() {
        let text = "Trang {public_url}:\n{signin:account}tài khoản riêng\n{signin:vneid}VNeID\n{signin:vneid,both}có VNeID\nHết";
        let with = |p| AnswerVars {
            portal_signin: p,
            ..vars()
        };
        assert_eq!(
            substitute(text, &with(PortalSignin::Account)),
            "Trang https://motcua.example.vn:\ntài khoản riêng\nHết"
        );
        assert_eq!(
            substitute(text, &with(PortalSignin::Vneid)),
            "Trang https://motcua.example.vn:\nVNeID\ncó VNeID\nHết"
        );
        assert_eq!(
            substitute(text, &with(PortalSignin::Both)),
            "Trang https://motcua.example.vn:\ncó VNeID\nHết"
        );
        for name in PortalSignin::NAMES {
            assert_eq!(
                PortalSignin::parse(name).map(PortalSignin::name),
                Some(name)
            );
        }
        assert_eq!(PortalSignin::parse("VNeID"), None);
        // A misspelt value is reported with its line (and the line is dropped).
        let entry = "---\nid: x\ntitle: X\ntitle_en: X\nexamples:\n- x\n---\n## vi\nA\n{signin:vnied}B\n## en\nA\n";
        let (kb, errors) = KnowledgeBase::from_files(&vars(), [("x.md", entry)]);
        assert_eq!(kb.entry("x").map(|e| e.answer_vi.as_str()), Some("A"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .to_string()
                .starts_with("x.md:10: `{signin:vnied}`: use account, vneid, both"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn reports_broken_files_with_lines() {
        let broken = "---\nid: broken\ntitle Thiếu dấu hai chấm\nexamples:\n- a\n---\n## vi\nx\n";
        let unclosed = "---\nid: open\n";
        let no_vi = "---\nid: novi\ntitle: T\ntitle_en: T\nexamples:\n- a\n---\n## en\nx\n";
        let (kb, errors) = KnowledgeBase::from_files(
            &vars(),
            [
                ("broken.md", broken),
                ("open.md", unclosed),
                ("novi.md", no_vi),
                ("ok.md", GOOD),
            ],
        );
        let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("broken.md:3: expected `key: value`")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("open.md:1: front matter is not closed")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("novi.md:7: missing `## vi`")),
            "{msgs:?}"
        );
        assert!(kb.entry("test-one").is_some());
        assert!(kb.entry("novi").is_none());
    }

    #[test]
    fn override_dir_replaces_and_adds() {
        let dir = std::env::temp_dir().join(format!("motcua-faq-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let custom = "---\nid: forgot-password\ntitle: Quên mật khẩu (tỉnh)\ntitle_en: Forgot password\nexamples:\n- quen mat khau\n---\n## vi\nGọi {office_phone}.\n## en\nCall {office_phone}.\n";
        std::fs::write(dir.join("forgot-password.md"), custom).expect("write");
        std::fs::write(
            dir.join("new-topic.md"),
            custom.replace("forgot-password", "new-topic"),
        )
        .expect("write");
        std::fs::write(dir.join("bad.md"), "no front matter").expect("write");
        let stamp1 = dir_stamp(&dir);
        let (kb, errors) = KnowledgeBase::load(&vars(), Some(&dir));
        assert_eq!(
            kb.entry("forgot-password").map(|e| e.title_vi.as_str()),
            Some("Quên mật khẩu (tỉnh)")
        );
        assert!(kb.entry("new-topic").is_some());
        assert!(kb.entry("otp-expired").is_some());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].file.ends_with("bad.md") && errors[0].line == 1,
            "{}",
            errors[0]
        );
        std::fs::write(
            dir.join("bad.md"),
            custom.replace("forgot-password", "fixed"),
        )
        .expect("write");
        assert_ne!(stamp1, dir_stamp(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
