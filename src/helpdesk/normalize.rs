//! Text normalisation for matching: Unicode folding, diacritics removal,
//! number placeholders and abbreviation expansion.
//!
//! The pipeline is: fold every character (NFC/NFD both work: base letters
//! are kept, combining marks dropped, `đ` becomes `d`, everything lowercase,
//! punctuation and emoji become spaces), split into tokens, replace numbers
//! that look like ID numbers, phone numbers or one-time codes with
//! placeholder tokens, then expand abbreviations from the dictionary
//! (`faq/abbreviations.txt`). An abbreviation with an empty expansion is a
//! stop word and is dropped.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// Placeholder for a 9- or 12-digit ID number (CMND/CCCD).
pub const ID_TOKEN: &str = "<id>";
/// Placeholder for a phone number.
pub const PHONE_TOKEN: &str = "<phone>";
/// Placeholder for a 6-digit code (OTP and the like).
pub const CODE_TOKEN: &str = "<code>";

/// A fast hasher for the short keys used here (Fx-style: eight bytes per
/// multiply, where FNV-1a spent one multiply per byte; not DoS resistant,
/// which is fine: keys come from our own data, lookups from user text only
/// read). Feature ids are hashes of this hasher too.
#[derive(Clone, Copy, Default)]
pub(crate) struct Fx(u64);

impl Fx {
    const K: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for Fx {
    #[inline]
    fn finish(&self) -> u64 {
        // The product's low bits depend only on the input's low bits; the
        // table picks buckets with low bits: bring the mixed high bits down.
        self.0.rotate_left(26)
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            w[7] = rest.len() as u8;
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.add(x);
    }
}

pub(crate) type FxBuild = BuildHasherDefault<Fx>;
pub(crate) type FxMap<K, V> = HashMap<K, V, FxBuild>;

/// Folds one character: `Some(c)` with a lowercase base character, `Some(' ')`
/// for a separator, `None` for a combining mark (dropped without a space).
#[inline]
pub(crate) fn fold_char(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            ' '
        });
    }
    let cp = c as usize;
    if cp < TABLE_SIZE {
        match fold_table()[cp] {
            0 => {}
            MARK => return None,
            b => return Some(char::from(b)),
        }
    }
    fold_char_slow(c)
}

/// Code points below this are folded by table lookup (Latin, combining
/// marks and the Vietnamese block U+1EA0–U+1EF9).
const TABLE_SIZE: usize = 0x1F00;
/// Table value for a combining mark.
const MARK: u8 = 1;

/// The code points the table covers: Latin-1 and Latin Extended, the
/// combining marks, the Vietnamese block. Others (other scripts, rare in
/// questions) take the slow path: filling them costs start-up time.
const TABLE_RANGES: [(usize, usize); 3] = [(0x80, 0x250), (0x300, 0x370), (0x1EA0, 0x1F00)];

/// For each code point below [`TABLE_SIZE`]: its folded ASCII byte, a space
/// for a separator, [`MARK`] for a combining mark, 0 for "not ASCII after
/// folding" or not in [`TABLE_RANGES`] (the slow path decides).
fn fold_table() -> &'static [u8; TABLE_SIZE] {
    static TABLE: OnceLock<Box<[u8; TABLE_SIZE]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([0u8; TABLE_SIZE]);
        for cp in TABLE_RANGES.iter().flat_map(|&(a, b)| a..b) {
            let slot = &mut t[cp];
            let Some(c) = char::from_u32(cp as u32) else {
                continue;
            };
            *slot = match fold_char_slow(c) {
                None => MARK,
                Some(f) if f.is_ascii() => f as u8,
                Some(_) => 0,
            };
        }
        t
    })
}

fn fold_char_slow(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            ' '
        });
    }
    match c {
        'đ' | 'Đ' | 'ð' => return Some('d'),
        '\u{0300}'..='\u{036f}' => return None,
        _ => {}
    }
    let mut base = None;
    unicode_normalization::char::decompose_canonical(c, |d| {
        if base.is_none() {
            base = Some(d);
        }
    });
    let b = base.unwrap_or(c);
    if b.is_ascii_alphanumeric() {
        Some(b.to_ascii_lowercase())
    } else if b.is_alphanumeric() {
        // Other scripts: keep the letter (lowercased when that is one char).
        let mut lower = b.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) => Some(l),
            _ => Some(b),
        }
    } else {
        Some(' ')
    }
}

