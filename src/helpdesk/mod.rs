//! The support bot's brain: a Vietnamese/English FAQ knowledge base
//! (`faq/`), a normaliser for how citizens type, an intent matcher that
//! abstains when unsure, guided troubleshooting trees, and safety helpers.
//!
//! ```no_run
//! use motcua::helpdesk::{AnswerVars, KnowledgeBase, Matcher, reply};
//! let vars = AnswerVars { public_url: "https://motcua.example.vn".into(), ..Default::default() };
//! let kb = KnowledgeBase::embedded(&vars);
//! let m = Matcher::new(&kb);
//! let r = reply(&kb, &m, "ko nhan dc ma otp");
//! assert_eq!(r.intent.as_deref(), Some("otp-not-received"));
//! ```

mod cli;
pub mod edit;
mod kb;
mod matcher;
mod normalize;
mod reply;
mod safety;
mod tree;

#[cfg(test)]
mod tests;

pub use cli::{
    Confusion, EvalCase, EvalSummary, QuestionGroup, evaluate, group_questions, lang_from_code,
    parse_eval, run_eval, run_match,
};
pub use kb::{AnswerVars, Entry, KnowledgeBase, LoadError, PortalSignin, dir_stamp};
#[doc(hidden)]
pub use matcher::Params;
pub use matcher::{Lang, Matcher, Ranking, TOP_N};
pub use normalize::{
    CODE_TOKEN, ID_TOKEN, Normalizer, PHONE_TOKEN, fold, normalize, parse_abbreviations,
};
pub use reply::{
    Reply, Suggestion, answer, handoff_label, not_sure, reply, select, sensitive_warning, tree_step,
};
pub use safety::{looks_sensitive, redact, strip_secrets};
pub use tree::{Button, HANDOFF, Step, Target, Tree};
