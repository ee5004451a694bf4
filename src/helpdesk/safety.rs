//! Safety: spotting passwords and one-time codes in messages, and redacting
//! personal numbers before a question is logged.

use std::ops::Range;

use super::normalize::{NumberKind, classify_digits, fold};

/// Words that announce a one-time code just before it.
const CODE_CONTEXT: &[&str] = &[
    "otp", "ma", "code", "pin", "xac", "nhan", "thuc", "mk", "pass",
];
/// Words that announce a password.
const PASSWORD_TRIGGERS: &[&str] = &["mk", "pass", "password", "passwd", "pw", "pwd", "matkhau"];
/// Words that may sit between a password trigger and the separator.
const FILLERS: &[&str] = &[
    "cua", "toi", "em", "minh", "anh", "chi", "moi", "cu", "hien", "tai", "khoan", "tk", "dang",
    "nhap", "my", "the", "current", "new", "old", "of", "account", "la", "is", "=", ":", "lg",
    "dn", "nhe", "do", "nay",
];

/// A word of the original text with its folded form.
struct Word<'a> {
    raw: &'a str,
    span: Range<usize>,
    folded: String,
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push(word(text, s, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(word(text, s, text.len()));
    }
    out
}

fn word(text: &str, s: usize, e: usize) -> Word<'_> {
    Word {
        raw: &text[s..e],
        span: s..e,
        folded: fold(&text[s..e]),
    }
}

/// True when a token looks like a password rather than a word.
fn password_like(raw: &str, explicit: bool) -> bool {
    let t = raw
        .trim_matches(|c: char| matches!(c, '.' | ',' | '!' | '?' | '"' | '\'' | ')' | '(' | '…'));
    let n = t.chars().count();
    if !(4..=64).contains(&n) {
        return false;
    }
    let digits = t.chars().filter(char::is_ascii_digit).count();
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    let special = t.chars().filter(|c| !c.is_alphanumeric()).count();
    let upper_inside =
        t.chars().skip(1).any(char::is_uppercase) && t.chars().any(char::is_lowercase);
    if digits == n {
        return true;
    }
    (digits > 0 && letters > 0)
        || special > 0
        || upper_inside
        || (explicit && n >= 6 && !t.contains(' '))
}

/// Byte ranges of passwords written after "mật khẩu là", "mk:", "password
/// is" and the like.
fn password_spans(ws: &[Word<'_>]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let f = ws[i].folded.as_str();
        let trigger_len =
            if PASSWORD_TRIGGERS.contains(&f) || f.starts_with("mk ") || f.starts_with("pass ") {
                1
            } else if (f == "mat" || f == "mật")
                && ws.get(i + 1).is_some_and(|n| {
                    n.folded == "khau" || n.folded == "ma" || n.folded.starts_with("khau ")
                })
            {
                2
            } else {
                0
            };
        if trigger_len == 0 {
            i += 1;
            continue;
        }
        let last = &ws[i + trigger_len - 1];
        // "mk:abc123" inside one word.
        if let Some(pos) = last.raw.find([':', '=']) {
            let after = &last.raw[pos + 1..];
            if !after.is_empty() && password_like(after, true) {
                out.push(last.span.start + pos + 1..last.span.end);
                i += trigger_len;
                continue;
            }
        }
        let mut explicit = last.raw.ends_with([':', '=']);
        let mut saw_separator = explicit;
        let mut j = i + trigger_len;
        let mut skipped = 0;
        while j < ws.len() && skipped < 5 {
            let w = &ws[j];
            let wf = w.folded.as_str();
            if w.raw == ":" || w.raw == "=" || w.raw.ends_with([':', '=']) {
                explicit = true;
                saw_separator = true;
                if w.raw.len() > 1 && !FILLERS.contains(&wf) {
                    break;
                }
            } else if wf == "la" || wf == "is" {
                saw_separator = true;
            } else if !FILLERS.contains(&wf) {
                break;
            }
            j += 1;
            skipped += 1;
        }
        if saw_separator
            && let Some(w) = ws.get(j)
            && password_like(w.raw, explicit)
        {
            out.push(w.span.clone());
        }
        i += trigger_len;
    }
    out
}

