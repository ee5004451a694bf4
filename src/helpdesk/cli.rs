//! Helpers behind `motcua faq match` and `motcua faq eval`, and grouping of
//! unanswered questions for the staff console.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};

use super::kb::KnowledgeBase;
use super::matcher::{Lang, Matcher};

#[derive(Serialize)]
struct MatchLine<'a> {
    q: &'a str,
    intent: Option<&'a str>,
    score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<&'a str>,
}

fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

/// Reads lines with invalid UTF-8 replaced, without the line ending.
fn for_each_line(
    mut input: impl BufRead,
    mut f: impl FnMut(usize, &str) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(256);
    let mut n = 0;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        n += 1;
        let line = match std::str::from_utf8(&buf) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(&buf),
        };
        f(n, line.trim_end_matches(['\n', '\r']))?;
    }
}

/// `motcua faq match`: one question per input line, one JSON object per
/// output line: `{"q": ..., "intent": <id> or null, "score": <number>}`,
/// plus `"answer"` (in the question's language, or the "not sure" text)
/// when `with_answer`.
pub fn run_match(
    kb: &KnowledgeBase,
    m: &Matcher,
    input: impl BufRead,
    out: impl Write,
    with_answer: bool,
) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    for_each_line(input, |_, q| {
        let (intent, score) = m.intent_index(q);
        let entry = intent.and_then(|i| kb.entries().get(i));
        let reply;
        let answer = if with_answer {
            reply = super::reply::reply(kb, m, q);
            Some(reply.text.as_str())
        } else {
            None
        };
        let line = MatchLine {
            q,
            intent: entry.map(|e| e.id.as_str()),
            score: round4(score),
            answer,
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")
    })?;
    out.flush()
}

/// One line of an evaluation file.
#[derive(Debug, Clone, Deserialize)]
pub struct EvalCase {
    pub q: String,
    pub intent: Option<String>,
}

/// A question answered wrongly.
#[derive(Debug, Clone, PartialEq)]
pub struct Confusion {
    pub q: String,
    pub expected: Option<String>,
    pub got: Option<String>,
    pub score: f32,
}

/// The outcome of `motcua faq eval`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalSummary {
    /// In-scope questions (with an intent).
    pub in_scope: usize,
    /// In-scope questions answered with the right intent.
    pub in_scope_correct: usize,
    /// In-scope questions whose best-ranked intent was right (whether or not
    /// the matcher dared to answer).
    pub in_scope_top1_ranked: usize,
    /// Out-of-scope questions (intent null).
    pub out_of_scope: usize,
    /// Out-of-scope questions the matcher abstained on.
    pub abstained: usize,
    /// Every wrong answer.
    pub confusions: Vec<Confusion>,
}

impl EvalSummary {
    /// In-scope top-1 accuracy (an abstention counts as wrong), 0..=1.
    pub fn in_scope_accuracy(&self) -> f64 {
        ratio(self.in_scope_correct, self.in_scope)
    }
    /// Out-of-scope abstention rate, 0..=1.
    pub fn abstention_rate(&self) -> f64 {
        ratio(self.abstained, self.out_of_scope)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Scores the matcher on cases.
pub fn evaluate<'a>(m: &Matcher, cases: impl IntoIterator<Item = &'a EvalCase>) -> EvalSummary {
    let mut s = EvalSummary::default();
    for c in cases {
        let r = m.rank(&c.q);
        match &c.intent {
            Some(want) => {
                s.in_scope += 1;
                if r.top.first().is_some_and(|(id, _)| id == want) {
                    s.in_scope_top1_ranked += 1;
                }
                if r.intent.as_ref() == Some(want) {
                    s.in_scope_correct += 1;
                    continue;
                }
            }
            None => {
                s.out_of_scope += 1;
                if r.intent.is_none() {
                    s.abstained += 1;
                    continue;
                }
            }
        }
        let got = r
            .intent
            .clone()
            .or_else(|| r.top.first().map(|(id, _)| format!("(abstain; best {id})")));
        s.confusions.push(Confusion {
            q: c.q.clone(),
            expected: c.intent.clone(),
            got,
            score: r.score,
        });
    }
    s
}

/// Parses JSON lines `{"q": ..., "intent": <id> or null}`; blank lines and
/// lines starting with `//` are skipped.
pub fn parse_eval(input: impl BufRead) -> io::Result<Vec<EvalCase>> {
    let mut cases = Vec::new();
    for_each_line(input, |n, line| {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            return Ok(());
        }
        let c: EvalCase = serde_json::from_str(t)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("line {n}: {e}")))?;
        cases.push(c);
        Ok(())
    })?;
    Ok(cases)
}

