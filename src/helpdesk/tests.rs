//! Knowledge-base, accuracy and reply tests.

use std::io::Cursor;

use super::*;

/// The intent ids of `shared/spec/faq-intents.md` (a contract).
const CONTRACT_IDS: &[&str] = &[
    "unit-not-selectable",
    "otp-not-received",
    "sms-password-not-received",
    "forgot-password",
    "self-register",
    "register-at-office",
    "account-exists",
    "password-rules",
    "otp-expired",
    "subscriber-mismatch",
    "lost-phone",
    "id-scan-attachment",
    "staff-permission",
    "verification-levels",
    "business-account",
    "captcha",
    "login-how",
    "support-contact",
    "vneid-login",
    "account-locked",
];

/// The intents added for issue 19 and their own evaluation file.
const NEW_IDS: &[&str] = &["vneid-login", "account-locked"];
const NEW_EVAL: &str = "faq-eval-new.jsonl";
/// Written after the entries were tuned on [`NEW_EVAL`]; never tuned on.
const NEW_HOLDOUT: &str = "faq-holdout-new.jsonl";

fn vars() -> AnswerVars {
    AnswerVars {
        public_url: "https://motcua.example.vn/".into(),
        office_phone: "0221 3829883".into(),
        office_email: "motcuahy@example.vn".into(),
        ..AnswerVars::default()
    }
}

fn setup() -> (KnowledgeBase, Matcher) {
    let (kb, errors) = KnowledgeBase::load(&vars(), None);
    assert!(
        errors.is_empty(),
        "built-in FAQ files have problems: {errors:#?}"
    );
    let m = Matcher::new(&kb);
    (kb, m)
}

/// Asserts the rates of `cases` (named `what` in the message): top-1
/// accuracy on the in-scope ones and abstention on the others, each where
/// a least value is given.
fn assert_rates(
    m: &Matcher,
    cases: &[EvalCase],
    what: &str,
    top1: Option<f64>,
    abstain: Option<f64>,
) {
    let s = evaluate(m, cases);
    let ok = top1.is_none_or(|t| s.in_scope_accuracy() >= t)
        && abstain.is_none_or(|a| s.abstention_rate() >= a);
    assert!(
        ok,
        "{what}: top-1 {:.3}, out-of-scope abstention {:.3}; confusions: {:#?}",
        s.in_scope_accuracy(),
        s.abstention_rate(),
        s.confusions
    );
}

