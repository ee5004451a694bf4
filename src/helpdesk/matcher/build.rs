//! Building a [`Matcher`] from a knowledge base: vocabulary, repairs,
//! features, IDF, examples and centroids, all precomputed.

use std::collections::HashSet;

use crate::helpdesk::kb::KnowledgeBase;
use crate::helpdesk::normalize::{FxBuild, FxMap, Normalizer, fold, has_vietnamese_marks};

use super::words::{ENGLISH_WORDS, delete_key, looks_english_text};
use super::{Class, Kind, Matcher, Params, extract, is_placeholder};

impl Matcher {
    /// Builds the matcher for a knowledge base (its entries, abbreviations
    /// and out-of-scope phrasings).
    pub fn new(kb: &KnowledgeBase) -> Matcher {
        Matcher::with_params(kb, Params::default())
    }

    #[doc(hidden)]
    pub fn with_params(kb: &KnowledgeBase, params: Params) -> Matcher {
        let norm = Normalizer::new(
            kb.abbreviations()
                .iter()
                .chain(kb.synonyms())
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        let mut classes: Vec<Class> = kb
            .entries()
            .iter()
            .map(|e| Class { id: e.id.clone() })
            .collect();
        let n_intents = classes.len();
        // Every phrasing folded first (class, folded text, English?); the
        // tokens below borrow from these and from the dictionary instead of
        // being copied one by one.
        let english: HashSet<&str, FxBuild> = ENGLISH_WORDS.split_whitespace().collect();
        let mut folded: Vec<(usize, String, bool)> = Vec::new();
        for (c, e) in kb.entries().iter().enumerate() {
            folded.extend(e.examples.iter().map(|ex| (c, fold(ex), false)));
            folded.extend(e.examples_en.iter().map(|ex| (c, fold(ex), true)));
        }
        if !kb.out_of_scope().is_empty() {
            classes.push(Class {
                id: "out-of-scope".into(),
            });
            for ex in kb.out_of_scope() {
                let english =
                    !has_vietnamese_marks(ex) && ex.is_ascii() && looks_english_text(ex, &english);
                folded.push((n_intents, fold(ex), english));
            }
        }
        let mut en_words: HashSet<Box<str>, FxBuild> =
            english.iter().map(|&w| Box::from(w)).collect();
        let mut vi_words: HashSet<Box<str>, FxBuild> = HashSet::default();
        // Examples: (class, normalised tokens).
        let mut examples: Vec<(usize, Vec<&str>)> = Vec::with_capacity(folded.len());
        for (class, text, is_en) in &folded {
            let words = if *is_en { &mut en_words } else { &mut vi_words };
            for raw in text
                .split(' ')
                .filter(|t| !t.is_empty() && !t.as_bytes()[0].is_ascii_digit())
            {
                if !words.contains(raw) {
                    words.insert(Box::from(raw));
                }
            }
            let mut tokens = Vec::new();
            norm.tokens(text, &mut tokens);
            tokens.retain(|t| !is_placeholder(t));
            if !tokens.is_empty() {
                examples.push((*class, tokens));
            }
        }
        // Abbreviation keys are Vietnamese chat words; synonym keys written
        // without diacritics are mostly English words.
        for (k, _) in kb.abbreviations() {
            let f = fold(k);
            if !en_words.contains(f.as_str()) {
                vi_words.insert(f.into_boxed_str());
            }
        }
        for (k, _) in kb.synonyms() {
            if k.is_ascii() {
                en_words.extend(fold(k).split(' ').filter(|w| w.len() > 1).map(Box::from));
            }
        }
        let both: Vec<Box<str>> = en_words.intersection(&vi_words).cloned().collect();
        for w in &both {
            en_words.remove(w);
            vi_words.remove(w);
        }

        // Vocabulary for typo repair.
        let mut vocab: FxMap<Box<str>, u32> = FxMap::default();
        for (_, toks) in &examples {
            for &t in toks {
                match vocab.get_mut(t) {
                    Some(n) => *n += 1,
                    None => {
                        vocab.insert(Box::from(t), 1);
                    }
                }
            }
        }
        let mut delete_words: Vec<(Box<str>, u32)> = vocab
            .iter()
            .filter(|(w, _)| w.len() >= 4 && w.is_ascii())
            .map(|(w, n)| (w.clone(), *n))
            .collect();
        // Alphabetical: the same table whatever the map's order.
        delete_words.sort_unstable();
        let mut deletes: FxMap<u64, u32> = FxMap::default();
        let mut d = String::new();
        for (i, (w, n)) in delete_words.iter().enumerate() {
            for cut in 0..w.len() {
                d.clear();
                d.push_str(&w[..cut]);
                d.push_str(&w[cut + 1..]);
                // The more frequent word wins; on a tie the first in
                // alphabetical order.
                let slot = deletes.entry(delete_key(&d)).or_insert(i as u32);
                if delete_words[*slot as usize].1 < *n {
                    *slot = i as u32;
                }
            }
        }

        // Features per example.
        let n_classes = classes.len();
        let mut features: FxMap<u64, u32> = FxMap::default();
        let mut kinds: Vec<Kind> = Vec::new();
        let mut ex_feats: Vec<Vec<u32>> = Vec::with_capacity(examples.len());
        let mut buf = Vec::new();
        for (_, toks) in &examples {
            buf.clear();
            extract(toks, params.w_char > 0.0, &mut buf);
            let mut ids: Vec<u32> = buf
                .iter()
                .map(|(h, k)| {
                    let next = features.len() as u32;
                    let id = *features.entry(*h).or_insert(next);
                    if id == next {
                        kinds.push(*k);
                    }
                    id
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ex_feats.push(ids);
        }
        let n_feat = features.len();
        // Soft class frequency: sum over classes of p_c(f) / max_c p_c(f),
        // where p_c(f) is the share of class c's examples having f.
        let mut class_size = vec![0f32; n_classes];
        for (c, _) in &examples {
            class_size[*c] += 1.0;
        }
        // Examples are grouped by class: count each class's features in
        // one reused table, keeping per feature only the largest share and
        // the sum of shares (no feature × class table: start-up time).
        let mut share_max = vec![0f32; n_feat];
        let mut share_sum = vec![0f32; n_feat];
        let mut count = vec![0u32; n_feat];
        let mut touched: Vec<u32> = Vec::new();
        let mut start = 0;
        while start < examples.len() {
            let c = examples[start].0;
            let end = start
                + examples[start..]
                    .iter()
                    .take_while(|(x, _)| *x == c)
                    .count();
            for ids in &ex_feats[start..end] {
                for &f in ids {
                    if count[f as usize] == 0 {
                        touched.push(f);
                    }
                    count[f as usize] += 1;
                }
            }
            for &f in &touched {
                let f = f as usize;
                let p = count[f] as f32 / class_size[c].max(1.0);
                share_max[f] = share_max[f].max(p);
                share_sum[f] += p;
                count[f] = 0;
            }
            touched.clear();
            start = end;
        }
        let nc = n_classes.max(1) as f32;
        let kind_w = |k: Kind| match k {
            Kind::Unigram => params.w_unigram,
            Kind::Bigram => params.w_bigram,
            Kind::Char => params.w_char,
        };
        let fweight: Vec<f32> = kinds
            .iter()
            .enumerate()
            .map(|(f, k)| {
                let max = share_max[f];
                let df = if max > 0.0 { share_sum[f] / max } else { 1.0 };
                (1.0 + nc / df).ln() * kind_w(*k)
            })
            .collect();
        let unknown_idf = (1.0 + nc / 0.5).ln() * params.unknown;
        let unknown_weight = [
            unknown_idf * params.w_unigram,
            0.5 * unknown_idf * params.w_bigram,
            0.5 * unknown_idf * params.w_char,
        ];

        // Example postings (normalised vectors), laid out per feature in
        // example order, and centroids.
        let in_examples = |f: u32| params.char_examples || kinds[f as usize] != Kind::Char;
        let mut ex_off = vec![0u32; n_feat + 1];
        for ids in &ex_feats {
            for &f in ids.iter().filter(|&&f| in_examples(f)) {
                ex_off[f as usize + 1] += 1;
            }
        }
        for f in 0..n_feat {
            ex_off[f + 1] += ex_off[f];
        }
        let mut fill: Vec<u32> = ex_off[..n_feat].to_vec();
        let mut ex_items = vec![(0u32, 0f32); ex_off[n_feat] as usize];
        // Centroids, class by class in one reused dense row; entries
        // (feature, class, weight) then laid out per feature in class order.
        let mut row = vec![0f32; n_feat];
        let mut cen_entries: Vec<(u32, u16, f32)> = Vec::new();
        for (e, ((c, _), ids)) in examples.iter().zip(&ex_feats).enumerate() {
            let norm2: f32 = ids.iter().map(|&f| fweight[f as usize].powi(2)).sum();
            let inv = if norm2 > 0.0 { 1.0 / norm2.sqrt() } else { 0.0 };
            let ex_norm2: f32 = ids
                .iter()
                .filter(|&&f| in_examples(f))
                .map(|&f| fweight[f as usize].powi(2))
                .sum();
            let ex_inv = if ex_norm2 > 0.0 {
                1.0 / ex_norm2.sqrt()
            } else {
                0.0
            };
            for &f in ids {
                let w = fweight[f as usize];
                if in_examples(f) {
                    let slot = &mut fill[f as usize];
                    ex_items[*slot as usize] = (e as u32, w * ex_inv);
                    *slot += 1;
                }
                if row[f as usize] == 0.0 {
                    touched.push(f);
                }
                row[f as usize] += w * inv;
            }
            // The class's last example: its centroid is complete.
            if examples.get(e + 1).is_none_or(|(next, _)| next != c) {
                touched.sort_unstable();
                touched.dedup();
                let norm2: f32 = touched.iter().map(|&f| row[f as usize].powi(2)).sum();
                let cinv = if norm2 > 0.0 { 1.0 / norm2.sqrt() } else { 0.0 };
                for &f in &touched {
                    let w = row[f as usize];
                    if w > 0.0 {
                        cen_entries.push((f, *c as u16, w * cinv));
                    }
                    row[f as usize] = 0.0;
                }
                touched.clear();
            }
        }
        let mut cen_off = vec![0u32; n_feat + 1];
        for &(f, _, _) in &cen_entries {
            cen_off[f as usize + 1] += 1;
        }
        for f in 0..n_feat {
            cen_off[f + 1] += cen_off[f];
        }
        let mut fill: Vec<u32> = cen_off[..n_feat].to_vec();
        let mut cen_items = vec![(0u16, 0f32); cen_entries.len()];
        for &(f, c, w) in &cen_entries {
            let slot = &mut fill[f as usize];
            cen_items[*slot as usize] = (c, w);
            *slot += 1;
        }
        let ex_class: Vec<u16> = examples.iter().map(|(c, _)| *c as u16).collect();
        // Examples were added class by class.
        debug_assert!(ex_class.windows(2).all(|w| w[0] <= w[1]));
        let class_ex: Vec<u32> = (0..=n_classes)
            .map(|c| ex_class.partition_point(|&x| usize::from(x) < c) as u32)
            .collect();
        Matcher {
            norm,
            params,
            classes,
            n_intents,
            features,
            fweight,
            unknown_weight,
            ex_off,
            ex_items,
            ex_class,
            class_ex,
            cen_off,
            cen_items,
            vocab,
            deletes,
            delete_words,
            en_words,
            vi_words,
        }
    }
}
