//! Reading one file: placeholders and `{signin:…}` markers, front matter,
//! `## lang` sections, and entries.

use super::{AnswerVars, Entry, LoadError, PortalSignin, RAW_URL};

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

pub(super) fn parse_entry(
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
