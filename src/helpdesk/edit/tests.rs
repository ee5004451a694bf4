use std::collections::{BTreeMap, HashSet};

use crate::helpdesk::cli::EvalCase;
use crate::helpdesk::kb::{AnswerVars, KnowledgeBase, embedded_text};
use crate::helpdesk::matcher::Matcher;

use super::eval::{cases_for, embedded_eval_cases, judge};
use super::export::export;
use super::questions::{Question, group_unanswered, merge_same};
use super::render::{doc_of, raw_vars};
use super::validate::{check_id, clean_list, validate};
use super::{IntentDoc, MIN_ABSTAIN, MIN_IN_SCOPE, Overlay, TreeDoc, build};

use crate::helpdesk::evaluate;

#[allow(clippy::needless_update)]
fn vars() -> AnswerVars {
    AnswerVars {
        public_url: "https://dvc.example.vn".into(),
        office_phone: "0221 3829883".into(),
        office_email: String::new(),
        ..AnswerVars::default()
    }
}

fn ids(kb: &KnowledgeBase) -> HashSet<String> {
    kb.entries().iter().map(|e| e.id.clone()).collect()
}

fn new_doc(id: &str) -> IntentDoc {
    IntentDoc {
        id: id.into(),
        title: "Đăng nhập bằng VNeID".into(),
        title_en: "Sign in with VNeID".into(),
        answer_vi: "Mở ứng dụng **VNeID** rồi quét mã. Xem {public_url}/dang-nhap".into(),
        answer_en: "Open the **VNeID** app and scan the code.".into(),
        examples: vec![
            "đăng nhập bằng vneid".into(),
            "dang nhap vneid the nao".into(),
            "tài khoản định danh điện tử đăng nhập cổng dịch vụ công".into(),
            "quet ma vneid".into(),
        ],
        examples_en: vec!["how do I sign in with VNeID".into()],
        suggest: vec!["forgot-password".into()],
        tree: None,
    }
}

#[test]
fn an_empty_overlay_is_the_built_in_knowledge_base() {
    let (kb, errors) = build(&vars(), None, &Overlay::default());
    assert!(errors.is_empty(), "{errors:?}");
    let plain = KnowledgeBase::embedded(&vars());
    assert_eq!(kb.entries(), plain.entries());
    assert_eq!(kb.trees(), plain.trees());
    assert_eq!(kb.out_of_scope(), plain.out_of_scope());
}

#[test]
fn every_built_in_intent_survives_the_editor_round_trip() {
    let (raw, _) = KnowledgeBase::load_with(&raw_vars(), None, &[]);
    let mut overlay = Overlay::default();
    for e in raw.entries() {
        let doc = doc_of(&raw, &e.id).unwrap();
        let checked = validate(&doc, &ids(&raw)).unwrap_or_else(|e| panic!("{e:?}"));
        overlay.intents.insert(e.id.clone(), checked);
    }
    // Every intent rewritten from the editor's view: the same bot.
    let (kb, errors) = build(&vars(), None, &overlay);
    assert!(errors.is_empty(), "{errors:?}");
    let plain = KnowledgeBase::embedded(&vars());
    assert_eq!(kb.entries().len(), plain.entries().len());
    for e in plain.entries() {
        assert_eq!(kb.entry(&e.id), Some(e));
    }
    assert_eq!(kb.trees().len(), plain.trees().len());
    for t in plain.trees() {
        assert_eq!(kb.tree(&t.id), Some(t));
    }
    assert!(
        raw.entries()
            .iter()
            .any(|e| e.answer_vi.contains("{public_url}"))
    );
}