/// Folds a whole text: lowercase, no diacritics, separators as single
/// spaces, no leading or trailing space.
pub fn fold(text: &str) -> String {
    fold_marked(text).0
}

/// [`fold`], also telling whether the text had Vietnamese diacritics (one
/// pass instead of two).
pub(crate) fn fold_marked(text: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut marks = false;
    for c in text.chars() {
        let f = fold_char(c);
        if !c.is_ascii() && !marks {
            marks = is_vietnamese_mark(c, f);
        }
        match f {
            None => {}
            Some(' ') => pending_space = true,
            Some(f) => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(f);
            }
        }
    }
    (out, marks)
}

#[inline]
fn is_vietnamese_mark(c: char, folded: Option<char>) -> bool {
    matches!(c, 'đ' | 'Đ' | '\u{0300}'..='\u{036f}')
        || folded.is_some_and(|f| f.is_ascii_alphabetic())
}

/// True when `text` has Vietnamese letters with diacritics (a strong sign
/// that it is Vietnamese).
pub fn has_vietnamese_marks(text: &str) -> bool {
    text.chars()
        .any(|c| !c.is_ascii() && is_vietnamese_mark(c, fold_char(c)))
}

/// What a run of digits is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberKind {
    Id,
    Phone,
    Code,
    Other,
}

