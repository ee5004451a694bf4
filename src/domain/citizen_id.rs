//! Vietnamese citizen ID numbers: the old 9-digit CMND (chứng minh nhân dân)
//! and the 12-digit CCCD (căn cước công dân).
//!
//! A CCCD encodes, in order: the province code of the place of birth
//! registration (3 digits), a sex/century digit, the last two digits of the
//! birth year, and a 6-digit serial.
//!
//! Sex/century digit (Thông tư 07/2016/TT-BCA, 59/2021/TT-BCA): 0/1 → 1900s,
//! 2/3 → 2000s, 4/5 → 2100s, 6/7 → 2200s, 8/9 → 2400s by the regulation;
//! even digits are male, odd digits female. (Some summaries give 8/9 as the
//! 1800s instead; either way no one born from 1900 to today can have them.)
//! Only 0–3 can belong to a person born 1900–2099, the only birth years a
//! [`BirthDate`] accepts, so [`CitizenId::parse`] refuses 4–9 as an
//! impossible century and [`CitizenId::birth_year`] only ever maps 0–3.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{BirthDate, Invalid};

/// The 63 province codes (first three digits of a CCCD) and their provinces,
/// as in `shared/data/cccd-province-codes.csv`.
pub const PROVINCE_CODES: [(&str, &str); 63] = [
    ("001", "Hà Nội"),
    ("002", "Hà Giang"),
    ("004", "Cao Bằng"),
    ("006", "Bắc Kạn"),
    ("008", "Tuyên Quang"),
    ("010", "Lào Cai"),
    ("011", "Điện Biên"),
    ("012", "Lai Châu"),
    ("014", "Sơn La"),
    ("015", "Yên Bái"),
    ("017", "Hòa Bình"),
    ("019", "Thái Nguyên"),
    ("020", "Lạng Sơn"),
    ("022", "Quảng Ninh"),
    ("024", "Bắc Giang"),
    ("025", "Phú Thọ"),
    ("026", "Vĩnh Phúc"),
    ("027", "Bắc Ninh"),
    ("030", "Hải Dương"),
    ("031", "Hải Phòng"),
    ("033", "Hưng Yên"),
    ("034", "Thái Bình"),
    ("035", "Hà Nam"),
    ("036", "Nam Định"),
    ("037", "Ninh Bình"),
    ("038", "Thanh Hóa"),
    ("040", "Nghệ An"),
    ("042", "Hà Tĩnh"),
    ("044", "Quảng Bình"),
    ("045", "Quảng Trị"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("049", "Quảng Nam"),
    ("051", "Quảng Ngãi"),
    ("052", "Bình Định"),
    ("054", "Phú Yên"),
    ("056", "Khánh Hòa"),
    ("058", "Ninh Thuận"),
    ("060", "Bình Thuận"),
    ("062", "Kon Tum"),
    ("064", "Gia Lai"),
    ("066", "Đắk Lắk"),
    ("067", "Đắk Nông"),
    ("068", "Lâm Đồng"),
    ("070", "Bình Phước"),
    ("072", "Tây Ninh"),
    ("074", "Bình Dương"),
    ("075", "Đồng Nai"),
    ("077", "Bà Rịa - Vũng Tàu"),
    ("079", "Hồ Chí Minh"),
    ("080", "Long An"),
    ("082", "Tiền Giang"),
    ("083", "Bến Tre"),
    ("084", "Trà Vinh"),
    ("086", "Vĩnh Long"),
    ("087", "Đồng Tháp"),
    ("089", "An Giang"),
    ("091", "Kiên Giang"),
    ("092", "Cần Thơ"),
    ("093", "Hậu Giang"),
    ("094", "Sóc Trăng"),
    ("095", "Bạc Liêu"),
    ("096", "Cà Mau"),
];

/// Returns the province name of a 3-digit CCCD province code.
pub fn province_name(code: &str) -> Option<&'static str> {
    PROVINCE_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Which kind of ID document a number belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IdKind {
    /// Chứng minh nhân dân: 9 digits.
    Cmnd,
    /// Căn cước công dân: 12 digits.
    Cccd,
}

impl IdKind {
    /// Short Vietnamese label: "CMND" or "CCCD".
    pub fn label(&self) -> &'static str {
        match self {
            IdKind::Cmnd => "CMND",
            IdKind::Cccd => "CCCD",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Sex encoded in a CCCD's fourth digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// Vietnamese label: "Nam" or "Nữ".
    pub fn label_vi(&self) -> &'static str {
        match self {
            Sex::Male => "Nam",
            Sex::Female => "Nữ",
        }
    }
}

/// A CMND (9 digits) or CCCD (12 digits, with a valid province code and a
/// possible sex/century digit). Stored as the bare digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CitizenId(String);

const CMND_LEN: usize = 9;
const CCCD_LEN: usize = 12;

impl CitizenId {
    /// Parses a CMND/CCCD number. Surrounding whitespace is ignored; anything
    /// but ASCII digits inside (spaces, dots, letters) is refused.
    pub fn parse(s: &str) -> Result<CitizenId, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Invalid::new("Vui lòng nhập số CMND/CCCD."));
        }
        if !s.chars().all(|c| c.is_ascii_digit()) {
            return Err(Invalid::new(
                "Số CMND/CCCD chỉ gồm các chữ số (0–9), không có khoảng trắng, dấu chấm hay chữ cái.",
            ));
        }
        match s.len() {
            CMND_LEN => Ok(CitizenId(s.to_owned())),
            CCCD_LEN => {
                let code = s.get(..3).unwrap_or_default();
                if province_name(code).is_none() {
                    return Err(Invalid::new(format!(
                        "Mã tỉnh, thành phố \"{code}\" (3 chữ số đầu của số CCCD) không đúng. Vui lòng kiểm tra lại số CCCD."
                    )));
                }
                let digit = s.as_bytes().get(3).copied().unwrap_or_default();
                if century_base(digit).is_none() {
                    return Err(Invalid::new(format!(
                        "Chữ số thứ 4 của số CCCD (mã giới tính và thế kỷ sinh) là {}, không thể có ở số CCCD của người sinh từ năm 1900 đến nay (chỉ có thể là 0, 1, 2 hoặc 3). Vui lòng kiểm tra lại số CCCD.",
                        char::from(digit)
                    )));
                }
                Ok(CitizenId(s.to_owned()))
            }
            _ => Err(Invalid::new("Số CMND gồm 9 chữ số, số CCCD gồm 12 chữ số.")),
        }
    }

    /// CMND (9 digits) or CCCD (12 digits).
    pub fn kind(&self) -> IdKind {
        if self.0.len() == CCCD_LEN {
            IdKind::Cccd
        } else {
            IdKind::Cmnd
        }
    }

    /// The province code (first 3 digits) of a CCCD; `None` for a CMND.
    pub fn province_code(&self) -> Option<&str> {
        match self.kind() {
            IdKind::Cccd => self.0.get(..3),
            IdKind::Cmnd => None,
        }
    }

    /// The province name of a CCCD's province code; `None` for a CMND.
    pub fn province(&self) -> Option<&'static str> {
        self.province_code().and_then(province_name)
    }

    /// The birth year encoded in a CCCD (century from digit 4, year from
    /// digits 5–6); `None` for a CMND.
    pub fn birth_year(&self) -> Option<i32> {
        if self.kind() != IdKind::Cccd {
            return None;
        }
        let bytes = self.0.as_bytes();
        let base = century_base(*bytes.get(3)?)?;
        let tens = i32::from(bytes.get(4)?.checked_sub(b'0')?);
        let ones = i32::from(bytes.get(5)?.checked_sub(b'0')?);
        Some(base + tens * 10 + ones)
    }

    /// The sex encoded in a CCCD's fourth digit (even = male, odd = female);
    /// `None` for a CMND.
    pub fn sex(&self) -> Option<Sex> {
        if self.kind() != IdKind::Cccd {
            return None;
        }
        let digit = self.0.as_bytes().get(3)?.checked_sub(b'0')?;
        Some(if digit % 2 == 0 {
            Sex::Male
        } else {
            Sex::Female
        })
    }

    /// Checks that a CCCD's encoded birth year equals the year of `dob`.
    /// A CMND carries no birth year, so it always agrees.
    pub fn check_birth_date(&self, dob: &BirthDate) -> Result<(), Invalid> {
        match self.birth_year() {
            Some(year) if year != dob.year() => Err(Invalid::new(format!(
                "Số CCCD không khớp với năm sinh: số CCCD cho năm sinh {year} nhưng ngày sinh là {dob}."
            ))),
            _ => Ok(()),
        }
    }

    /// The number with all but the first 3 and last 3 digits hidden:
    /// `001******789`, `123***789`.
    pub fn masked(&self) -> String {
        let n = self.0.len();
        let head = self.0.get(..3).unwrap_or_default();
        let tail = self.0.get(n.saturating_sub(3)..).unwrap_or_default();
        format!("{head}{}{tail}", "*".repeat(n.saturating_sub(6)))
    }
}

