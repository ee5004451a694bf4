//! A person's full name (họ và tên).

use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;

use super::{Invalid, text};

/// Shortest accepted name, in characters (after normalisation).
pub const MIN_CHARS: usize = 2;
/// Longest accepted name, in characters (after normalisation).
pub const MAX_CHARS: usize = 100;

/// A full name: NFC-normalised, trimmed, single spaces between words; made of
/// letters (any script, so every Vietnamese letter and tone mark), with an
/// apostrophe or hyphen allowed inside a word (`H'Hen Niê`, `Y-Moan`).
/// The typographic apostrophe `’` is stored as `'`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Parses a full name; NFC and NFD input give the same value.
    pub fn parse(s: &str) -> Result<PersonName, Invalid> {
        let normalised = text::collapse_whitespace(&text::nfc(s)).replace(['’', 'ʼ'], "'");
        if normalised.is_empty() {
            return Err(Invalid::new("Vui lòng nhập họ và tên."));
        }
        for c in normalised.chars() {
            if c.is_numeric() {
                return Err(Invalid::new("Họ và tên không được chứa chữ số."));
            }
            if !(c.is_alphabetic() || is_combining_mark(c) || c == ' ' || c == '\'' || c == '-') {
                let shown = if is_invisible(c) {
                    format!("U+{:04X}", u32::from(c))
                } else {
                    format!("\"{c}\"")
                };
                return Err(Invalid::new(format!(
                    "Họ và tên chỉ gồm chữ cái, dấu cách, dấu nháy (') và dấu gạch nối (-); ký tự {shown} không được dùng."
                )));
            }
        }
        for word in normalised.split(' ') {
            let mut previous_is_letter = false;
            let mut chars = word.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\'' || c == '-' {
                    let next_is_letter = chars.peek().is_some_and(|n| n.is_alphabetic());
                    if !previous_is_letter || !next_is_letter {
                        return Err(Invalid::new(
                            "Dấu nháy (') và dấu gạch nối (-) chỉ được đặt giữa hai chữ cái trong một từ.",
                        ));
                    }
                    previous_is_letter = false;
                } else if is_combining_mark(c) {
                    if !previous_is_letter {
                        return Err(Invalid::new("Họ và tên có dấu thanh đặt sai vị trí."));
                    }
                } else {
                    previous_is_letter = true;
                }
            }
        }
        if !normalised.chars().any(char::is_alphabetic) {
            return Err(Invalid::new("Họ và tên phải có chữ cái."));
        }
        let count = normalised.chars().count();
        if count < MIN_CHARS {
            return Err(Invalid::new(format!(
                "Họ và tên phải có ít nhất {MIN_CHARS} ký tự."
            )));
        }
        if count > MAX_CHARS {
            return Err(Invalid::new(format!(
                "Họ và tên không được dài quá {MAX_CHARS} ký tự."
            )));
        }
        Ok(PersonName(normalised))
    }

    /// The accent-free lowercase form for search: see [`text::fold`].
    pub fn folded(&self) -> String {
        text::fold(&self.0)
    }
}

/// Characters that would not show in a message, so we name them by code.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

string_newtype!(PersonName, "The name as stored (NFC).");

