use std::sync::Arc;

use crate::org::UnitTree;

use super::Input;
use super::texts::{command, truncate, typed_rating};
use super::units::{default_unit, locality, named_unit};

#[test]
fn commands_and_ratings_are_recognised() {
    assert_eq!(command("/start"), Some(Input::Start));
    assert_eq!(command("/start@MotCuaBot"), Some(Input::Start));
    assert_eq!(command("/nguoi"), Some(Input::Handoff));
    assert_eq!(command("/HELP"), Some(Input::Help));
    assert_eq!(command("xin chào"), None);
    assert_eq!(typed_rating("5"), Some(5));
    assert_eq!(typed_rating(" 4 sao"), Some(4));
    assert_eq!(typed_rating("3/5"), Some(3));
    assert_eq!(typed_rating("6"), None);
    assert_eq!(typed_rating("quên mật khẩu"), None);
}

#[test]
fn truncation_marks_the_cut() {
    assert_eq!(truncate("abc", 5), "abc");
    assert_eq!(truncate("abcdef", 4), "abc…");
    assert_eq!(truncate("mật khẩu", 4).chars().count(), 4);
}

fn unit(id: u64, name: &str, parent: Option<u64>) -> crate::store::units::Unit {
    crate::store::units::Unit {
        id,
        code: format!("C{id}"),
        name: name.into(),
        parent,
        created_at: 0,
    }
}

#[test]
fn requests_go_to_the_named_place_or_the_province_centre() {
    let tree = Arc::new(UnitTree::new(vec![
        unit(1, "UBND tỉnh Hưng Yên", None),
        unit(
            2,
            "Trung tâm Phục vụ hành chính công và Kiểm soát thủ tục hành chính tỉnh Hưng Yên",
            Some(1),
        ),
        unit(3, "UBND huyện Văn Lâm", Some(1)),
        unit(4, "Bộ phận một cửa UBND huyện Văn Lâm", Some(3)),
        unit(5, "UBND xã Lạc Đạo", Some(3)),
        unit(6, "Bộ phận một cửa UBND xã Lạc Đạo", Some(5)),
    ]));
    assert_eq!(default_unit(&tree), Some(2));
    assert_eq!(
        named_unit(&tree, "tôi ở xã Lạc Đạo, không nhận được OTP"),
        Some(6)
    );
    assert_eq!(named_unit(&tree, "em o huyen van lam a"), Some(4));
    assert_eq!(named_unit(&tree, "quên mật khẩu"), None);
    assert_eq!(
        locality("Bộ phận một cửa UBND xã Lạc Đạo").as_deref(),
        Some("lac dao")
    );
}
