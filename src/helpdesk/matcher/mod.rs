//! The intent matcher.
//!
//! Each question is normalised (see [`super::normalize`]), unknown words are
//! repaired (Telex leftovers like "ddawng", glued words like "matkhau", one
//! typo like "khnog"), then turned into TF-IDF features: word unigrams and
//! word bigrams (character trigrams are supported but off: measured, they
//! add nothing once words are repaired, and cost half the time). IDF is
//! computed over intents, not examples, so a word shared by many intents
//! weighs little. An intent's score is 0.8 × the cosine with its nearest
//! example + 0.2 × the cosine with its centroid; words the knowledge base
//! never saw count in the question's norm, so a question about something
//! else scores low. `out-of-scope.txt` forms one more class: when it wins,
//! or the best score is under the threshold, or the two best intents are
//! too close, the matcher abstains.
//!
//! Everything is precomputed in [`Matcher::new`]; [`Matcher::rank`] does a
//! handful of small allocations and walks compact posting lists.

mod build;
mod words;

pub(crate) use words::is_syllable;

use std::collections::HashSet;
use std::hash::Hasher;

use crate::helpdesk::normalize::{
    CODE_TOKEN, Fx, FxBuild, FxMap, ID_TOKEN, Normalizer, PHONE_TOKEN, fold, fold_marked,
    has_vietnamese_marks,
};

use words::{delete_key, untelex};

/// The language of a question (and of the reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

impl Lang {
    /// `"vi"` or `"en"`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }
}

/// The result of ranking a question.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// The question's language.
    pub lang: Lang,
    /// The closest intents, best first (at most [`TOP_N`]), with scores in 0..=1.
    pub top: Vec<(String, f32)>,
    /// The recognised intent; `None` when the matcher abstains.
    pub intent: Option<String>,
    /// The best intent's score (0 when nothing matched at all).
    pub score: f32,
}

/// How many intents [`Ranking::top`] lists.
pub const TOP_N: usize = 3;

/// Tuning knobs (defaults are the measured best; see the module tests).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub w_unigram: f32,
    pub w_bigram: f32,
    pub w_char: f32,
    /// Weight of the nearest example vs the centroid.
    pub alpha: f32,
    /// Minimum score to answer.
    pub threshold: f32,
    /// Minimum gap between the best and second-best intent.
    pub margin: f32,
    /// Multiplier of the unknown-feature weight (how much words the
    /// knowledge base never saw lower the score).
    pub unknown: f32,
    /// Typo repair on unknown words.
    pub typo: bool,
    /// Character trigrams also in the nearest-example score (else only in
    /// the centroid score: much faster, as their posting lists are long).
    pub char_examples: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            w_unigram: 1.0,
            w_bigram: 0.5,
            w_char: 0.0,
            alpha: 0.8,
            threshold: 0.35,
            margin: 0.01,
            unknown: 1.3,
            typo: true,
            char_examples: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unigram = 0,
    Bigram = 1,
    Char = 2,
}

#[derive(Debug, Clone)]
struct Class {
    id: String,
}

/// Ranks intents for questions. Build once per knowledge base; cheap to
/// share (`Send + Sync`).
#[derive(Debug, Clone)]
pub struct Matcher {
    norm: Normalizer,
    params: Params,
    classes: Vec<Class>,
    /// Number of real intents (classes after them are out-of-scope).
    n_intents: usize,
    /// Feature hash → feature index.
    features: FxMap<u64, u32>,
    /// Query-side weight of each feature (idf × kind weight).
    fweight: Vec<f32>,
    /// Unknown-feature weight per kind.
    unknown_weight: [f32; 3],
    ex_off: Vec<u32>,
    ex_items: Vec<(u32, f32)>,
    ex_class: Vec<u16>,
    /// Examples are stored class after class: class `c`'s are
    /// `class_ex[c]..class_ex[c + 1]`.
    class_ex: Vec<u32>,
    cen_off: Vec<u32>,
    cen_items: Vec<(u16, f32)>,
    /// Known words (after normalisation) with their frequency.
    vocab: FxMap<Box<str>, u32>,
    /// One-deletion variants of known words (by [`delete_key`]) → the most
    /// frequent word (an index into `delete_words`).
    deletes: FxMap<u64, u32>,
    /// The words `deletes` points to, with their frequency.
    delete_words: Vec<(Box<str>, u32)>,
    en_words: HashSet<Box<str>, FxBuild>,
    vi_words: HashSet<Box<str>, FxBuild>,
}

