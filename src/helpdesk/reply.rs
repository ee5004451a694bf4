//! Turning a ranking into what the citizen sees: the answer in the
//! question's language with follow-up buttons, or the "not sure" reply with
//! the closest topics and an offer to talk to a person.

use serde::Serialize;

use super::kb::{Entry, KnowledgeBase};
use super::matcher::{Lang, Matcher};
use super::safety::{looks_sensitive, strip_secrets};
use super::tree::{HANDOFF, Target, parse_step_id};

/// A button under a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// An intent id, a tree step id (`tree:<tree>:<step>`) or `handoff`.
    pub id: String,
    /// The button text, in the reply's language.
    pub label: String,
}

/// What the bot answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// The message (plain text with `**bold**` for button names).
    pub text: String,
    /// The recognised intent; `None` for the "not sure" reply.
    pub intent: Option<String>,
    /// Buttons to show.
    pub suggestions: Vec<Suggestion>,
    /// True when the reply offers to talk to a person (a `handoff` button).
    pub handoff_offered: bool,
    /// True when the question looked like it contained a password or a
    /// one-time code: the text starts with a warning, and the caller must
    /// not store the question.
    #[serde(skip)]
    pub sensitive: bool,
}

/// Intents offered when a question gives nothing to go on.
const POPULAR: &[&str] = &["forgot-password", "otp-not-received", "self-register"];

/// The "talk to a person" button label.
pub fn handoff_label(lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => "Gặp cán bộ hỗ trợ",
        Lang::En => "Talk to a person",
    }
}

/// The warning shown when a message seems to contain a password or an OTP.
pub fn sensitive_warning(lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => {
            "⚠️ Vì an toàn, anh/chị không gửi mật khẩu hay mã OTP cho bất kỳ ai, kể cả cán bộ hỗ trợ và trợ lý này. \
             Tin nhắn vừa rồi sẽ không được lưu lại. Nếu đã lỡ chia sẻ mật khẩu, anh/chị hãy đổi mật khẩu ngay."
        }
        Lang::En => {
            "⚠️ For your safety, never send your password or OTP code to anyone, including support staff and this assistant. \
             Your last message will not be stored. If you have shared your password, change it now."
        }
    }
}

fn thanks_text(lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => "Rất vui được giúp anh/chị. Nếu còn thắc mắc gì, anh/chị cứ nhắn cho tôi nhé.",
        Lang::En => "Glad to help. If you have any other question, just send it.",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SmallTalk {
    Greeting,
    Thanks,
}

/// Recognises a bare greeting or thanks ("chào bạn", "cảm ơn ad nhé",
/// "hello").
fn small_talk(question: &str) -> Option<SmallTalk> {
    const GREETING: &[&str] = &[
        "chao",
        "hello",
        "hi",
        "helo",
        "alo",
        "hey",
        "xin",
        "good",
        "morning",
        "afternoon",
        "evening",
    ];
    const THANKS: &[&str] = &[
        "cam", "on", "thanks", "thank", "you", "tks", "thx", "thanh", "ks",
    ];
    const FILLER: &[&str] = &[
        "ban", "em", "anh", "chi", "a", "oi", "ad", "admin", "shop", "nhe", "nha", "nhieu", "buoi",
        "sang", "chieu", "toi", "moi", "nguoi", "mn", "bot", "there", "so", "much", "very", "ok",
        "oke", "nhe", "rat", "da", "ah",
    ];
    let folded = super::normalize::fold(question);
    let words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() || words.len() > 8 {
        return None;
    }
    let mut kind = None;
    for w in &words {
        if THANKS.contains(w) && *w != "on" && *w != "you" {
            kind = Some(SmallTalk::Thanks);
        } else if GREETING.contains(w) {
            if kind.is_none() && *w != "xin" {
                kind = Some(SmallTalk::Greeting);
            }
        } else if !FILLER.contains(w) && !THANKS.contains(w) {
            return None;
        }
    }
    kind
}

fn not_sure_text(lang: Lang, has_topics: bool) -> &'static str {
    match (lang, has_topics) {
        (Lang::Vi, true) => {
            "Xin lỗi, tôi chưa chắc đã hiểu đúng câu hỏi của anh/chị. Anh/chị muốn hỏi về một trong các chủ đề dưới đây phải không? \
             Nếu không phải, anh/chị bấm **Gặp cán bộ hỗ trợ** để được cán bộ trả lời trực tiếp."
        }
        (Lang::Vi, false) => {
            "Xin chào, tôi là trợ lý hỗ trợ tài khoản Cổng Dịch vụ công. Anh/chị cần giúp gì? \
             Anh/chị có thể chọn một chủ đề dưới đây hoặc bấm **Gặp cán bộ hỗ trợ**."
        }
        (Lang::En, true) => {
            "Sorry, I'm not sure I understood your question. Is it about one of the topics below? \
             If not, tap **Talk to a person** and a staff member will answer you."
        }
        (Lang::En, false) => {
            "Hello, I am the assistant for National Public Service Portal accounts. How can I help? \
             Pick a topic below or tap **Talk to a person**."
        }
    }
}

fn title(e: &Entry, lang: Lang) -> &str {
    match lang {
        Lang::Vi => &e.title_vi,
        Lang::En => &e.title_en,
    }
}

fn handoff(lang: Lang) -> Suggestion {
    Suggestion {
        id: HANDOFF.to_string(),
        label: handoff_label(lang).to_string(),
    }
}