#[cfg(test)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    #[test]
    fn accepts_vietnamese_names() {
        let cases = [
            ("Nguyễn Văn A", "Nguyễn Văn A"),
            ("PHẠM THỊ THÚY HÀ", "PHẠM THỊ THÚY HÀ"),
            ("  Trần   Thị \t Bích  Ngọc ", "Trần Thị Bích Ngọc"),
            ("Đặng Đức Đạt", "Đặng Đức Đạt"),
            ("Ưng Hoàng Phúc", "Ưng Hoàng Phúc"),
            ("Lê Ơn", "Lê Ơn"),
            ("Huỳnh Thị Ngọc Hân", "Huỳnh Thị Ngọc Hân"),
            ("Tôn Nữ Thị Ý", "Tôn Nữ Thị Ý"),
            ("Võ Nguyên Giáp", "Võ Nguyên Giáp"),
            ("H'Hen Niê", "H'Hen Niê"),
            ("H’Hen Niê", "H'Hen Niê"),
            ("Y-Moan Êban", "Y-Moan Êban"),
            ("Ksor H'Bia", "Ksor H'Bia"),
            ("Âu", "Âu"),
            ("Lý Ỷ", "Lý Ỷ"),
            ("ẵ ặ ẳ ẫ ẩ ỡ ợ ở ữ ự ử ỹ ỵ ỷ", "ẵ ặ ẳ ẫ ẩ ỡ ợ ở ữ ự ử ỹ ỵ ỷ"),
            ("O'Neil", "O'Neil"),
            ("Anne-Marie Dupont", "Anne-Marie Dupont"),
            ("Nguyễn\u{00A0}Văn\u{2003}B", "Nguyễn Văn B"),
        ];
        for (input, expected) in cases {
            let n = PersonName::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(n.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn nfd_and_nfc_input_give_the_same_name() {
        for s in [
            "Nguyễn Văn A",
            "Phạm Thị Thúy Hà",
            "Đỗ Quang Đạo",
            "Huỳnh Thị Ngọc Hân",
            "Trương Vĩnh Ký",
            "Bùi Xuân Phái",
        ] {
            let nfd: String = s.nfd().collect();
            assert_ne!(nfd, s, "test input must really differ");
            let from_nfd = PersonName::parse(&nfd).unwrap();
            let from_nfc = PersonName::parse(s).unwrap();
            assert_eq!(from_nfd, from_nfc);
            assert_eq!(from_nfd.as_str(), s);
        }
    }

    #[test]
    fn folded_form() {
        let n = PersonName::parse("Nguyễn  Văn A").unwrap();
        assert_eq!(n.folded(), "nguyen van a");
        assert_eq!(
            PersonName::parse("ĐẶNG Thị Ánh").unwrap().folded(),
            "dang thi anh"
        );
    }

    #[test]
    fn refuses_empty() {
        for input in ["", "   ", "\t\n"] {
            assert_eq!(
                PersonName::parse(input),
                Err(Invalid::new("Vui lòng nhập họ và tên."))
            );
        }
    }

    #[test]
    fn refuses_digits() {
        for input in [
            "Nguyễn Văn 2",
            "Nguyen Van A1",
            "123",
            "Lê ٣",
            "Trần Ⅻ",
            "Lê ½",
        ] {
            assert_eq!(
                PersonName::parse(input),
                Err(Invalid::new("Họ và tên không được chứa chữ số.")),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_symbols() {
        let cases = [
            ("Nguyễn Văn A.", "\".\""),
            ("Nguyễn, Văn A", "\",\""),
            ("Nguyen_Van", "\"_\""),
            ("Lê@Văn", "\"@\""),
            ("Trần (Tí)", "\"(\""),
            ("Trần \"Tèo\"", "\"\"\""),
            ("Lê Văn 😀", "\"😀\""),
            ("Lê\u{200B}Văn", "U+200B"),
            ("Lê\u{FEFF}Văn", "U+FEFF"),
            ("Lê\u{0007}Văn", "U+0007"),
            ("Lê/Văn", "\"/\""),
            ("<script>", "\"<\""),
        ];
        for (input, shown) in cases {
            let err = PersonName::parse(input).unwrap_err();
            assert!(
                err.0.starts_with("Họ và tên chỉ gồm chữ cái"),
                "{input:?}: {err}"
            );
            assert!(
                err.0.contains(&format!("ký tự {shown} không")),
                "{input:?}: {err}"
            );
        }
    }

    #[test]
    fn refuses_misplaced_apostrophes_and_hyphens() {
        for input in [
            "'Hen Niê",
            "H' Hen",
            "Nguyễn -Văn",
            "Văn-",
            "A--B",
            "A'-B",
            "Lê ' Văn",
            "- -",
            "''",
        ] {
            assert_eq!(
                PersonName::parse(input),
                Err(Invalid::new(
                    "Dấu nháy (') và dấu gạch nối (-) chỉ được đặt giữa hai chữ cái trong một từ."
                )),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_stray_combining_marks() {
        for input in ["\u{0301}An", "An \u{0300}"] {
            assert_eq!(
                PersonName::parse(input),
                Err(Invalid::new("Họ và tên có dấu thanh đặt sai vị trí.")),
                "{input:?}"
            );
        }
    }

    #[test]
    fn length_limits() {
        assert_eq!(
            PersonName::parse("A"),
            Err(Invalid::new("Họ và tên phải có ít nhất 2 ký tự."))
        );
        assert_eq!(
            PersonName::parse(" Ý "),
            Err(Invalid::new("Họ và tên phải có ít nhất 2 ký tự."))
        );
        assert!(PersonName::parse("Ân").is_ok());
        // 100 characters of Vietnamese letters (multi-byte) are fine: count chars.
        let hundred = "Ữ".repeat(100);
        assert!(PersonName::parse(&hundred).is_ok());
        let hundred_nfd: String = hundred.nfd().collect();
        assert!(PersonName::parse(&hundred_nfd).is_ok(), "counted after NFC");
        assert_eq!(
            PersonName::parse(&"Ữ".repeat(101)),
            Err(Invalid::new("Họ và tên không được dài quá 100 ký tự."))
        );
        let spaced = format!("{} {}", "a".repeat(50), "b".repeat(50));
        assert!(PersonName::parse(&spaced).is_err(), "101 with the space");
    }

    #[test]
    fn conversions_and_serde() {
        let n = PersonName::parse("  Nguyễn   Văn A ").unwrap();
        assert_eq!(n.to_string(), "Nguyễn Văn A");
        assert_eq!(n.as_ref(), "Nguyễn Văn A");
        assert_eq!("Nguyễn Văn A".parse::<PersonName>(), Ok(n.clone()));
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"Nguyễn Văn A\"");
        assert_eq!(serde_json::from_str::<PersonName>(&json).unwrap(), n);
        assert!(serde_json::from_str::<PersonName>("\"A1\"").is_err());
        assert_eq!(String::from(n), "Nguyễn Văn A");
    }
}
