use super::files::dir_stamp;
use super::parse::substitute;
use super::{AnswerVars, KnowledgeBase, PortalSignin};

fn vars() -> AnswerVars {
    AnswerVars {
        public_url: "https://motcua.example.vn/".into(),
        office_phone: "0221 3829883".into(),
        office_email: "motcua@example.vn".into(),
        ..AnswerVars::default()
    }
}

const GOOD: &str = "---\nid: test-one\ntitle: Thử\ntitle_en: Test\nsuggest:\n- test-two\n- nope\nexamples:\n- câu một\n- \"câu: hai\"\n---\n## vi\nXem {public_url}/dang-nhap\nGọi {office_phone}\n## en\nSee {public_url}/dang-nhap\n";

#[test]
fn parses_an_entry() {
    let two = GOOD
        .replace("test-one", "test-two")
        .replace("- test-two\n", "");
    let (kb, errors) = KnowledgeBase::from_files(
        &vars(),
        [("test-one.md", GOOD), ("test-two.md", two.as_str())],
    );
    let e = kb.entry("test-one").expect("entry");
    assert_eq!(e.title_en, "Test");
    assert_eq!(e.examples, vec!["câu một", "câu: hai"]);
    assert_eq!(
        e.answer_vi,
        "Xem https://motcua.example.vn/dang-nhap\nGọi 0221 3829883"
    );
    assert_eq!(e.suggest, vec!["test-two"]);
    assert_eq!(errors.len(), 2, "{errors:?}"); // `nope` twice (in both files)
    assert!(
        errors[0]
            .to_string()
            .starts_with("test-one.md:0: suggest: unknown intent `nope`"),
        "{}",
        errors[0]
    );
}

#[test]
fn empty_vars_drop_lines() {
    let v = AnswerVars {
        public_url: "http://x".into(),
        ..AnswerVars::default()
    };
    assert_eq!(
        substitute("A\n\nGọi {office_phone}\n\nB {public_url}/a", &v),
        "A\n\nB http://x/a"
    );
}

#[test]
fn signin_markers_pick_the_deployments_lines() {
    let text = "Trang {public_url}:\n{signin:account}tài khoản riêng\n{signin:vneid}VNeID\n{signin:vneid,both}có VNeID\nHết";
    let with = |p| AnswerVars {
        portal_signin: p,
        ..vars()
    };
    assert_eq!(
        substitute(text, &with(PortalSignin::Account)),
        "Trang https://motcua.example.vn:\ntài khoản riêng\nHết"
    );
    assert_eq!(
        substitute(text, &with(PortalSignin::Vneid)),
        "Trang https://motcua.example.vn:\nVNeID\ncó VNeID\nHết"
    );
    assert_eq!(
        substitute(text, &with(PortalSignin::Both)),
        "Trang https://motcua.example.vn:\ncó VNeID\nHết"
    );
    for name in PortalSignin::NAMES {
        assert_eq!(
            PortalSignin::parse(name).map(PortalSignin::name),
            Some(name)
        );
    }
    assert_eq!(PortalSignin::parse("VNeID"), None);
    // A misspelt value is reported with its line (and the line is dropped).
    let entry = "---\nid: x\ntitle: X\ntitle_en: X\nexamples:\n- x\n---\n## vi\nA\n{signin:vnied}B\n## en\nA\n";
    let (kb, errors) = KnowledgeBase::from_files(&vars(), [("x.md", entry)]);
    assert_eq!(kb.entry("x").map(|e| e.answer_vi.as_str()), Some("A"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .to_string()
            .starts_with("x.md:10: `{signin:vnied}`: use account, vneid, both"),
        "{}",
        errors[0]
    );
}

#[test]
fn reports_broken_files_with_lines() {
    let broken = "---\nid: broken\ntitle Thiếu dấu hai chấm\nexamples:\n- a\n---\n## vi\nx\n";
    let unclosed = "---\nid: open\n";
    let no_vi = "---\nid: novi\ntitle: T\ntitle_en: T\nexamples:\n- a\n---\n## en\nx\n";
    let (kb, errors) = KnowledgeBase::from_files(
        &vars(),
        [
            ("broken.md", broken),
            ("open.md", unclosed),
            ("novi.md", no_vi),
            ("ok.md", GOOD),
        ],
    );
    let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("broken.md:3: expected `key: value`")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("open.md:1: front matter is not closed")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("novi.md:7: missing `## vi`")),
        "{msgs:?}"
    );
    assert!(kb.entry("test-one").is_some());
    assert!(kb.entry("novi").is_none());
}

#[test]
fn override_dir_replaces_and_adds() {
    let dir = std::env::temp_dir().join(format!("motcua-faq-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let custom = "---\nid: forgot-password\ntitle: Quên mật khẩu (tỉnh)\ntitle_en: Forgot password\nexamples:\n- quen mat khau\n---\n## vi\nGọi {office_phone}.\n## en\nCall {office_phone}.\n";
    std::fs::write(dir.join("forgot-password.md"), custom).expect("write");
    std::fs::write(
        dir.join("new-topic.md"),
        custom.replace("forgot-password", "new-topic"),
    )
    .expect("write");
    std::fs::write(dir.join("bad.md"), "no front matter").expect("write");
    let stamp1 = dir_stamp(&dir);
    let (kb, errors) = KnowledgeBase::load(&vars(), Some(&dir));
    assert_eq!(
        kb.entry("forgot-password").map(|e| e.title_vi.as_str()),
        Some("Quên mật khẩu (tỉnh)")
    );
    assert!(kb.entry("new-topic").is_some());
    assert!(kb.entry("otp-expired").is_some());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].file.ends_with("bad.md") && errors[0].line == 1,
        "{}",
        errors[0]
    );
    std::fs::write(
        dir.join("bad.md"),
        custom.replace("forgot-password", "fixed"),
    )
    .expect("write");
    assert_ne!(stamp1, dir_stamp(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}