/// The answer of an intent as a reply: the text in `lang`, a button to
/// start its troubleshooting tree (if it has one), then its follow-ups.
pub fn answer(kb: &KnowledgeBase, intent: &str, lang: Lang) -> Option<Reply> {
    let e = kb.entry(intent)?;
    let mut suggestions = Vec::new();
    if let Some(t) = kb.tree_for_intent(&e.id) {
        let label = match lang {
            Lang::Vi => &t.label_vi,
            Lang::En => &t.label_en,
        };
        suggestions.push(Suggestion {
            id: t.step_id(&t.start),
            label: label.clone(),
        });
    }
    for s in &e.suggest {
        if let Some(f) = kb.entry(s) {
            suggestions.push(Suggestion {
                id: f.id.clone(),
                label: title(f, lang).to_string(),
            });
        }
    }
    let handoff_offered = e.id == "support-contact";
    if handoff_offered {
        suggestions.push(handoff(lang));
    }
    let text = match lang {
        Lang::Vi => e.answer_vi.clone(),
        Lang::En => e.answer_en.clone(),
    };
    Some(Reply {
        text,
        intent: Some(e.id.clone()),
        suggestions,
        handoff_offered,
        sensitive: false,
    })
}

/// The "not sure" reply: up to three close topics and a person.
pub fn not_sure(kb: &KnowledgeBase, closest: &[&str], lang: Lang) -> Reply {
    let mut suggestions: Vec<Suggestion> = closest
        .iter()
        .filter_map(|id| kb.entry(id))
        .take(3)
        .map(|e| Suggestion {
            id: e.id.clone(),
            label: title(e, lang).to_string(),
        })
        .collect();
    let has_topics = !suggestions.is_empty();
    suggestions.push(handoff(lang));
    Reply {
        text: not_sure_text(lang, has_topics).to_string(),
        intent: None,
        suggestions,
        handoff_offered: true,
        sensitive: false,
    }
}

/// Answers a question: the matched intent's answer in the question's
/// language, or the "not sure" reply. When the question looks like it
/// contains a password or OTP, the reply starts with a warning and
/// `sensitive` is set (do not store the question).
pub fn reply(kb: &KnowledgeBase, m: &Matcher, question: &str) -> Reply {
    let sensitive = looks_sensitive(question);
    let r = if sensitive {
        m.rank(&strip_secrets(question))
    } else {
        m.rank(question)
    };
    let mut out = match r.intent.as_deref().and_then(|i| answer(kb, i, r.lang)) {
        Some(a) => a,
        None => {
            let talk = small_talk(question);
            let closest: Vec<&str> = if r.score > 0.0 && talk.is_none() {
                r.top
                    .iter()
                    .filter(|(_, s)| *s > 0.0)
                    .map(|(i, _)| i.as_str())
                    .collect()
            } else {
                POPULAR.to_vec()
            };
            let mut ns = not_sure(kb, &closest, r.lang);
            if talk == Some(SmallTalk::Thanks) {
                ns.text = thanks_text(r.lang).to_string();
            } else if talk == Some(SmallTalk::Greeting)
                || (r.score <= 0.0 && !looks_sensitive(question))
            {
                // A greeting, or nothing to go on (an empty message): welcome.
                ns.text = not_sure_text(r.lang, false).to_string();
            }
            ns
        }
    };
    if sensitive {
        out.text = format!("{}\n\n{}", sensitive_warning(r.lang), out.text);
        out.sensitive = true;
    }
    out
}

/// One step of a troubleshooting tree (`tree:<tree>:<step>`, or
/// `tree:<tree>` for its first step): the step's text and its buttons.
pub fn tree_step(kb: &KnowledgeBase, step_id: &str, lang: Lang) -> Option<Reply> {
    let (tree_id, step) = parse_step_id(step_id)?;
    let tree = kb.tree(tree_id)?;
    let step = tree.step(step.unwrap_or(&tree.start))?;
    let mut handoff_offered = false;
    let suggestions = step
        .buttons
        .iter()
        .filter_map(|b| {
            let label = match lang {
                Lang::Vi => b.label_vi.clone(),
                Lang::En => b.label_en.clone(),
            };
            let id = match &b.target {
                Target::Step(s) => tree.step_id(s),
                Target::Handoff => {
                    handoff_offered = true;
                    HANDOFF.to_string()
                }
                Target::Intent(i) => kb.entry(i)?.id.clone(),
            };
            Some(Suggestion { id, label })
        })
        .collect();
    let text = match lang {
        Lang::Vi => step.text_vi.clone(),
        Lang::En => step.text_en.clone(),
    };
    Some(Reply {
        text,
        intent: Some(tree.intent.clone()),
        suggestions,
        handoff_offered,
        sensitive: false,
    })
}

/// What pressing a button means: an intent id gives its answer, a tree id
/// gives the step. `None` for `handoff` (the caller opens a ticket) and for
/// unknown ids.
pub fn select(kb: &KnowledgeBase, suggestion_id: &str, lang: Lang) -> Option<Reply> {
    if suggestion_id == HANDOFF {
        return None;
    }
    if parse_step_id(suggestion_id).is_some() {
        return tree_step(kb, suggestion_id, lang);
    }
    answer(kb, suggestion_id, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_talk_is_recognised() {
        assert_eq!(small_talk("Chào bạn"), Some(SmallTalk::Greeting));
        assert_eq!(small_talk("xin chào ad ạ"), Some(SmallTalk::Greeting));
        assert_eq!(small_talk("hello"), Some(SmallTalk::Greeting));
        assert_eq!(small_talk("cảm ơn bạn nhiều nhé"), Some(SmallTalk::Thanks));
        assert_eq!(small_talk("ok thanks"), Some(SmallTalk::Thanks));
        assert_eq!(small_talk("chào bạn, tôi quên mật khẩu"), None);
        assert_eq!(small_talk("giá xăng hôm nay"), None);
        assert_eq!(small_talk(""), None);
    }
}