fn hash_feature(kind: Kind, a: &str, b: &str) -> u64 {
    let mut h = Fx::default();
    h.write_u8(kind as u8);
    h.write(a.as_bytes());
    if !b.is_empty() {
        h.write_u8(b' ');
        h.write(b.as_bytes());
    }
    h.finish()
}

fn is_placeholder(t: &str) -> bool {
    t == ID_TOKEN || t == PHONE_TOKEN || t == CODE_TOKEN
}

/// Appends the feature hashes of a token sequence (with their kinds).
fn extract(tokens: &[&str], with_chars: bool, out: &mut Vec<(u64, Kind)>) {
    for (i, t) in tokens.iter().enumerate() {
        out.push((hash_feature(Kind::Unigram, t, ""), Kind::Unigram));
        if let Some(next) = tokens.get(i + 1) {
            out.push((hash_feature(Kind::Bigram, t, next), Kind::Bigram));
        }
        if with_chars && !is_placeholder(t) && t.len() >= 3 && t.is_ascii() {
            let b = t.as_bytes();
            let n = b.len();
            // Trigrams of "^token$".
            for s in 0..n {
                let mut h = Fx::default();
                h.write_u8(Kind::Char as u8);
                if s == 0 {
                    h.write_u8(b'^');
                    h.write(&b[..2]);
                } else if s + 2 <= n {
                    h.write(&b[s - 1..s + 2]);
                } else {
                    continue;
                }
                out.push((h.finish(), Kind::Char));
            }
            let mut h = Fx::default();
            h.write_u8(Kind::Char as u8);
            h.write(&b[n - 2..]);
            h.write_u8(b'$');
            out.push((h.finish(), Kind::Char));
        }
    }
}

impl Matcher {
    /// Changes the abstention rules (for tuning).
    #[doc(hidden)]
    pub fn set_thresholds(&mut self, threshold: f32, margin: f32) {
        self.params.threshold = threshold;
        self.params.margin = margin;
    }

    /// The normaliser (with this knowledge base's abbreviations).
    pub fn normalizer(&self) -> &Normalizer {
        &self.norm
    }

    /// Number of example phrasings indexed.
    pub fn example_count(&self) -> usize {
        self.ex_class.len()
    }

    /// Detects the language of a question: Vietnamese unless it reads as
    /// English (no Vietnamese diacritics and more English than Vietnamese
    /// words).
    pub fn detect_lang(&self, question: &str) -> Lang {
        if has_vietnamese_marks(question) {
            return Lang::Vi;
        }
        self.lang_of_folded(&fold(question))
    }

    fn lang_of_folded(&self, folded: &str) -> Lang {
        let (mut en, mut vi) = (0, 0);
        for t in folded.split(' ') {
            if self.en_words.contains(t) {
                en += 1;
            } else if self.vi_words.contains(t) {
                vi += 1;
            }
        }
        if en > vi { Lang::En } else { Lang::Vi }
    }

