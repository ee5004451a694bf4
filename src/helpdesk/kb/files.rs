//! Where the knowledge base's files come from: the embedded `faq/` and an
//! override folder, what kind each file is, and the folder's fingerprint.

use std::path::Path;

use super::LoadError;

#[derive(rust_embed::Embed)]
#[folder = "faq/"]
struct FaqFiles;

/// One source file: its display name, its path relative to the faq folder,
/// and its text.
pub(super) struct Source {
    pub(super) display: String,
    pub(super) rel: String,
    pub(super) text: String,
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

pub(super) fn embedded_sources() -> Vec<Source> {
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

pub(super) fn dir_sources(dir: &Path, errors: &mut Vec<LoadError>) -> Vec<Source> {
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
pub(super) enum FileKind {
    Entry,
    Abbreviations,
    Synonyms,
    OutOfScope,
    Tree,
    Ignored,
}

pub(super) fn kind_of(rel: &str) -> FileKind {
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
/// A cheap fingerprint of the override directory (names, sizes and
/// modification times of the files the loader reads): poll it and reload
/// when it changes, so edits are picked up without a restart.
pub fn dir_stamp(dir: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::helpdesk::normalize::Fx::default();
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
