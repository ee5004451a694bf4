//! Unanswered questions: the same question asked again, and groups of
//! similar ones.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::helpdesk::matcher::Matcher;
use crate::helpdesk::normalize::{fold, has_vietnamese_marks};

/// One unanswered question as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: u64,
    pub text: String,
    pub at: i64,
}

/// Identical questions (same normalised words) counted once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SameQuestion {
    /// The newest question's id.
    pub id: u64,
    pub text: String,
    /// Every question's id.
    pub ids: Vec<u64>,
    pub count: usize,
    pub last_at: i64,
}

/// Similar questions, for handling many at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub items: Vec<SameQuestion>,
    /// Questions in the group (with repeats).
    pub count: usize,
    /// The closest intent, as a proposal.
    pub closest: Option<String>,
}

/// The key two questions share when they say the same thing.
pub fn question_key(m: &Matcher, text: &str) -> String {
    let toks = m.tokens(text);
    if toks.is_empty() {
        fold(text)
    } else {
        toks.join(" ")
    }
}

/// Merges identical questions (same normalised words), newest first.
pub fn merge_same(m: &Matcher, questions: &[Question]) -> Vec<SameQuestion> {
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<SameQuestion> = Vec::new();
    let mut sorted: Vec<&Question> = questions.iter().collect();
    sorted.sort_by_key(|q| std::cmp::Reverse((q.at, q.id)));
    for q in sorted {
        let text = q.text.trim();
        if text.is_empty() {
            continue;
        }
        let k = question_key(m, text);
        match by_key.get(&k) {
            Some(&i) => {
                out[i].ids.push(q.id);
                out[i].count += 1;
                // Shown (and learnt) with its diacritics when someone typed them.
                if !has_vietnamese_marks(&out[i].text) && has_vietnamese_marks(text) {
                    out[i].text = text.to_string();
                }
            }
            None => {
                by_key.insert(k, out.len());
                out.push(SameQuestion {
                    id: q.id,
                    text: text.to_string(),
                    ids: vec![q.id],
                    count: 1,
                    last_at: q.at,
                });
            }
        }
    }
    out
}

/// Groups questions whose normalised words overlap with the group's first
/// question: the Jaccard index of the word sets, or the cosine of their
/// words and word pairs weighted like the matcher (rare words count more),
/// at least `min_overlap`. Biggest groups first.
pub fn group_unanswered(m: &Matcher, questions: &[Question], min_overlap: f32) -> Vec<Group> {
    let same = merge_same(m, questions);
    // Each group with its first question's words and weighted bag.
    type Seed = (HashSet<String>, Vec<(u64, f32)>);
    let mut groups: Vec<(Group, Seed)> = Vec::new();
    for s in same {
        let words: HashSet<String> = m.tokens(&s.text).into_iter().collect();
        let bag = m.bag(&s.text);
        let best = groups
            .iter_mut()
            .map(|(g, (w, b))| {
                let inter = w.intersection(&words).count() as f32;
                let union = w.union(&words).count().max(1) as f32;
                ((inter / union).max(Matcher::cosine(&bag, b)), g)
            })
            .filter(|(j, _)| *j >= min_overlap)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, g)) => {
                g.count += s.count;
                g.items.push(s);
            }
            None => {
                let closest = m.rank(&s.text).top.first().map(|(id, _)| id.clone());
                groups.push((
                    Group {
                        count: s.count,
                        items: vec![s],
                        closest,
                    },
                    (words, bag),
                ));
            }
        }
    }
    let mut out: Vec<Group> = groups.into_iter().map(|(g, _)| g).collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.count));
    out
}