    /// Repairs one unknown word: a split into known words ("matkhau") or a
    /// known word one edit away ("khnog" → "khong"). Pushes the result.
    fn repair<'a>(&'a self, t: &'a str, out: &mut Vec<&'a str>) {
        if !self.params.typo || t.len() < 3 || is_placeholder(t) || self.vocab.contains_key(t) {
            out.push(t);
            return;
        }
        if !t.bytes().all(|b| b.is_ascii_lowercase()) {
            out.push(t);
            return;
        }
        // Vietnamese typed with the keyboard in the wrong mode (Telex):
        // "ddawng" → "dang", "nhapj" → "nhap".
        if let Some(plain) = untelex(t)
            && let Some((k, _)) = self.vocab.get_key_value(plain.as_str())
        {
            out.push(k);
            return;
        }
        if t.len() < 4 || is_syllable(t) {
            out.push(t);
            return;
        }
        // Glued words: try two or three known parts.
        if let Some(parts) = self.split_known(t, 3) {
            out.extend(parts);
            return;
        }
        if let Some(&i) = self.deletes.get(&delete_key(t)) {
            out.push(&self.delete_words[i as usize].0);
            return;
        }
        let mut buf = String::with_capacity(t.len());
        let mut best: Option<(&str, u32)> = None;
        for i in 0..t.len() {
            buf.clear();
            buf.push_str(&t[..i]);
            buf.push_str(&t[i + 1..]);
            let cand = self
                .vocab
                .get_key_value(buf.as_str())
                .map(|(k, n)| (&**k, *n))
                .or_else(|| {
                    self.deletes.get(&delete_key(&buf)).map(|&i| {
                        let (w, n) = &self.delete_words[i as usize];
                        (&**w, *n)
                    })
                });
            if let Some((w, n)) = cand
                && w.len() >= 4
                && best.is_none_or(|(_, bn)| n > bn)
            {
                best = Some((w, n));
            }
        }
        match best {
            Some((w, _)) => out.push(w),
            None => out.push(t),
        }
    }

    fn split_known<'a>(&'a self, t: &str, depth: usize) -> Option<Vec<&'a str>> {
        if depth == 0 {
            return None;
        }
        for i in 2..t.len().saturating_sub(1) {
            let (a, b) = t.split_at(i);
            let Some((ka, _)) = self.vocab.get_key_value(a) else {
                continue;
            };
            if let Some((kb, _)) = self.vocab.get_key_value(b) {
                return Some(vec![&**ka, &**kb]);
            }
            if let Some(mut rest) = self.split_known(b, depth - 1) {
                rest.insert(0, &**ka);
                return Some(rest);
            }
        }
        None
    }

    /// Normalised, repaired tokens of a question (for debugging and
    /// grouping).
    pub fn tokens(&self, question: &str) -> Vec<String> {
        let folded = fold(question);
        let mut raw = Vec::new();
        self.norm.tokens(&folded, &mut raw);
        let mut toks = Vec::with_capacity(raw.len());
        for t in raw {
            self.repair(t, &mut toks);
        }
        toks.into_iter().map(str::to_string).collect()
    }

    /// The question's language from its folded text and whether it had
    /// Vietnamese diacritics.
    fn lang(&self, folded: &str, marks: bool) -> Lang {
        if marks {
            Lang::Vi
        } else {
            self.lang_of_folded(folded)
        }
    }

    /// Scores every class into `scratch.scores`; returns the question's
    /// language when `want_lang` (else [`Lang::Vi`], unexamined).
    fn score(&self, question: &str, want_lang: bool, scratch: &mut Scratch) -> Lang {
        let (folded, marks) = fold_marked(question);
        let lang = if want_lang {
            self.lang(&folded, marks)
        } else {
            Lang::Vi
        };
        let mut raw = Vec::with_capacity(16);
        self.norm.tokens(&folded, &mut raw);
        let mut toks = Vec::with_capacity(raw.len() + 4);
        for t in raw {
            // Numbers (ID, phone, codes) say nothing about the intent.
            if !is_placeholder(t) {
                self.repair(t, &mut toks);
            }
        }
        let feats = &mut scratch.feats;
        feats.clear();
        extract(&toks, self.params.w_char > 0.0, feats);
        feats.sort_unstable_by_key(|(h, _)| *h);
        feats.dedup_by_key(|(h, _)| *h);

        let n_classes = self.classes.len();
        scratch.ex_scores.clear();
        scratch.ex_scores.resize(self.ex_class.len(), 0.0);
        scratch.cen_scores.clear();
        scratch.cen_scores.resize(n_classes, 0.0);
        // Plain slices: their lengths stay in registers in the hot loops.
        let ex_scores = scratch.ex_scores.as_mut_slice();
        let cen_scores = scratch.cen_scores.as_mut_slice();
        let mut norm2 = 0f32;
        let mut ex_norm2 = 0f32;
        let char_examples = self.params.char_examples;
        for (h, kind) in feats.iter() {
            let in_examples = char_examples || *kind != Kind::Char;
            match self.features.get(h) {
                Some(&f) => {
                    let f = f as usize;
                    let w = self.fweight[f];
                    norm2 += w * w;
                    if in_examples {
                        ex_norm2 += w * w;
                        let (a, b) = (self.ex_off[f] as usize, self.ex_off[f + 1] as usize);
                        for &(e, v) in &self.ex_items[a..b] {
                            ex_scores[e as usize] += w * v;
                        }
                    }
                    let (a, b) = (self.cen_off[f] as usize, self.cen_off[f + 1] as usize);
                    for &(c, v) in &self.cen_items[a..b] {
                        cen_scores[c as usize] += w * v;
                    }
                }
                None => {
                    let w = self.unknown_weight[*kind as usize];
                    norm2 += w * w;
                    if in_examples {
                        ex_norm2 += w * w;
                    }
                }
            }
        }
        scratch.scores.clear();
        scratch.scores.resize(n_classes, 0.0);
        let scores = scratch.scores.as_mut_slice();
        if norm2 <= 0.0 || ex_norm2 <= 0.0 {
            return lang;
        }
        let inv = 1.0 / norm2.sqrt();
        let ex_inv = 1.0 / ex_norm2.sqrt();
        let alpha = self.params.alpha;
        for (c, score) in scores.iter_mut().enumerate() {
            // The nearest example of the class: a plain maximum over its
            // contiguous range (vectorises; no per-example class lookup).
            let range = self.class_ex[c] as usize..self.class_ex[c + 1] as usize;
            let best_ex = max_or_zero(&ex_scores[range]);
            *score = alpha * best_ex * ex_inv + (1.0 - alpha) * cen_scores[c] * inv;
        }
        lang
    }

    /// Ranks the intents for a question and decides whether to answer.
    pub fn rank(&self, question: &str) -> Ranking {
        with_scratch(|scratch| {
            let lang = self.score(question, true, scratch);
            let scores = &scratch.scores;
            let top = self.top(scores, TOP_N);
            let best = top.first().map_or(0.0, |&c| scores[c]);
            let second = top.get(1).map_or(0.0, |&c| scores[c]);
            let intent = self.decide(scores, top.first().copied(), best, second);
            Ranking {
                lang,
                top: top
                    .iter()
                    .map(|&c| (self.classes[c].id.clone(), scores[c]))
                    .collect(),
                intent: intent.map(|c| self.classes[c].id.clone()),
                score: best,
            }
        })
    }

    /// Like [`Matcher::rank`] without building strings: `(intent index into
    /// the knowledge base's entries or None, score, lang)`.
    pub fn rank_index(&self, question: &str) -> (Option<usize>, f32, Lang) {
        self.index_of(question, true)
    }

    /// Like [`Matcher::rank_index`] without detecting the language (what
    /// `faq match` needs): `(intent index or None, score)`.
    pub fn intent_index(&self, question: &str) -> (Option<usize>, f32) {
        let (i, s, _) = self.index_of(question, false);
        (i, s)
    }

    fn index_of(&self, question: &str, want_lang: bool) -> (Option<usize>, f32, Lang) {
        with_scratch(|scratch| {
            let lang = self.score(question, want_lang, scratch);
            let scores = &scratch.scores;
            // The best two intents in one pass (ties: the earlier intent).
            let (mut first, mut second) = (None::<usize>, None::<usize>);
            for c in 0..self.n_intents {
                if first.is_none_or(|f| scores[c] > scores[f]) {
                    second = first;
                    first = Some(c);
                } else if second.is_none_or(|s| scores[c] > scores[s]) {
                    second = Some(c);
                }
            }
            let best = first.map_or(0.0, |c| scores[c]);
            let second = second.map_or(0.0, |c| scores[c]);
            (self.decide(scores, first, best, second), best, lang)
        })
    }

    /// The `n` best intents, best first (ties: the earlier intent).
    fn top(&self, scores: &[f32], n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.n_intents).collect();
        order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
        order.truncate(n);
        order
    }

    /// Applies the abstention rules to the best intent.
    fn decide(
        &self,
        scores: &[f32],
        first: Option<usize>,
        best: f32,
        second: f32,
    ) -> Option<usize> {
        let oos = scores[self.n_intents..]
            .iter()
            .copied()
            .fold(0.0f32, f32::max);
        let p = &self.params;
        let answer = best >= p.threshold && best - second >= p.margin && best > oos;
        if answer { first } else { None }
    }

    /// The intent ids, in knowledge-base order.
    pub fn intent_ids(&self) -> impl Iterator<Item = &str> {
        self.classes[..self.n_intents].iter().map(|c| c.id.as_str())
    }

    /// Cosine similarity of two questions over word unigrams and bigrams
    /// weighted like the matcher (used to group unanswered questions).
    pub fn similarity(&self, a: &str, b: &str) -> f32 {
        Matcher::cosine(&self.bag(a), &self.bag(b))
    }

    /// Sorted `(feature hash, weight)` of a question's words and word pairs.
    pub(crate) fn bag(&self, q: &str) -> Vec<(u64, f32)> {
        let toks = self.tokens(q);
        let refs: Vec<&str> = toks.iter().map(String::as_str).collect();
        let mut feats = Vec::new();
        extract(&refs, false, &mut feats);
        feats.sort_unstable_by_key(|(h, _)| *h);
        feats.dedup_by_key(|(h, _)| *h);
        feats
            .into_iter()
            .map(|(h, k)| {
                let w = match self.features.get(&h) {
                    Some(&f) => self.fweight[f as usize],
                    None => self.unknown_weight[k as usize],
                };
                (h, w)
            })
            .collect()
    }

    /// Cosine of two sorted bags.
    pub(crate) fn cosine(a: &[(u64, f32)], b: &[(u64, f32)]) -> f32 {
        let (mut i, mut j, mut dot) = (0, 0, 0f32);
        while i < a.len() && j < b.len() {
            match a[i].0.cmp(&b[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += a[i].1 * b[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        let na: f32 = a.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        let nb: f32 = b.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if na > 0.0 && nb > 0.0 {
            dot / (na * nb)
        } else {
            0.0
        }
    }
}

/// The largest value of `xs`, or 0 (scores are never negative). Eight
/// independent lanes so that the compiler can use vector instructions.
fn max_or_zero(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (l, &x) in lanes.iter_mut().zip(chunk) {
            *l = if x > *l { x } else { *l };
        }
    }
    let mut m = 0f32;
    for &x in lanes.iter().chain(rest) {
        if x > m {
            m = x;
        }
    }
    m
}

/// Buffers reused from one question to the next (per thread).
#[derive(Default)]
struct Scratch {
    feats: Vec<(u64, Kind)>,
    ex_scores: Vec<f32>,
    cen_scores: Vec<f32>,
    scores: Vec<f32>,
}

fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
    }
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // Only if `f` itself ranked a question (it does not).
        Err(_) => f(&mut Scratch::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_or_zero_is_the_maximum() {
        for n in 0..40 {
            let xs: Vec<f32> = (0..n).map(|i| ((i * 7919) % 23) as f32 / 7.0).collect();
            let want = xs.iter().copied().fold(0f32, f32::max);
            assert_eq!(max_or_zero(&xs), want, "{n}");
        }
        assert_eq!(max_or_zero(&[0.0; 9]), 0.0);
    }

    #[test]
    fn syllables() {
        for s in [
            "khong", "nghieng", "duoc", "quen", "mat", "khau", "chieu", "a", "uyen", "thuong",
        ] {
            assert!(is_syllable(s), "{s}");
        }
        for s in [
            "khnog", "duco", "matkhau", "pasword", "dangky", "khog", "xyz",
        ] {
            assert!(!is_syllable(s), "{s}");
        }
        assert_eq!(untelex("ddawng").as_deref(), Some("dang"));
        assert_eq!(untelex("dduowcj").as_deref(), Some("duoc"));
        assert_eq!(untelex("khoong").as_deref(), Some("khong"));
        assert_eq!(untelex("nhapj").as_deref(), Some("nhap"));
        assert_eq!(untelex("khong"), None);
    }
}