#[test]
fn an_overlay_edits_adds_retires_and_learns() {
    let mut o = Overlay::default();
    let (raw, _) = KnowledgeBase::load_with(&raw_vars(), None, &[]);
    let mut fp = doc_of(&raw, "forgot-password").unwrap();
    fp.answer_vi = "Gọi {office_phone} để được cấp lại mật khẩu.".into();
    o.intents.insert(fp.id.clone(), fp);
    o.intents
        .insert("vneid-dang-nhap".into(), new_doc("vneid-dang-nhap"));
    let mut otp = doc_of(&raw, "otp-not-received").unwrap();
    assert!(otp.tree.is_some());
    otp.tree = None;
    o.intents.insert(otp.id.clone(), otp);
    o.retired.insert("business-account".into());
    o.learned
        .insert("captcha".into(), vec!["ma xac thuc mo qua".into()]);
    o.out_of_scope.push("giá vàng hôm nay".into());
    let (kb, errors) = build(&vars(), None, &o);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        kb.entry("forgot-password").unwrap().answer_vi,
        "Gọi 0221 3829883 để được cấp lại mật khẩu."
    );
    let added = kb.entry("vneid-dang-nhap").unwrap();
    assert!(
        added
            .answer_vi
            .ends_with("https://dvc.example.vn/dang-nhap")
    );
    assert!(kb.tree_for_intent("otp-not-received").is_none());
    assert!(kb.entry("business-account").is_none());
    assert!(
        kb.entries()
            .iter()
            .all(|e| !e.suggest.iter().any(|s| s == "business-account"))
    );
    assert!(
        kb.entry("captcha")
            .unwrap()
            .examples
            .contains(&"ma xac thuc mo qua".to_string())
    );
    assert!(kb.out_of_scope().contains(&"giá vàng hôm nay".to_string()));
    // The bot answers the new intent.
    let m = Matcher::new(&kb);
    assert_eq!(
        m.rank("dang nhap bang vneid nhu the nao").intent.as_deref(),
        Some("vneid-dang-nhap")
    );
}

#[test]
fn validation_explains_each_field_in_vietnamese() {
    let (raw, _) = KnowledgeBase::load_with(&raw_vars(), None, &[]);
    let known = ids(&raw);
    assert!(validate(&new_doc("vneid-dang-nhap"), &known).is_ok());
    let mut d = new_doc("Sai Mã");
    d.title = "  ".into();
    d.answer_en = String::new();
    d.answer_vi = "a\n## b".into();
    d.examples.truncate(2);
    d.examples_en.clear();
    d.suggest = vec!["khong-co".into()];
    let e = validate(&d, &known).unwrap_err();
    for f in [
        "id",
        "title",
        "answer_vi",
        "answer_en",
        "examples",
        "suggest",
    ] {
        assert!(e.contains_key(f), "{f}: {e:?}");
    }
    assert!(e["examples"].contains("ít nhất 5"), "{}", e["examples"]);
    assert!(e["id"].contains("chữ thường"), "{}", e["id"]);
    for bad in [
        "ab",
        "-abc",
        "abc-",
        "a--b",
        "1abc",
        "handoff",
        "out-of-scope",
        "dang_nhap",
    ] {
        assert!(check_id(bad).is_err(), "{bad}");
    }
    assert!(check_id("vneid-login").is_ok());
    // Duplicates (also across spellings) count once.
    let mut d = new_doc("abc");
    d.examples = vec!["Một".into(), "một".into(), "một ".into(), "hai".into()];
    // Spellings without marks are examples of their own.
    assert_eq!(clean_list(&["một".into(), "mot".into()]).len(), 2);
    d.examples_en = vec!["one".into()];
    let e = validate(&d, &known).unwrap_err();
    assert!(e["examples"].contains("hiện có 3"), "{}", e["examples"]);
}