/// A run of digits in the original text (digits only, possibly grouped by
/// spaces, dots or dashes as phone numbers are written).
#[derive(Debug)]
struct Number {
    span: Range<usize>,
    kind: NumberKind,
    len: usize,
}

fn numbers(text: &str) -> Vec<Number> {
    let b = text.as_bytes();
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(s..i);
        } else {
            i += 1;
        }
    }
    let digits = |r: &Range<usize>| &text[r.clone()];
    let mut out = Vec::new();
    let mut g = 0;
    while g < groups.len() {
        let first = &groups[g];
        let d0 = digits(first);
        // Phone numbers written in groups: "0912 345 678", "+84 912.345.678".
        if d0.starts_with('0') || d0.starts_with("84") {
            let mut all = d0.to_string();
            let mut k = g + 1;
            let mut found = None;
            while k < groups.len() && k < g + 5 && all.len() < 11 {
                let gap = &text[groups[k - 1].end..groups[k].start];
                if gap.is_empty()
                    || gap.len() > 2
                    || !gap.bytes().all(|c| matches!(c, b' ' | b'.' | b'-'))
                {
                    break;
                }
                all.push_str(digits(&groups[k]));
                if classify_digits(&all) == NumberKind::Phone {
                    found = Some(k);
                    break;
                }
                k += 1;
            }
            if let Some(k) = found {
                let start = if first.start > 0 && b[first.start - 1] == b'+' {
                    first.start - 1
                } else {
                    first.start
                };
                out.push(Number {
                    span: start..groups[k].end,
                    kind: NumberKind::Phone,
                    len: all.len(),
                });
                g = k + 1;
                continue;
            }
        }
        let start = if first.start > 0 && b[first.start - 1] == b'+' && d0.starts_with("84") {
            first.start - 1
        } else {
            first.start
        };
        out.push(Number {
            span: start..first.end,
            kind: classify_digits(d0),
            len: d0.len(),
        });
        g += 1;
    }
    out
}

/// True when a message seems to contain a one-time code (a standalone
/// 6-digit number, or a 4–8 digit number right after "OTP", "mã", "code"…)
/// or a password ("mật khẩu là Abc@123", "mk: ...", "password is ...").
/// The caller then warns the citizen and does not store the text.
pub fn looks_sensitive(text: &str) -> bool {
    let ws = words(text);
    if !password_spans(&ws).is_empty() {
        return true;
    }
    for n in numbers(text) {
        if n.kind == NumberKind::Code {
            return true;
        }
        if n.kind == NumberKind::Other && (4..=8).contains(&n.len) {
            // Look at the few words before the number.
            let before = fold(&text[..n.span.start]);
            let context = before
                .split(' ')
                .rev()
                .take(4)
                .any(|w| CODE_CONTEXT.contains(&w));
            if context {
                return true;
            }
        }
    }
    false
}

/// The text with passwords written after "mật khẩu là"/"mk:" removed (for
/// matching a message that contains one: the secret says nothing about the
/// question).
pub fn strip_secrets(text: &str) -> String {
    let ws = words(text);
    let spans = password_spans(&ws);
    if spans.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for r in spans {
        if r.start >= pos {
            out.push_str(&text[pos..r.start]);
            out.push(' ');
            pos = r.end;
        }
    }
    out.push_str(&text[pos..]);
    out
}

