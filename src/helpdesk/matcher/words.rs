//! What the matcher knows about words: Vietnamese syllables, Telex
//! leftovers, deleted-letter variants and English text.

use std::collections::HashSet;
use std::hash::Hasher;

use crate::helpdesk::normalize::{Fx, FxBuild, fold};

const ONSETS: &[&str] = &[
    "ngh", "ch", "gh", "gi", "kh", "ng", "nh", "ph", "qu", "th", "tr", "b", "c", "d", "g", "h",
    "k", "l", "m", "n", "p", "r", "s", "t", "v", "x",
];
const CODAS: &[&str] = &["", "c", "ch", "m", "n", "ng", "nh", "p", "t"];

/// True when a folded token is shaped like a Vietnamese syllable (onset,
/// 1–3 vowels, coda). Such a token is a real word the knowledge base does
/// not know, not a typo.
pub(crate) fn is_syllable(t: &str) -> bool {
    if t.len() > 7 || !t.bytes().all(|b| b.is_ascii_lowercase()) {
        return false;
    }
    let rest = ONSETS.iter().find_map(|o| t.strip_prefix(o)).unwrap_or(t);
    let vowels = rest.bytes().take_while(|b| b"aeiouy".contains(b)).count();
    if vowels == 0 || vowels > 3 {
        return false;
    }
    CODAS.contains(&&rest[vowels..])
}

/// Undoes Telex typing (the keys of the Vietnamese keyboard without the
/// keyboard): doubled vowels, `w` marks, `dd`, and a final tone key.
/// `None` when the word has no Telex marks.
pub(super) fn untelex(t: &str) -> Option<String> {
    let mut w = t.to_string();
    let mut changed = false;
    if w.len() > 2 && w.ends_with(['s', 'f', 'r', 'x', 'j']) {
        w.pop();
        changed = true;
    }
    for (from, to) in [
        ("dd", "d"),
        ("uw", "u"),
        ("ow", "o"),
        ("aw", "a"),
        ("aa", "a"),
        ("ee", "e"),
        ("oo", "o"),
    ] {
        if w.contains(from) {
            w = w.replace(from, to);
            changed = true;
        }
    }
    if w.contains('w') {
        w = w.replace('w', "u");
        changed = true;
    }
    changed.then_some(w)
}

/// Common English words (for language detection), whitespace-separated.
pub(super) const ENGLISH_WORDS: &str = "\
    i im my me the a an to is are was were am how what why where when which who can cannot \
    cant do does did didn doesn don not no get got getting receive received account password \
    code forgot forget reset change login log sign register registration phone number help \
    please it this that with for of on at from wrong expired lost new need want call contact \
    support there have has you your we our be been will would should could still yet again \
    already card file upload size business company level verify verification staff unit select \
    choose person hello thanks thank yes and or if but about after before by into up out any \
    some all must doesnt dont didnt isnt arrive arrived message text create make office \
    counter weather today tomorrow tell joke buy price much many long time here so work works \
    working said says invalid incorrect enter entered typed type someone else they their he \
    she his her us just only also too very";

/// The key of a deleted-letter variant: its 64-bit hash (no string kept
/// per variant; ~15,000 variants, so a false match is a ~1e-11 chance).
pub(super) fn delete_key(s: &str) -> u64 {
    let mut h = Fx::default();
    h.write(s.as_bytes());
    h.finish()
}

pub(super) fn looks_english_text(s: &str, english: &HashSet<&str, FxBuild>) -> bool {
    let f = fold(s);
    let words: Vec<&str> = f.split(' ').collect();
    let en = words.iter().filter(|w| english.contains(**w)).count();
    en * 3 >= words.len().max(1)
}