fn read_cases(name: &str) -> Vec<EvalCase> {
    let path = format!("{}/faq/eval/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_eval(Cursor::new(text)).expect("valid eval file")
}

#[test]
fn embedded_kb_is_complete_and_clean() {
    let (kb, _) = setup();
    for id in CONTRACT_IDS {
        let e = kb
            .entry(id)
            .unwrap_or_else(|| panic!("missing intent {id}"));
        let n = e.examples.len() + e.examples_en.len();
        assert!(n >= 25, "{id}: only {n} examples");
        assert!(!e.examples_en.is_empty(), "{id}: no English examples");
        for a in [&e.answer_vi, &e.answer_en, &e.title_vi, &e.title_en] {
            assert!(
                !a.contains('{') && !a.contains('}'),
                "{id}: unsubstituted placeholder in {a}"
            );
            let lower = a.to_lowercase();
            for bad in [
                "cho tôi biết mật khẩu",
                "gửi mật khẩu cho",
                "send me your password",
                "tell me your otp",
            ] {
                assert!(!lower.contains(bad), "{id}: answer asks for a secret");
            }
        }
    }
    assert!(kb.entry("forgot-password").is_some_and(|e| {
        e.answer_vi
            .contains("https://motcua.example.vn/quen-mat-khau")
    }));
    let contact = kb.entry("support-contact").expect("support-contact");
    for s in [
        "18001096",
        "dichvucong@chinhphu.vn",
        "0221 3829883",
        "motcuahy@example.vn",
    ] {
        assert!(
            contact.answer_vi.contains(s) && contact.answer_en.contains(s),
            "support-contact lacks {s}"
        );
    }
    assert_eq!(kb.trees().len(), 3);
    assert!(kb.out_of_scope().len() > 50);
    assert!(Matcher::new(&kb).normalizer().len() > 50);
}

#[test]
fn empty_office_contacts_leave_no_holes() {
    let v = AnswerVars {
        public_url: "http://127.0.0.1:8080".into(),
        ..AnswerVars::default()
    };
    let kb = KnowledgeBase::embedded(&v);
    let contact = kb.entry("support-contact").expect("support-contact");
    assert!(contact.answer_vi.contains("18001096"));
    assert!(!contact.answer_vi.contains("Email: \n") && !contact.answer_vi.contains("{office"));
}

#[test]
fn dev_set_is_answered_right() {
    let (_, m) = setup();
    let cases = read_cases("faq-dev.jsonl");
    assert!(cases.len() >= 28);
    let s = evaluate(&m, &cases);
    assert!(
        s.confusions.is_empty(),
        "faq-dev.jsonl confusions: {:#?}",
        s.confusions
    );
}

#[test]
fn eval_set_meets_targets() {
    let (kb, m) = setup();
    let cases = read_cases("faq-eval.jsonl");
    assert!(cases.len() >= 300);
    let oos = cases.iter().filter(|c| c.intent.is_none()).count();
    assert!(oos >= 40);
    let new_cases = read_cases(NEW_EVAL);
    for id in CONTRACT_IDS {
        let n = cases
            .iter()
            .chain(&new_cases)
            .filter(|c| c.intent.as_deref() == Some(*id))
            .count();
        assert!(n >= 10, "{id}: only {n} eval questions");
    }
    // The eval sets must not copy the knowledge base's phrasings.
    let fold_q = |s: &str| fold(s);
    let mut known = std::collections::HashSet::new();
    for e in kb.entries() {
        known.extend(e.examples.iter().chain(&e.examples_en).map(|x| fold_q(x)));
    }
    known.extend(kb.out_of_scope().iter().map(|x| fold_q(x)));
    let copies: Vec<&str> = cases
        .iter()
        .chain(&new_cases)
        .filter(|c| !fold_q(&c.q).is_empty() && known.contains(&fold_q(&c.q)))
        .map(|c| c.q.as_str())
        .collect();
    assert!(
        copies.is_empty(),
        "eval questions copied from faq/: {copies:?}"
    );

    assert_rates(&m, &cases, "faq-eval.jsonl", Some(0.95), Some(0.90));
}

#[test]
fn new_intents_meet_targets() {
    let (_, m) = setup();
    let cases = read_cases(NEW_EVAL);
    let in_scope: Vec<EvalCase> = cases
        .iter()
        .filter(|c| c.intent.is_some())
        .cloned()
        .collect();
    assert_rates(&m, &in_scope, "new intents", Some(0.95), None);
    for id in NEW_IDS {
        let mine: Vec<EvalCase> = cases
            .iter()
            .filter(|c| c.intent.as_deref() == Some(*id))
            .cloned()
            .collect();
        assert!(mine.len() >= 30, "{id}: only {} eval questions", mine.len());
        assert_rates(&m, &mine, id, Some(0.94), None);
    }
    let near_misses: Vec<EvalCase> = cases.into_iter().filter(|c| c.intent.is_none()).collect();
    assert!(near_misses.len() >= 15);
    assert_rates(&m, &near_misses, "near misses", None, Some(0.70));
    // The set written afterwards: its questions are answered as well; its
    // near misses (other services' locked accounts, the VNeID app itself)
    // are a known weakness, reported rather than asserted.
    let later: Vec<EvalCase> = read_cases(NEW_HOLDOUT)
        .into_iter()
        .filter(|c| c.intent.is_some())
        .collect();
    assert!(later.len() >= 30);
    assert_rates(&m, &later, NEW_HOLDOUT, Some(0.90), None);
}

#[test]
fn vneid_answer_says_how_this_portal_signs_in() {
    let answer = |p: PortalSignin| {
        let v = AnswerVars {
            portal_signin: p,
            ..vars()
        };
        let (kb, errors) = KnowledgeBase::load(&v, None);
        assert!(errors.is_empty(), "{errors:#?}");
        let e = kb.entry("vneid-login").expect("vneid-login").clone();
        (e.answer_vi, e.answer_en)
    };
    let (vi, en) = answer(PortalSignin::Account);
    for text in [&vi, &en] {
        assert!(text.contains("69/2024/NĐ-CP"), "{text}");
        assert!(text.contains("https://motcua.example.vn"), "{text}");
    }
    assert!(
        vi.contains("Tài khoản VNeID không dùng để đăng nhập trang này"),
        "{vi}"
    );
    assert!(en.contains("A VNeID account does not sign in here"), "{en}");
    let (vi, en) = answer(PortalSignin::Vneid);
    assert!(
        vi.contains("Trang này đăng nhập bằng **tài khoản VNeID** như trên."),
        "{vi}"
    );
    assert!(!vi.contains("không dùng để đăng nhập trang này"), "{vi}");
    assert!(en.contains("This site signs in with your **VNeID account** as above."));
    let (vi, _) = answer(PortalSignin::Both);
    assert!(
        vi.contains("hoặc bằng **tài khoản do chính trang này cấp**"),
        "{vi}"
    );
    assert!(!vi.contains("như trên"), "{vi}");
}

#[test]
fn account_locked_answer_states_this_deployments_rules() {
    use crate::auth::throttle::{BASE_WAIT, FORGET_AFTER, FREE_FAILURES, MAX_WAIT};
    let (kb, _) = setup();
    let e = kb.entry("account-locked").expect("account-locked");
    // If the lockout rules change, this answer must change with them.
    assert_eq!(
        (
            FREE_FAILURES,
            BASE_WAIT,
            MAX_WAIT,
            FORGET_AFTER,
            crate::otp::MAX_TRIES
        ),
        (5, 30, 3600, 24 * 3600, 5),
        "update faq/account-locked.md to the new numbers"
    );
    for s in [
        "Sai mật khẩu 5 lần",
        "nhập sai **5 lần**",
        "**30 giây**",
        "lâu nhất **1 giờ**",
        "sau 24 giờ",
        "https://motcua.example.vn/quen-mat-khau",
        "0221 3829883",
    ] {
        assert!(e.answer_vi.contains(s), "account-locked (vi) lacks {s}");
    }
    for s in [
        "**5 wrong passwords**",
        "**5 wrong tries**",
        "**30 seconds**",
        "at most **1 hour**",
        "after 24 hours",
    ] {
        assert!(e.answer_en.contains(s), "account-locked (en) lacks {s}");
    }
}

#[test]
fn fast_paths_agree_with_rank() {
    // `intent_index` (faq match) and `rank_index` pick the best two in one
    // pass; `rank` sorts: the same intent and score for every question.
    let (kb, m) = setup();
    let mut n = 0;
    for name in ["faq-eval.jsonl", "faq-holdout.jsonl", NEW_EVAL] {
        for c in read_cases(name) {
            let r = m.rank(&c.q);
            let id = |i: Option<usize>| i.map(|i| kb.entries()[i].id.clone());
            let (i, score) = m.intent_index(&c.q);
            assert_eq!((id(i), score), (r.intent.clone(), r.score), "{}", c.q);
            let (i, score, lang) = m.rank_index(&c.q);
            assert_eq!((id(i), score, lang), (r.intent, r.score, r.lang), "{}", c.q);
            n += 1;
        }
    }
    assert!(n > 600);
}

#[test]
fn numbers_do_not_disturb_matching() {
    let (_, m) = setup();
    let pairs = [
        ("sdt ko nhan dc otp", "sdt 0912345678 ko nhan dc otp"),
        ("ko nhan dc otp ve so", "ko nhan dc otp ve so 0912 345 678"),
        (
            "so cccd da duoc dang ky",
            "so cccd 001203004567 da duoc dang ky",
        ),
        (
            "toi quen mat khau, cmnd",
            "toi quen mat khau, cmnd 034095001",
        ),
        ("ma otp bao sai", "ma otp 482913 bao sai"),
    ];
    for (plain, with_numbers) in pairs {
        let a = m.rank(plain);
        let b = m.rank(with_numbers);
        assert_eq!(a, b, "{with_numbers}");
        assert!(b.intent.is_some(), "{with_numbers}: {b:?}");
    }
}

#[test]
fn replies_in_the_question_language() {
    let (kb, m) = setup();
    let r = reply(&kb, &m, "I forgot my password");
    assert_eq!(r.intent.as_deref(), Some("forgot-password"));
    assert!(r.text.contains("To reset"), "{}", r.text);
    assert!(
        r.suggestions
            .iter()
            .any(|s| s.id == "password-rules" && s.label == "Password requirements")
    );
    let r = reply(&kb, &m, "quên mật khẩu");
    assert!(r.text.contains("Để đặt lại"), "{}", r.text);
    assert!(!r.handoff_offered);
    let r = reply(&kb, &m, "quen mat khau");
    assert!(r.text.contains("Để đặt lại"), "{}", r.text);
}

#[test]
fn abstains_with_three_topics_and_a_person() {
    let (kb, m) = setup();
    for q in [
        "thủ tục cấp hộ chiếu",
        "giá xăng hôm nay",
        "what's the weather tomorrow",
    ] {
        let r = reply(&kb, &m, q);
        assert_eq!(r.intent, None, "{q}");
        assert!(r.handoff_offered);
        assert_eq!(r.suggestions.last().map(|s| s.id.as_str()), Some(HANDOFF));
        assert!(r.suggestions.len() <= 4);
    }
    let r = reply(&kb, &m, "what's the weather tomorrow");
    assert!(
        r.text.starts_with("Sorry") || r.text.starts_with("Hello"),
        "{}",
        r.text
    );
    let r = reply(&kb, &m, "");
    assert_eq!(r.intent, None);
    assert_eq!(r.suggestions.len(), 4, "{:?}", r.suggestions);
}

#[test]
fn sensitive_messages_get_a_warning() {
    let (kb, m) = setup();
    let r = reply(&kb, &m, "ma otp cua toi la 482913 sao bao sai");
    assert!(r.sensitive);
    assert!(r.text.starts_with("⚠️"), "{}", r.text);
    let r = reply(&kb, &m, "ko nhan dc otp");
    assert!(!r.sensitive);
}

#[test]
fn troubleshooting_trees_work() {
    let (kb, m) = setup();
    for intent in [
        "unit-not-selectable",
        "otp-not-received",
        "sms-password-not-received",
    ] {
        let r = answer(&kb, intent, Lang::Vi).expect("answer");
        let start = r.suggestions.first().expect("tree button");
        assert!(
            start.id.starts_with("tree:"),
            "{intent}: {:?}",
            r.suggestions
        );
        // Walk every reachable step; every button leads somewhere.
        let mut todo = vec![start.id.clone()];
        let mut seen = std::collections::HashSet::new();
        let mut handoff_seen = false;
        while let Some(id) = todo.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            for lang in [Lang::Vi, Lang::En] {
                let step = tree_step(&kb, &id, lang).unwrap_or_else(|| panic!("{id}"));
                assert!(!step.text.is_empty());
                assert_eq!(step.intent.as_deref(), Some(intent));
                for b in &step.suggestions {
                    if b.id == HANDOFF {
                        handoff_seen = true;
                        assert!(step.handoff_offered);
                    } else if b.id.starts_with("tree:") {
                        todo.push(b.id.clone());
                    } else {
                        assert!(select(&kb, &b.id, lang).is_some(), "{id}: {}", b.id);
                    }
                }
            }
        }
        assert!(handoff_seen, "{intent}: the tree never offers a person");
        assert!(seen.len() >= 4, "{intent}: tree too small");
    }
    let r = reply(&kb, &m, "khong nhan duoc ma otp");
    assert_eq!(r.suggestions[0].id, "tree:otp-not-received:check-phone");
    assert_eq!(
        tree_step(&kb, "tree:otp-not-received", Lang::En).map(|r| r.suggestions.len()),
        Some(4)
    );
    assert!(tree_step(&kb, "tree:nope:x", Lang::Vi).is_none());
    assert!(select(&kb, HANDOFF, Lang::Vi).is_none());
}