/// Replaces ID numbers (`[ID]`), phone numbers (`[PHONE]`), codes and
/// other numbers of 4+ digits (`[CODE]`), e-mail addresses (`[EMAIL]`) and
/// passwords written after "mật khẩu là"/"mk:" (`[PASSWORD]`), for logging
/// questions the bot could not answer.
pub fn redact(text: &str) -> String {
    let ws = words(text);
    let mut spans: Vec<(Range<usize>, &str)> = password_spans(&ws)
        .into_iter()
        .map(|r| (r, "[PASSWORD]"))
        .collect();
    for w in &ws {
        if let Some(at) = w.raw.find('@') {
            let local = &w.raw[..at];
            let domain = &w.raw[at + 1..];
            if !local.is_empty() && domain.contains('.') {
                let end = w.raw.trim_end_matches(['.', ',', '!', '?', ')']).len();
                spans.push((w.span.start..w.span.start + end, "[EMAIL]"));
            }
        }
    }
    for n in numbers(text) {
        let tag = match n.kind {
            NumberKind::Phone => "[PHONE]",
            NumberKind::Id => "[ID]",
            NumberKind::Code => "[CODE]",
            NumberKind::Other if n.len >= 4 => "[CODE]",
            NumberKind::Other => continue,
        };
        spans.push((n.span, tag));
    }
    spans.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (r, tag) in spans {
        if r.start < pos {
            continue; // inside a span already replaced
        }
        out.push_str(&text[pos..r.start]);
        out.push_str(tag);
        pos = r.end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spots_codes() {
        assert!(looks_sensitive("mã otp của tôi là 482913"));
        assert!(looks_sensitive("482913"));
        assert!(looks_sensitive("otp 4829 sai roi"));
        assert!(looks_sensitive("ma xac nhan: 75792611"));
        assert!(looks_sensitive("my code is 1234"));
        assert!(!looks_sensitive("ko nhan dc ma otp"));
        assert!(!looks_sensitive("OTP có hiệu lực mấy phút"));
        assert!(!looks_sensitive("sdt 0912345678 ko nhan dc otp"));
        assert!(!looks_sensitive("sdt 0912 345 678 ko nhan dc otp"));
        assert!(!looks_sensitive("cccd 001203004567 da co tai khoan"));
        assert!(!looks_sensitive("tong dai 18001096 la so nao"));
        assert!(!looks_sensitive("file toi da 5MB a"));
        assert!(!looks_sensitive("nam 2024 dang ky duoc khong"));
    }

    #[test]
    fn spots_passwords() {
        assert!(looks_sensitive(
            "mật khẩu của tôi là Abc@12345 sao không vào được"
        ));
        assert!(looks_sensitive("mk: hoa123"));
        assert!(looks_sensitive("mk:hoa123"));
        assert!(looks_sensitive("pass la 12345678"));
        assert!(looks_sensitive("my password is Hunter22"));
        assert!(looks_sensitive("Mat khau: nguyenvana"));
        assert!(!looks_sensitive("mật khẩu là gì"));
        assert!(!looks_sensitive("mat khau la bao nhieu ky tu"));
        assert!(!looks_sensitive("mk phải có ký tự đặc biệt à"));
        assert!(!looks_sensitive("quên mật khẩu"));
        assert!(!looks_sensitive("what is the password rule"));
        assert!(!looks_sensitive("mật khẩu là ngày sinh à?"));
    }

    #[test]
    fn redacts() {
        assert_eq!(
            redact("CCCD 001203004567, sđt 0912 345 678, mã 482913"),
            "CCCD [ID], sđt [PHONE], mã [CODE]"
        );
        assert_eq!(redact("gọi +84 912.345.678 nhé"), "gọi [PHONE] nhé");
        assert_eq!(
            redact("cmnd 123456789 email a.b@gmail.com."),
            "cmnd [ID] email [EMAIL]."
        );
        assert_eq!(
            redact("mk: Abc@123 không vào được"),
            "mk: [PASSWORD] không vào được"
        );
        assert_eq!(redact("file 5MB"), "file 5MB");
        assert_eq!(redact("không nhận được OTP"), "không nhận được OTP");
        assert_eq!(
            strip_secrets("mk: Abc@123 không vào được"),
            "mk:   không vào được"
        );
    }
}