/// Classifies a run of digits (no separators).
pub(crate) fn classify_digits(d: &str) -> NumberKind {
    let n = d.len();
    if (n == 10 && d.starts_with('0')) || (n == 11 && d.starts_with("84")) {
        NumberKind::Phone
    } else if n == 9 || n == 12 {
        NumberKind::Id
    } else if n == 6 {
        NumberKind::Code
    } else {
        NumberKind::Other
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Tries to read a phone number written in groups ("0912 345 678",
/// "+84 912.345.678") starting at token `i`. Returns how many tokens it
/// spans.
pub(crate) fn phone_groups(tokens: &[&str], i: usize) -> Option<usize> {
    let first = tokens.get(i)?;
    if !all_digits(first) || !(first.starts_with('0') || first.starts_with("84")) {
        return None;
    }
    let mut len = first.len();
    let mut j = i + 1;
    while j < tokens.len() && j < i + 5 && all_digits(tokens[j]) && len < 11 {
        len += tokens[j].len();
        j += 1;
        let phone = (len == 10 && first.starts_with('0')) || (len == 11 && first.starts_with("84"));
        if phone {
            return Some(j - i);
        }
    }
    None
}

/// Expansion of a key: the folded words it stands for.
type Expansion = Vec<Box<str>>;
/// Two-word keys: first word → (second word, expansion).
type PhraseMap = FxMap<Box<str>, Vec<(Box<str>, Expansion)>>;
/// Parsed dictionary lines and `(line, message)` problems.
pub type ParsedDictionary = (Vec<(String, String)>, Vec<(usize, String)>);

/// The abbreviation dictionary and the tokeniser built on it.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    abbr: FxMap<Box<str>, Expansion>,
    phrases: PhraseMap,
}

impl Normalizer {
    /// Builds a normaliser from `(abbreviation, expansion)` pairs; both sides
    /// are folded. A key may be one word or two (`sign up = đăng ký`). An
    /// empty expansion marks a stop word. Later pairs win.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Normalizer {
        let mut abbr: FxMap<Box<str>, Expansion> = FxMap::default();
        let mut phrases = PhraseMap::default();
        for (k, v) in pairs {
            let key = fold(k);
            let exp: Vec<Box<str>> = fold(v)
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(Box::from)
                .collect();
            let words: Vec<&str> = key.split(' ').filter(|t| !t.is_empty()).collect();
            match words.as_slice() {
                [one] => {
                    abbr.insert(Box::from(*one), exp);
                }
                [first, second] => {
                    let list = phrases.entry(Box::from(*first)).or_default();
                    list.retain(|(s, _)| &**s != *second);
                    list.push((Box::from(*second), exp));
                }
                _ => {}
            }
        }
        Normalizer { abbr, phrases }
    }

    /// The expansion of one folded token, if it is in the dictionary.
    pub fn expansion(&self, token: &str) -> Option<&[Box<str>]> {
        self.abbr.get(token).map(Vec::as_slice)
    }

    /// Number of dictionary entries.
    pub fn len(&self) -> usize {
        self.abbr.len() + self.phrases.values().map(Vec::len).sum::<usize>()
    }

    /// True when the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.abbr.is_empty()
    }

    /// Tokenises already folded text into `out`: numbers become
    /// placeholders, abbreviations are expanded, stop words dropped.
    pub(crate) fn tokens<'a>(&'a self, folded: &'a str, out: &mut Vec<&'a str>) {
        // Questions are short: their words fit on the stack.
        let mut stack = [""; 32];
        let heap: Vec<&str>;
        let mut n = 0;
        for t in folded.split(' ').filter(|t| !t.is_empty()) {
            if n == stack.len() {
                n += 1;
                break;
            }
            stack[n] = t;
            n += 1;
        }
        let raw: &[&str] = if n > stack.len() {
            heap = folded.split(' ').filter(|t| !t.is_empty()).collect();
            &heap
        } else {
            &stack[..n]
        };
        let mut i = 0;
        while i < raw.len() {
            let t = raw[i];
            if t.as_bytes()[0].is_ascii_digit() {
                if let Some(n) = phone_groups(raw, i) {
                    out.push(PHONE_TOKEN);
                    i += n;
                    continue;
                }
                let digits_end = t
                    .bytes()
                    .position(|b| !b.is_ascii_digit())
                    .unwrap_or(t.len());
                let (digits, rest) = t.split_at(digits_end);
                match classify_digits(digits) {
                    NumberKind::Phone => out.push(PHONE_TOKEN),
                    NumberKind::Id => out.push(ID_TOKEN),
                    NumberKind::Code => out.push(CODE_TOKEN),
                    NumberKind::Other => self.push_word(digits, out),
                }
                if !rest.is_empty() {
                    self.push_word(rest, out);
                }
            } else {
                if let Some(list) = self.phrases.get(t)
                    && let Some(next) = raw.get(i + 1)
                    && let Some((_, exp)) = list.iter().find(|(s, _)| &**s == *next)
                {
                    out.extend(exp.iter().map(|e| &**e));
                    i += 2;
                    continue;
                }
                self.push_word(t, out);
            }
            i += 1;
        }
    }

    #[inline]
    fn push_word<'a>(&'a self, t: &'a str, out: &mut Vec<&'a str>) {
        match self.abbr.get(t) {
            Some(exp) => out.extend(exp.iter().map(|e| &**e)),
            None => out.push(t),
        }
    }

    /// Full normalisation of a text: folded, numbers replaced, abbreviations
    /// expanded, tokens joined by single spaces.
    pub fn normalize(&self, text: &str) -> String {
        let folded = fold(text);
        let mut toks = Vec::new();
        self.tokens(&folded, &mut toks);
        toks.join(" ")
    }
}

/// Parses an abbreviation or synonym file: `abbr = expansion` per line (the
/// key is one or two words), `#` starts a
/// comment, blank lines ignored. Returns the pairs and `(line, message)` for
/// lines that could not be read.
pub fn parse_abbreviations(text: &str) -> ParsedDictionary {
    let mut pairs = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                let key = k.trim();
                if fold(key).split(' ').count() > 2 {
                    errors.push((n + 1, format!("`{key}`: a key is one or two words")));
                } else {
                    pairs.push((key.to_string(), v.trim().to_string()));
                }
            }
            _ => errors.push((n + 1, "expected `abbreviation = expansion`".to_string())),
        }
    }
    (pairs, errors)
}