/// First year of the century encoded by a CCCD's fourth digit, for the
/// digits that can belong to a living person (0–3).
fn century_base(digit: u8) -> Option<i32> {
    match digit {
        b'0' | b'1' => Some(1900),
        b'2' | b'3' => Some(2000),
        _ => None,
    }
}

string_newtype!(CitizenId, "The bare digits.");

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn dob(s: &str) -> BirthDate {
        let today = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        BirthDate::parse_on(s, today).unwrap()
    }

    #[test]
    fn province_table_matches_the_csv() {
        assert_eq!(PROVINCE_CODES.len(), 63);
        let mut codes: Vec<_> = PROVINCE_CODES.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 63, "codes are unique");
        assert!(
            PROVINCE_CODES
                .iter()
                .all(|(c, _)| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert_eq!(province_name("001"), Some("Hà Nội"));
        assert_eq!(province_name("079"), Some("Hồ Chí Minh"));
        assert_eq!(province_name("096"), Some("Cà Mau"));
        assert_eq!(province_name("003"), None);
        assert_eq!(province_name("097"), None);
    }

    #[test]
    fn province_table_is_the_shared_csv() {
        // shared/ sits beside the repository (and at /work/shared on the
        // development machines); skip if it is not there.
        let candidates = [
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/data/cccd-province-codes.csv"
            ),
            "/work/shared/data/cccd-province-codes.csv",
        ];
        let Some(csv) = candidates
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
        else {
            return;
        };
        let rows: Vec<(String, String)> = csv
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| l.split_once(','))
            .map(|(c, p)| (c.trim().to_owned(), crate::domain::text::nfc(p.trim())))
            .collect();
        let ours: Vec<(String, String)> = PROVINCE_CODES
            .iter()
            .map(|(c, p)| ((*c).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(rows, ours);
    }

    #[test]
    fn accepts_valid_numbers() {
        let cases = [
            ("123456789", IdKind::Cmnd),
            ("000000001", IdKind::Cmnd),
            (" 012345678 ", IdKind::Cmnd),
            ("001090123456", IdKind::Cccd),
            ("079203001234", IdKind::Cccd),
            ("\t096199000001\n", IdKind::Cccd),
            ("038301999999", IdKind::Cccd),
            ("001000000000", IdKind::Cccd),
        ];
        for (input, kind) in cases {
            let id = CitizenId::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(id.kind(), kind, "{input:?}");
            assert_eq!(id.as_str(), input.trim());
        }
    }

    #[test]
    fn refuses_empty() {
        for input in ["", "   ", "\t\n"] {
            assert_eq!(
                CitizenId::parse(input),
                Err(Invalid::new("Vui lòng nhập số CMND/CCCD."))
            );
        }
    }

    #[test]
    fn refuses_non_digits() {
        for input in [
            "12345678a",
            "0010 9012 3456",
            "001.090.123.456",
            "001-090-123456",
            "+84123456789",
            "１２３４５６７８９",
            "12345678９",
            "abcdefghi",
            "CCCD001090123456",
        ] {
            let err = CitizenId::parse(input).unwrap_err();
            assert!(err.0.contains("chỉ gồm các chữ số"), "{input:?}: {err}");
        }
    }

    #[test]
    fn refuses_wrong_length() {
        for input in [
            "1",
            "12345678",
            "1234567890",
            "12345678901",
            "0010901234567",
            "00109012345678",
        ] {
            assert_eq!(
                CitizenId::parse(input),
                Err(Invalid::new("Số CMND gồm 9 chữ số, số CCCD gồm 12 chữ số.")),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_unknown_province_code() {
        for code in [
            "000", "003", "005", "013", "050", "097", "099", "100", "999",
        ] {
            let input = format!("{code}090123456");
            let err = CitizenId::parse(&input).unwrap_err();
            assert!(err.0.contains(&format!("\"{code}\"")), "{input}: {err}");
            assert!(err.0.contains("Mã tỉnh"), "{input}: {err}");
        }
    }

    #[test]
    fn refuses_impossible_century_digit() {
        for digit in 4..=9 {
            let input = format!("001{digit}90123456");
            let err = CitizenId::parse(&input).unwrap_err();
            assert!(err.0.contains("Chữ số thứ 4"), "{input}: {err}");
            assert!(err.0.contains(&format!("là {digit},")), "{input}: {err}");
        }
    }

    #[test]
    fn birth_year_and_sex() {
        let cases = [
            ("001090123456", 1990, Sex::Male),
            ("001190123456", 1990, Sex::Female),
            ("079203001234", 2003, Sex::Male),
            ("079303001234", 2003, Sex::Female),
            ("001000000000", 1900, Sex::Male),
            ("001199000000", 1999, Sex::Female),
            ("001200000000", 2000, Sex::Male),
            ("001399000000", 2099, Sex::Female),
        ];
        for (input, year, sex) in cases {
            let id = CitizenId::parse(input).unwrap();
            assert_eq!(id.birth_year(), Some(year), "{input}");
            assert_eq!(id.sex(), Some(sex), "{input}");
        }
        let cmnd = CitizenId::parse("123456789").unwrap();
        assert_eq!(cmnd.birth_year(), None);
        assert_eq!(cmnd.sex(), None);
        assert_eq!(cmnd.province_code(), None);
        assert_eq!(cmnd.province(), None);
    }

    #[test]
    fn province_of_a_cccd() {
        let id = CitizenId::parse("079203001234").unwrap();
        assert_eq!(id.province_code(), Some("079"));
        assert_eq!(id.province(), Some("Hồ Chí Minh"));
    }

    #[test]
    fn birth_date_must_match_cccd_year() {
        let id = CitizenId::parse("001090123456").unwrap();
        assert_eq!(id.check_birth_date(&dob("12/03/1990")), Ok(()));
        assert_eq!(id.check_birth_date(&dob("31/12/1990")), Ok(()));
        assert_eq!(
            id.check_birth_date(&dob("12/03/1991")),
            Err(Invalid::new(
                "Số CCCD không khớp với năm sinh: số CCCD cho năm sinh 1990 nhưng ngày sinh là 12/03/1991."
            ))
        );
        // Same last two digits, other century.
        let id2000 = CitizenId::parse("001205123456").unwrap();
        assert_eq!(id2000.check_birth_date(&dob("1/1/2005")), Ok(()));
        let err = id2000.check_birth_date(&dob("1/1/1905")).unwrap_err();
        assert!(err.0.contains("năm sinh 2005"), "{err}");
        assert!(err.0.contains("01/01/1905"), "{err}");
    }

    #[test]
    fn cmnd_agrees_with_any_birth_date() {
        let id = CitizenId::parse("123456789").unwrap();
        assert_eq!(id.check_birth_date(&dob("01/01/1950")), Ok(()));
        assert_eq!(id.check_birth_date(&dob("01/01/2010")), Ok(()));
    }

    #[test]
    fn masking() {
        assert_eq!(
            CitizenId::parse("001090123789").unwrap().masked(),
            "001******789"
        );
        assert_eq!(CitizenId::parse("123456789").unwrap().masked(), "123***789");
    }

    #[test]
    fn display_and_conversions() {
        let id = CitizenId::parse(" 001090123456 ").unwrap();
        assert_eq!(id.to_string(), "001090123456");
        assert_eq!(id.as_ref(), "001090123456");
        assert_eq!(String::from(id.clone()), "001090123456");
        assert_eq!("001090123456".parse::<CitizenId>(), Ok(id.clone()));
        assert_eq!(CitizenId::try_from("001090123456"), Ok(id));
        assert_eq!(IdKind::Cccd.to_string(), "CCCD");
        assert_eq!(IdKind::Cmnd.label(), "CMND");
        assert_eq!(Sex::Female.label_vi(), "Nữ");
    }

    #[test]
    fn serde_round_trip_and_revalidation() {
        let id = CitizenId::parse("079203001234").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"079203001234\"");
        let back: CitizenId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<CitizenId>("\"12345\"").is_err());
        assert!(serde_json::from_str::<CitizenId>("\"003203001234\"").is_err());
        assert!(serde_json::from_str::<CitizenId>("12345678").is_err());
    }
}