#[test]
fn tree_problems_name_the_line() {
    let (raw, _) = KnowledgeBase::load_with(&raw_vars(), None, &[]);
    let known = ids(&raw);
    let mut d = new_doc("vneid-dang-nhap");
    d.tree = Some(TreeDoc {
        label_vi: "Làm từng bước".into(),
        label_en: "Step by step".into(),
        start: "mo-app".into(),
        steps: "## mo-app\nvi: Anh/chị đã cài VNeID chưa?\nen: Is VNeID installed?\n- xong | Rồi | Yes\n- intent:forgot-password | Quên mật khẩu | Forgot password\n- handoff | Gặp cán bộ | Person\n## xong\nvi: Tốt.\nen: Good.\n".into(),
    });
    let ok = validate(&d, &known).unwrap();
    let (kb, errors) = build(
        &vars(),
        None,
        &Overlay {
            intents: BTreeMap::from([(ok.id.clone(), ok)]),
            ..Overlay::default()
        },
    );
    assert!(errors.is_empty(), "{errors:?}");
    let t = kb.tree_for_intent("vneid-dang-nhap").unwrap();
    assert_eq!(t.steps.len(), 2);
    assert_eq!(t.steps[0].buttons.len(), 3);
    let tree = d.tree.as_mut().unwrap();
    tree.steps = "## mo-app\nvi: Cài chưa?\nen: Installed?\n- di-dau | Rồi\n- khong-co | Sai | Wrong\nlung tung\n".into();
    let e = validate(&d, &known).unwrap_err();
    let msg = &e["tree"];
    assert!(msg.contains("Dòng 4: nút phải có dạng"), "{msg}");
    assert!(msg.contains("Dòng 6: mỗi dòng"), "{msg}");
    assert!(msg.contains("nút “Wrong” dẫn tới"), "{msg}");
    d.tree.as_mut().unwrap().start = "khong-co-buoc".into();
    d.tree.as_mut().unwrap().steps = "## mo-app\nvi: a\nen: b\n".into();
    let e = validate(&d, &known).unwrap_err();
    assert!(
        e["tree"].contains("Bước đầu tiên “khong-co-buoc”"),
        "{}",
        e["tree"]
    );
}

#[test]
fn the_gate_refuses_a_change_that_answers_out_of_scope_questions() {
    let (kb, _) = build(&vars(), None, &Overlay::default());
    let cases = embedded_eval_cases();
    assert!(cases.len() >= 300, "{}", cases.len());
    let before = evaluate(&Matcher::new(&kb), &cases_for(&kb, &cases));
    assert!(before.in_scope_accuracy() >= MIN_IN_SCOPE);
    assert!(before.abstention_rate() >= MIN_ABSTAIN);
    // A harmless new intent passes.
    let mut o = Overlay::default();
    o.intents
        .insert("vneid-dang-nhap".into(), new_doc("vneid-dang-nhap"));
    let (kb2, _) = build(&vars(), None, &o);
    let after = evaluate(&Matcher::new(&kb2), &cases_for(&kb2, &cases));
    let v = judge(&before, &after);
    assert!(v.accepted(), "{:?}", v.reasons);
    // A catch-all "other procedures" intent made of out-of-scope
    // questions is refused, with the reason and what it breaks.
    let mut bad = new_doc("thu-tuc-khac");
    bad.examples = cases
        .iter()
        .filter(|c| c.intent.is_none())
        .map(|c| c.q.clone())
        .collect();
    o.intents.insert(bad.id.clone(), bad);
    let (kb3, _) = build(&vars(), None, &o);
    let after = evaluate(&Matcher::new(&kb3), &cases_for(&kb3, &cases));
    let v = judge(&before, &after);
    assert!(!v.accepted());
    assert!(v.abstain < MIN_ABSTAIN, "{}", v.abstain);
    assert!(v.reasons[0].contains("ngoài phạm vi"), "{:?}", v.reasons);
    assert!(v.reasons[0].contains("85,0 %"), "{:?}", v.reasons);
    assert!(
        v.introduced
            .iter()
            .any(|c| c.expected.is_none() && c.got.as_deref() == Some("thu-tuc-khac"))
    );
    // Retiring an intent: its questions are no longer scored.
    let mut r = Overlay::default();
    r.retired.insert("captcha".into());
    let (kb4, _) = build(&vars(), None, &r);
    let c4 = cases_for(&kb4, &cases);
    assert!(c4.iter().all(|c| c.intent.as_deref() != Some("captcha")));
    let n = cases
        .iter()
        .filter(|c| c.intent.as_deref() == Some("captcha"))
        .count();
    assert!(n > 0);
    assert_eq!(c4.len() + n, cases.len());
    let after = evaluate(&Matcher::new(&kb4), &c4);
    assert!(judge(&evaluate(&Matcher::new(&kb), &c4), &after).accepted());
}

