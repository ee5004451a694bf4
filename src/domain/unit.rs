//! Org unit names and the one-stop eligibility rule of the seed.

use serde::{Deserialize, Serialize};

use super::{Invalid, text};

/// A unit of the province's organisation (a node of the unit tree).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unit {
    pub id: u64,
    /// A stable code from the province's own list (import key).
    pub code: String,
    pub name: String,
    pub parent: Option<u64>,
    pub created_at: i64,
}

/// Phrases that make a unit "one-stop eligible" (seed, problem (1)), in NFC
/// lowercase.
const ONE_STOP_PHRASES: [&str; 2] = ["trung tâm phục vụ hành chính công", "bộ phận một cửa"];

/// Whether a unit with this name may be chosen for staff-assisted account
/// creation: its name contains "Trung tâm phục vụ hành chính công" or
/// "Bộ phận một cửa".
///
/// The comparison ignores letter case (also for "Đ"/"đ" and all-caps names
/// like "BỘ PHẬN MỘT CỬA"), the Unicode form (NFC/NFD), and runs of
/// whitespace. It does NOT ignore diacritics: the seed requires the name to
/// contain that exact text, so "Bo phan mot cua" (no diacritics) or
/// "Bộ phận 1 cửa" do not count — the admin must name the unit correctly,
/// which is exactly the seed's second cause when no unit can be chosen.
pub fn is_one_stop_eligible(name: &str) -> bool {
    let key = text::collapse_whitespace(&text::nfc(&text::nfc(name).to_lowercase()));
    ONE_STOP_PHRASES.iter().any(|phrase| key.contains(phrase))
}

/// Shortest accepted unit name, in characters.
pub const MIN_CHARS: usize = 2;
/// Longest accepted unit name, in characters.
pub const MAX_CHARS: usize = 200;

/// The name of an org unit: NFC, trimmed, single spaces, 2–200 characters,
/// no control or invisible formatting characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitName(String);

impl UnitName {
    /// Parses and normalises a unit name.
    pub fn parse(s: &str) -> Result<UnitName, Invalid> {
        let name = text::collapse_whitespace(&text::nfc(s));
        if name.is_empty() {
            return Err(Invalid::new("Vui lòng nhập tên đơn vị."));
        }
        if let Some(c) = name.chars().find(|c| is_forbidden(*c)) {
            return Err(Invalid::new(format!(
                "Tên đơn vị có ký tự điều khiển hoặc ký tự ẩn không hợp lệ (U+{:04X}).",
                u32::from(c)
            )));
        }
        let count = name.chars().count();
        if count < MIN_CHARS {
            return Err(Invalid::new(format!(
                "Tên đơn vị phải có ít nhất {MIN_CHARS} ký tự."
            )));
        }
        if count > MAX_CHARS {
            return Err(Invalid::new(format!(
                "Tên đơn vị không được dài quá {MAX_CHARS} ký tự."
            )));
        }
        Ok(UnitName(name))
    }

    /// The accent-free lowercase form for search: see [`text::fold`].
    pub fn folded(&self) -> String {
        text::fold(&self.0)
    }

    /// See [`is_one_stop_eligible`].
    pub fn is_one_stop_eligible(&self) -> bool {
        is_one_stop_eligible(&self.0)
    }
}

/// Control characters and invisible formatting characters (zero-width
/// spaces and joiners, bidi controls, BOM, soft hyphen).
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
        )
}

string_newtype!(UnitName, "The name as stored.");