#[test]
fn run_match_prints_json_lines() {
    let (kb, m) = setup();
    let mut out = Vec::new();
    run_match(
        &kb,
        &m,
        Cursor::new("ko nhan dc otp\ngiá xăng hôm nay\r\n"),
        &mut out,
        false,
    )
    .expect("run");
    let text = String::from_utf8(out).expect("utf8");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["q"], "ko nhan dc otp");
    assert_eq!(lines[0]["intent"], "otp-not-received");
    assert!(lines[0]["score"].as_f64().is_some_and(|s| s > 0.0));
    assert!(lines[0].get("answer").is_none());
    assert!(lines[1]["intent"].is_null());
    let mut out = Vec::new();
    run_match(
        &kb,
        &m,
        Cursor::new("I forgot my password\n"),
        &mut out,
        true,
    )
    .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert!(v["answer"].as_str().is_some_and(|a| a.contains("reset")));
}

#[test]
fn run_eval_prints_summary() {
    let (kb, m) = setup();
    let input = "{\"q\":\"ko nhan dc otp\",\"intent\":\"otp-not-received\"}\n\n{\"q\":\"giá vàng\",\"intent\":null}\n{\"q\":\"quen mk\",\"intent\":\"captcha\"}\n";
    let mut out = Vec::new();
    let s = run_eval(&kb, &m, Cursor::new(input), &mut out).expect("run");
    assert_eq!(
        (s.in_scope, s.in_scope_correct, s.out_of_scope, s.abstained),
        (2, 1, 1, 1)
    );
    let text = String::from_utf8(out).expect("utf8");
    assert!(
        text.contains("in-scope top-1 accuracy: 1/2 = 50.0%"),
        "{text}"
    );
    assert!(
        text.contains("out-of-scope abstention: 1/1 = 100.0%"),
        "{text}"
    );
    assert!(text.contains("expected captcha"), "{text}");
    assert!(run_eval(&kb, &m, Cursor::new("not json\n"), Vec::new()).is_err());
}