#[test]
fn similar_questions_are_grouped_and_identical_ones_merged() {
    let kb = KnowledgeBase::embedded(&vars());
    let m = Matcher::new(&kb);
    let q = |id: u64, text: &str| Question {
        id,
        text: text.into(),
        at: id as i64,
    };
    let list = vec![
        q(1, "đăng nhập bằng VNeID thế nào"),
        q(2, "dang nhap bang vneid the nao"),
        q(3, "đăng nhập bằng vneid thế nào ạ"),
        q(4, "giá vàng hôm nay"),
        q(5, "Đăng nhập bằng VNeID như thế nào"),
        q(6, "   "),
    ];
    let same = merge_same(&m, &list);
    // Case, marks and the polite "ạ" do not make a new question.
    let first = same.iter().find(|s| s.ids.contains(&1)).unwrap();
    assert_eq!(first.count, 3, "{same:?}");
    assert_eq!(first.id, 3, "the newest id represents them");
    let plain = merge_same(&m, &[q(1, "đăng nhập vneid"), q(2, "dang nhap vneid")]);
    assert_eq!(plain[0].text, "đăng nhập vneid", "shown with its marks");
    let groups = group_unanswered(&m, &list, 0.5);
    assert_eq!(groups.len(), 2, "{groups:?}");
    // Rare words shared count more than common ones.
    let tax = vec![
        q(1, "cách nộp thuế đất online"),
        q(2, "nộp thuế đất trên mạng thế nào"),
        q(3, "xin giấy phép lái xe ở đâu"),
    ];
    assert_eq!(group_unanswered(&m, &tax, 0.5).len(), 2);
    assert_eq!(groups[0].count, 4);
    assert_eq!(groups[1].count, 1);
    let all: usize = groups[0].items.iter().map(|s| s.ids.len()).sum();
    assert_eq!(all, 4);
}

#[test]
fn export_writes_what_the_bot_knows() {
    let mut o = Overlay::default();
    o.intents
        .insert("vneid-dang-nhap".into(), new_doc("vneid-dang-nhap"));
    o.retired.insert("business-account".into());
    o.learned
        .insert("captcha".into(), vec!["ma xac thuc mo qua".into()]);
    o.out_of_scope.push("giá vàng # hôm nay".into());
    let cases = vec![EvalCase {
        q: "ma xac thuc mo qua".into(),
        intent: Some("captcha".into()),
    }];
    let files = export(None, &o, &cases);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"vneid-dang-nhap.md"));
    assert!(!names.contains(&"business-account.md"));
    assert!(names.contains(&"troubleshoot/otp-not-received.md"));
    assert!(names.contains(&"eval/office.jsonl"));
    assert!(names.contains(&"abbreviations.txt"));
    // Unchanged built-in files are copied byte for byte.
    let fp = files
        .iter()
        .find(|(n, _)| n == "forgot-password.md")
        .unwrap();
    assert_eq!(Some(fp.1.clone()), embedded_text("forgot-password.md"));
    // Loaded as a faq folder, the export is the same knowledge base.
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (again, errors) = KnowledgeBase::from_files(&vars(), refs);
    assert!(errors.is_empty(), "{errors:?}");
    let (kb, _) = build(&vars(), None, &o);
    // The same entries and trees (the export is in file-name order).
    let sorted = |kb: &KnowledgeBase| {
        let mut e = kb.entries().to_vec();
        e.sort_by(|a, b| a.id.cmp(&b.id));
        let mut t = kb.trees().to_vec();
        t.sort_by(|a, b| a.id.cmp(&b.id));
        (e, t)
    };
    assert_eq!(sorted(&again), sorted(&kb));
    assert!(
        again
            .out_of_scope()
            .contains(&"giá vàng hôm nay".to_string())
    );
}