#[cfg(test)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    #[test]
    fn phrases_are_nfc_lowercase() {
        for phrase in ONE_STOP_PHRASES {
            assert_eq!(text::nfc(phrase), phrase);
            assert_eq!(phrase.to_lowercase(), phrase);
        }
    }

    #[test]
    fn eligible_names() {
        for name in [
            "Trung tâm Phục vụ hành chính công tỉnh Hưng Yên",
            "Trung tâm Phục vụ hành chính công và Kiểm soát thủ tục hành chính",
            "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
            "trung tâm phục vụ hành chính công",
            "Bộ phận một cửa",
            "Bộ phận Một cửa cấp huyện",
            "Bộ phận một cửa cấp xã Đông Hòa",
            "BỘ PHẬN MỘT CỬA UBND HUYỆN ĐỨC HÒA",
            "UBND xã Tân Lập - Bộ phận một cửa",
            "Bộ  phận \t một\u{00A0}cửa",
            "  Bộ phận\nmột cửa  ",
            "Sở Tư pháp (Bộ phận một cửa)",
        ] {
            assert!(is_one_stop_eligible(name), "{name:?}");
            let nfd: String = name.nfd().collect();
            assert!(is_one_stop_eligible(&nfd), "NFD {name:?}");
            let upper_nfd: String = name.to_uppercase().nfd().collect();
            assert!(is_one_stop_eligible(&upper_nfd), "upper NFD {name:?}");
        }
    }

    #[test]
    fn not_eligible_names() {
        for name in [
            "",
            "Sở Tư pháp",
            "UBND huyện Văn Lâm",
            "Bo phan mot cua",
            "BO PHAN MOT CUA",
            "Trung tam phuc vu hanh chinh cong",
            "Bộ phận 1 cửa",
            "Bộ phận một",
            "Trung tâm hành chính công",
            "Bộ phậnmột cửa",
            "Bộ phận một cữa",
            "Trung tâm Phục vụ hành chánh công",
            "Văn phòng một cửa",
        ] {
            assert!(!is_one_stop_eligible(name), "{name:?}");
        }
    }

    #[test]
    fn unit_name_parses_and_normalises() {
        let nfd: String = "Bộ phận một cửa xã Tân Lập".nfd().collect();
        let n = UnitName::parse(&format!("  {nfd}  ")).unwrap();
        assert_eq!(n.as_str(), "Bộ phận một cửa xã Tân Lập");
        assert_eq!(n.folded(), "bo phan mot cua xa tan lap");
        assert!(n.is_one_stop_eligible());
        let other = UnitName::parse("Sở   Y tế").unwrap();
        assert_eq!(other.as_str(), "Sở Y tế");
        assert!(!other.is_one_stop_eligible());
        assert!(
            UnitName::parse("Sở\tY\ntế").is_ok(),
            "tabs and newlines are whitespace"
        );
        assert_eq!(UnitName::parse("Sở\tY\ntế").unwrap().as_str(), "Sở Y tế");
        assert!(UnitName::parse("Xã").is_ok());
    }

    #[test]
    fn unit_name_refusals() {
        for input in ["", "   ", "\n\t"] {
            assert_eq!(
                UnitName::parse(input),
                Err(Invalid::new("Vui lòng nhập tên đơn vị."))
            );
        }
        assert_eq!(
            UnitName::parse(" X "),
            Err(Invalid::new("Tên đơn vị phải có ít nhất 2 ký tự."))
        );
        assert!(UnitName::parse(&"Ư".repeat(200)).is_ok());
        assert_eq!(
            UnitName::parse(&"Ư".repeat(201)),
            Err(Invalid::new("Tên đơn vị không được dài quá 200 ký tự."))
        );
        for (input, code) in [
            ("Sở\u{0000}Y tế", "U+0000"),
            ("Sở\u{0007}Y tế", "U+0007"),
            ("Sở\u{007F}Y tế", "U+007F"),
            ("Sở Y\u{200B}tế", "U+200B"),
            ("Sở Y\u{202E}tế", "U+202E"),
            ("\u{FEFF}Sở Y tế", "U+FEFF"),
        ] {
            let err = UnitName::parse(input).unwrap_err();
            assert!(err.0.contains(code), "{input:?}: {err}");
        }
    }

    #[test]
    fn unit_name_serde() {
        let n = UnitName::parse("Trung tâm Phục vụ hành chính công").unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<UnitName>(&json).unwrap(), n);
        assert!(serde_json::from_str::<UnitName>("\"x\"").is_err());
        assert_eq!(n.to_string(), "Trung tâm Phục vụ hành chính công");
        assert_eq!(String::from(n), "Trung tâm Phục vụ hành chính công");
    }
}
