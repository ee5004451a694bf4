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
];

fn vars() -> AnswerVars {
    AnswerVars {
        public_url: "https://motcua.example.vn/".into(),
        office_phone: "0221 3829883".into(),
        office_email: "motcuahy@example.vn".into(),
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
    for id in CONTRACT_IDS {
        let n = cases
            .iter()
            .filter(|c| c.intent.as_deref() == Some(*id))
            .count();
        assert!(n >= 10, "{id}: only {n} eval questions");
    }
    // The eval set must not copy the knowledge base's phrasings.
    let fold_q = |s: &str| fold(s);
    let mut known = std::collections::HashSet::new();
    for e in kb.entries() {
        known.extend(e.examples.iter().chain(&e.examples_en).map(|x| fold_q(x)));
    }
    known.extend(kb.out_of_scope().iter().map(|x| fold_q(x)));
    let copies: Vec<&str> = cases
        .iter()
        .filter(|c| !fold_q(&c.q).is_empty() && known.contains(&fold_q(&c.q)))
        .map(|c| c.q.as_str())
        .collect();
    assert!(
        copies.is_empty(),
        "eval questions copied from faq/: {copies:?}"
    );

    let s = evaluate(&m, &cases);
    assert!(
        s.in_scope_accuracy() >= 0.95 && s.abstention_rate() >= 0.90,
        "in-scope {:.3}, out-of-scope abstention {:.3}; confusions: {:#?}",
        s.in_scope_accuracy(),
        s.abstention_rate(),
        s.confusions
    );
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
    for name in ["faq-eval.jsonl", "faq-dev.jsonl", "faq-holdout.jsonl"] {
        let path = format!("{}/faq/eval/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("read");
        let mut out = Vec::new();
        run_eval(&kb, &m, Cursor::new(text), &mut out).expect("eval");
        println!("== {name}\n{}", String::from_utf8_lossy(&out));
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
    let base = Params::default();
    for (unknown, w_bigram, w_char, alpha) in [
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
            for mg in [0.0, 0.02, 0.04, 0.06] {
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
    let s = evaluate(&m, &read_cases("faq-holdout.jsonl"));
    assert!(
        s.in_scope_accuracy() >= 0.95 && s.abstention_rate() >= 0.90,
        "in-scope {:.3}, out-of-scope abstention {:.3}; confusions: {:#?}",
        s.in_scope_accuracy(),
        s.abstention_rate(),
        s.confusions
    );
}