#[test]
fn groups_unanswered_questions() {
    let (_, m) = setup();
    let qs = [
        "thủ tục cấp hộ chiếu",
        "thu tuc cap ho chieu cho con",
        "giá xăng hôm nay",
        "cấp hộ chiếu mất bao lâu",
        "gia xang hom nay bao nhieu",
    ];
    let g = group_questions(&m, &qs, 0.4);
    assert_eq!(g.len(), 2, "{g:#?}");
    assert_eq!(g[0].count, 3);
}

#[test]
fn matcher_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Matcher>();
    check::<KnowledgeBase>();
}

/// `cargo test -- --ignored --nocapture print_eval` prints the evaluation.
#[test]
#[ignore]
fn print_eval() {
    let (kb, m) = setup();
    for name in [
        "faq-eval.jsonl",
        "faq-dev.jsonl",
        "faq-holdout.jsonl",
        NEW_EVAL,
        NEW_HOLDOUT,
    ] {
        let path = format!("{}/faq/eval/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("read");
        let mut out = Vec::new();
        run_eval(&kb, &m, Cursor::new(text), &mut out).expect("eval");
        println!("== {name}\n{}", String::from_utf8_lossy(&out));
    }
}

/// `cargo test -- --ignored --nocapture explain_confusions` prints the three
/// best intents of every wrongly answered evaluation question (for tuning
/// the examples; debug builds read `faq/` from disk, so no rebuild is
/// needed between edits).
#[test]
#[ignore]
fn explain_confusions() {
    let (_, m) = setup();
    // FAQ_Q="question one|question two": rank just these.
    if let Ok(qs) = std::env::var("FAQ_Q") {
        for q in qs.split('|') {
            let r = m.rank(q);
            println!("  {q:?} got {:?} top {:?}", r.intent, r.top);
        }
        return;
    }
    for name in [
        "faq-eval.jsonl",
        "faq-dev.jsonl",
        "faq-holdout.jsonl",
        NEW_EVAL,
        NEW_HOLDOUT,
    ] {
        let s = evaluate(&m, &read_cases(name));
        println!("== {name}: {} wrong", s.confusions.len());
        for c in &s.confusions {
            let r = m.rank(&c.q);
            println!(
                "  {:?} want {} got {} top {:?}",
                c.q,
                c.expected.as_deref().unwrap_or("null"),
                r.intent.as_deref().unwrap_or("-"),
                r.top
            );
        }
    }
}

/// `cargo test -- --ignored --nocapture tune` shows how the abstention
/// rules trade accuracy against out-of-scope abstention.
#[test]
#[ignore]
fn tune() {
    let (kb, _) = setup();
    let mut cases = read_cases("faq-eval.jsonl");
    cases.extend(read_cases("faq-dev.jsonl"));
    cases.extend(read_cases("faq-holdout.jsonl"));
    cases.extend(read_cases(NEW_EVAL));
    let base = Params::default();
    for (unknown, w_bigram, w_char, alpha) in [
        (1.3, 0.5, 0.0, 0.8),
        (1.0, 0.5, 0.35, 0.8),
        (1.3, 0.5, 0.35, 0.8),
        (1.6, 0.5, 0.35, 0.8),
        (2.0, 0.5, 0.35, 0.8),
        (1.3, 0.5, 0.35, 0.6),
        (1.3, 0.8, 0.35, 0.8),
    ] {
        let p = Params {
            w_bigram,
            w_char,
            alpha,
            unknown,
            ..base
        };
        let mut m = matcher::Matcher::with_params(&kb, p);
        println!("unknown {unknown} bigram {w_bigram} char {w_char} alpha {alpha}");
        for t in [0.3, 0.35, 0.4, 0.45, 0.5] {
            let mut row = format!("  t {t:.2}:");
            for mg in [0.0, 0.01, 0.02, 0.04] {
                m.set_thresholds(t, mg);
                let s = evaluate(&m, &cases);
                row.push_str(&format!(
                    "  m {mg:.2} {:.3}/{:.3}",
                    s.in_scope_accuracy(),
                    s.abstention_rate()
                ));
            }
            println!("{row}");
        }
    }
}

#[test]
fn detects_the_language() {
    let (_, m) = setup();
    for q in [
        "the attachment is too large",
        "the phone number is in my wife's name",
        "I did not receive the OTP",
        "forgot password",
        "who can I call",
        "what's IAL3",
        "captcha wrong",
    ] {
        assert_eq!(m.detect_lang(q), Lang::En, "{q}");
        assert_eq!(m.rank(q).lang, Lang::En, "{q}");
    }
    for q in [
        "ko nhan dc otp",
        "quen mk",
        "otp",
        "mat khau can nhung gi",
        "tài khoản doanh nghiệp",
        "dang ky tk dich vu cong quoc gia",
        "file cccd qua lon",
        "reset mk",
    ] {
        assert_eq!(m.detect_lang(q), Lang::Vi, "{q}");
    }
}

#[test]
fn holdout_set_meets_targets() {
    // A second set (short questions like faq-dev.jsonl, detail questions
    // and hard out-of-scope ones: other procedures that share words with
    // the catalog).
    let (_, m) = setup();
    let cases = read_cases("faq-holdout.jsonl");
    assert_rates(&m, &cases, "faq-holdout.jsonl", Some(0.95), Some(0.90));
}