/// `motcua faq eval FILE`: scores the matcher and prints in-scope top-1
/// accuracy, out-of-scope abstention, per-intent results and the
/// confusions.
pub fn run_eval(
    kb: &KnowledgeBase,
    m: &Matcher,
    input: impl BufRead,
    out: impl Write,
) -> io::Result<EvalSummary> {
    let cases = parse_eval(input)?;
    let mut out = io::BufWriter::new(out);
    for c in &cases {
        if let Some(i) = &c.intent
            && kb.entry(i).is_none()
        {
            writeln!(out, "warning: unknown intent `{i}` for {:?}", c.q)?;
        }
    }
    let s = evaluate(m, &cases);
    writeln!(
        out,
        "in-scope top-1 accuracy: {}/{} = {:.1}%  (best-ranked right, answered or not: {:.1}%)",
        s.in_scope_correct,
        s.in_scope,
        100.0 * s.in_scope_accuracy(),
        100.0 * ratio(s.in_scope_top1_ranked, s.in_scope)
    )?;
    writeln!(
        out,
        "out-of-scope abstention: {}/{} = {:.1}%",
        s.abstained,
        s.out_of_scope,
        100.0 * s.abstention_rate()
    )?;
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for c in &cases {
        if let Some(i) = &c.intent {
            per.entry(i.as_str()).or_default().0 += 1;
        }
    }
    for c in &s.confusions {
        if let Some(i) = &c.expected {
            per.entry(i.as_str()).or_default().1 += 1;
        }
    }
    writeln!(out, "per intent (questions, wrong):")?;
    for (id, (n, wrong)) in &per {
        writeln!(out, "  {id:<28} {n:>4} {wrong:>4}")?;
    }
    writeln!(out, "confusions: {}", s.confusions.len())?;
    for c in &s.confusions {
        writeln!(
            out,
            "  expected {:<26} got {:<40} score {:.3}  {}",
            c.expected.as_deref().unwrap_or("null"),
            c.got.as_deref().unwrap_or("null"),
            c.score,
            serde_json::to_string(&c.q).unwrap_or_default()
        )?;
    }
    out.flush()?;
    Ok(s)
}

/// Unanswered questions that read alike.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionGroup {
    /// The first question of the group.
    pub representative: String,
    /// How many questions the group has.
    pub count: usize,
    /// Up to five distinct questions of the group.
    pub examples: Vec<String>,
    /// The closest known intent, for the admin's orientation.
    pub closest_intent: Option<String>,
}

/// Groups questions by similarity (word overlap weighted like the
/// matcher), biggest groups first. Feed it redacted questions.
pub fn group_questions<S: AsRef<str>>(
    m: &Matcher,
    questions: &[S],
    min_similarity: f32,
) -> Vec<QuestionGroup> {
    let mut groups: Vec<(QuestionGroup, Vec<(u64, f32)>)> = Vec::new();
    for q in questions {
        let q = q.as_ref().trim();
        if q.is_empty() {
            continue;
        }
        let bag = m.bag(q);
        let best = groups
            .iter_mut()
            .map(|(g, b)| (Matcher::cosine(&bag, b), g))
            .filter(|(s, _)| *s >= min_similarity)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            Some((_, g)) => {
                g.count += 1;
                if g.examples.len() < 5 && !g.examples.iter().any(|e| e == q) {
                    g.examples.push(q.to_string());
                }
            }
            None => {
                let closest = m.rank(q).top.first().map(|(id, _)| id.clone());
                groups.push((
                    QuestionGroup {
                        representative: q.to_string(),
                        count: 1,
                        examples: vec![q.to_string()],
                        closest_intent: closest,
                    },
                    bag,
                ));
            }
        }
    }
    let mut out: Vec<QuestionGroup> = groups.into_iter().map(|(g, _)| g).collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.count));
    out
}

/// The reply language for an interface that knows it (e.g. the widget's
/// page language): `"en"` → English, anything else Vietnamese.
pub fn lang_from_code(code: &str) -> Lang {
    if code.trim().to_ascii_lowercase().starts_with("en") {
        Lang::En
    } else {
        Lang::Vi
    }
}