/// The normaliser built from the embedded dictionary (`faq/abbreviations.txt`).
pub fn default_normalizer() -> &'static Normalizer {
    static N: OnceLock<Normalizer> = OnceLock::new();
    N.get_or_init(|| {
        let mut text = super::kb::embedded_text("abbreviations.txt").unwrap_or_default();
        text.push('\n');
        text.push_str(&super::kb::embedded_text("synonyms.txt").unwrap_or_default());
        let (pairs, _) = parse_abbreviations(&text);
        Normalizer::new(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    })
}

/// Normalises a question with the embedded abbreviation dictionary: NFC,
/// lowercase, no diacritics (`đ` → `d`), punctuation and emoji as spaces,
/// ID/phone numbers and 6-digit codes as placeholders (`<id>`, `<phone>`,
/// `<code>`), abbreviations expanded, stop words dropped.
pub fn normalize(text: &str) -> String {
    default_normalizer().normalize(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_vietnamese() {
        assert_eq!(fold("Đăng KÝ tài khoản!!"), "dang ky tai khoan");
        assert_eq!(fold("Quên mật khẩu 😭😭"), "quen mat khau");
        assert_eq!(fold("  Ữ  ơ ư Ơ  "), "u o u o");
        // NFD input (base letter + combining marks) folds the same way.
        assert_eq!(fold("ma\u{0323}\u{0302}t kha\u{0302}\u{0309}u"), "mat khau");
        assert_eq!(
            fold("số điện thoại: 0912-345-678."),
            "so dien thoai 0912 345 678"
        );
    }

    #[test]
    fn table_matches_slow_path() {
        for cp in 0x80..TABLE_SIZE as u32 {
            if let Some(c) = char::from_u32(cp) {
                assert_eq!(fold_char(c), fold_char_slow(c), "U+{cp:04X}");
            }
        }
        assert_eq!(fold("ỲỴỶỸ ỳỵỷỹ ẠẢẤẦẨẪẬ"), "yyyy yyyy aaaaaaa");
    }

    #[test]
    fn detects_marks() {
        assert!(has_vietnamese_marks("mật khẩu"));
        assert!(has_vietnamese_marks("đang"));
        assert!(!has_vietnamese_marks("mat khau"));
        assert!(!has_vietnamese_marks("I forgot my password 😭"));
    }

    #[test]
    fn expands_domain_abbreviations() {
        assert_eq!(normalize("ko nhận đc mk"), "khong nhan duoc mat khau");
        assert_eq!(normalize("K nhan dc OTP"), "khong nhan duoc otp");
        assert_eq!(
            normalize("quên MK tk dvc"),
            "quen mat khau tai khoan dich vu cong"
        );
        assert_eq!(normalize("đổi sđt"), "doi so dien thoai");
        assert_eq!(normalize("sdt ko nhan tin"), "so dien thoai khong nhan tin");
        assert_eq!(normalize("mất đt"), "mat dien thoai");
        assert_eq!(normalize("hok đăng kí được"), "khong dang ky duoc");
        assert_eq!(normalize("kh vào đc"), "khong vao duoc");
    }

    #[test]
    fn replaces_numbers() {
        assert_eq!(
            normalize("cccd 001203004567 da co tk"),
            "cccd <id> da co tai khoan"
        );
        assert_eq!(normalize("cmnd 123456789"), "cmnd <id>");
        assert_eq!(
            normalize("sdt 0912 345 678 ko nhan otp"),
            "so dien thoai <phone> khong nhan otp"
        );
        assert_eq!(normalize("so +84 912.345.678"), "so <phone>");
        assert_eq!(normalize("ma 123456 sai"), "ma <code> sai");
        assert_eq!(normalize("file 5mb"), "file 5 mb");
        assert_eq!(normalize("goi 18001096"), "goi 18001096");
    }

    #[test]
    fn parses_dictionary() {
        let (pairs, errors) =
            parse_abbreviations("# c\nko = không\n\nbad line\nmk=mật khẩu # domain\n");
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            errors,
            vec![(4, "expected `abbreviation = expansion`".to_string())]
        );
    }
}
