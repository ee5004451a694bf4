//! Date of birth, written `dd/mm/yyyy` as on Vietnamese forms.

use std::fmt;

use chrono::{Datelike, Local, NaiveDate};
use serde::{Deserialize, Serialize};

use super::Invalid;

/// Earliest accepted birth year.
pub const MIN_YEAR: i32 = 1900;

/// A real calendar date, not in the future, in or after 1900.
///
/// Serialised as the `dd/mm/yyyy` string; deserialising re-validates against
/// today's local date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BirthDate(NaiveDate);

const FORMAT_MESSAGE: &str = "Ngày sinh phải theo định dạng dd/mm/yyyy.";

impl BirthDate {
    /// Parses `dd/mm/yyyy` (or `d/m/yyyy`) against today's local date.
    pub fn parse(s: &str) -> Result<BirthDate, Invalid> {
        BirthDate::parse_on(s, Local::now().date_naive())
    }

    /// Parses `dd/mm/yyyy` (or `d/m/yyyy`) as of the given `today`.
    pub fn parse_on(s: &str, today: NaiveDate) -> Result<BirthDate, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Invalid::new("Vui lòng nhập ngày sinh."));
        }
        let parts: Vec<&str> = s.split('/').collect();
        let [day, month, year] = parts.as_slice() else {
            return Err(Invalid::new(FORMAT_MESSAGE));
        };
        let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !(all_digits(day) && all_digits(month) && all_digits(year))
            || day.len() > 2
            || month.len() > 2
            || year.len() != 4
        {
            return Err(Invalid::new(FORMAT_MESSAGE));
        }
        let (Ok(day), Ok(month), Ok(year)) = (
            day.parse::<u32>(),
            month.parse::<u32>(),
            year.parse::<i32>(),
        ) else {
            return Err(Invalid::new(FORMAT_MESSAGE));
        };
        if !(1..=12).contains(&month) {
            return Err(Invalid::new(format!(
                "Tháng sinh phải từ 01 đến 12 (anh/chị đã nhập tháng {month:02})."
            )));
        }
        if year < MIN_YEAR {
            return Err(Invalid::new(format!(
                "Năm sinh phải từ năm {MIN_YEAR} trở về sau."
            )));
        }
        let Some(date) = NaiveDate::from_ymd_opt(year, month, day) else {
            return Err(Invalid::new(format!(
                "Ngày sinh không có thật: tháng {month:02}/{year:04} không có ngày {day:02}."
            )));
        };
        BirthDate::from_date_on(date, today)
    }

    /// Accepts an already-typed date (for example from a date picker),
    /// applying the same rules as [`BirthDate::parse_on`].
    pub fn from_date_on(date: NaiveDate, today: NaiveDate) -> Result<BirthDate, Invalid> {
        if date.year() < MIN_YEAR {
            return Err(Invalid::new(format!(
                "Năm sinh phải từ năm {MIN_YEAR} trở về sau."
            )));
        }
        if date > today {
            return Err(Invalid::new("Ngày sinh không được ở tương lai."));
        }
        Ok(BirthDate(date))
    }

    /// The calendar date.
    pub fn date(&self) -> NaiveDate {
        self.0
    }

    /// The birth year.
    pub fn year(&self) -> i32 {
        self.0.year()
    }

    /// `dd/mm/yyyy`, zero-padded.
    pub fn format(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}/{:02}/{:04}",
            self.0.day(),
            self.0.month(),
            self.0.year()
        )
    }
}

parsed_from_str!(BirthDate);

impl From<BirthDate> for String {
    fn from(d: BirthDate) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn accepts_valid_dates() {
        let cases = [
            ("12/03/1990", ymd(1990, 3, 12)),
            ("1/1/2000", ymd(2000, 1, 1)),
            ("01/1/2000", ymd(2000, 1, 1)),
            ("1/01/2000", ymd(2000, 1, 1)),
            ("  31/12/1999 ", ymd(1999, 12, 31)),
            ("29/02/2000", ymd(2000, 2, 29)),
            ("29/02/2024", ymd(2024, 2, 29)),
            ("01/01/1900", ymd(1900, 1, 1)),
            ("15/06/2025", today()),
            ("14/06/2025", ymd(2025, 6, 14)),
            ("30/04/1975", ymd(1975, 4, 30)),
        ];
        for (input, expected) in cases {
            let d =
                BirthDate::parse_on(input, today()).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(d.date(), expected, "{input:?}");
        }
    }

    #[test]
    fn refuses_empty() {
        for input in ["", "  "] {
            assert_eq!(
                BirthDate::parse_on(input, today()),
                Err(Invalid::new("Vui lòng nhập ngày sinh."))
            );
        }
    }

    #[test]
    fn refuses_bad_format() {
        for input in [
            "1990-03-12",
            "12-03-1990",
            "12.03.1990",
            "12/03/90",
            "12/03/01990",
            "012/03/1990",
            "12/003/1990",
            "12/03",
            "12/03/1990/1",
            "//",
            "12//1990",
            "/03/1990",
            "a/03/1990",
            "12/03/199O",
            "12 /03/1990",
            "12/ 03/1990",
            "+1/03/1990",
            "-1/03/1990",
            "１２/03/1990",
            "12031990",
            "ngày 12 tháng 3",
        ] {
            assert_eq!(
                BirthDate::parse_on(input, today()),
                Err(Invalid::new(FORMAT_MESSAGE)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_impossible_months() {
        for input in ["12/13/1990", "12/00/1990", "1/99/1990"] {
            let err = BirthDate::parse_on(input, today()).unwrap_err();
            assert!(
                err.0.starts_with("Tháng sinh phải từ 01 đến 12"),
                "{input}: {err}"
            );
        }
    }

    #[test]
    fn refuses_days_not_on_the_calendar() {
        let cases = [
            ("29/02/2001", "tháng 02/2001 không có ngày 29"),
            ("29/02/1900", "tháng 02/1900 không có ngày 29"),
            ("30/02/2000", "tháng 02/2000 không có ngày 30"),
            ("31/04/1990", "tháng 04/1990 không có ngày 31"),
            ("31/06/1990", "tháng 06/1990 không có ngày 31"),
            ("31/09/1990", "tháng 09/1990 không có ngày 31"),
            ("31/11/1990", "tháng 11/1990 không có ngày 31"),
            ("32/01/1990", "tháng 01/1990 không có ngày 32"),
            ("0/01/1990", "tháng 01/1990 không có ngày 00"),
            ("00/01/1990", "tháng 01/1990 không có ngày 00"),
        ];
        for (input, fragment) in cases {
            let err = BirthDate::parse_on(input, today()).unwrap_err();
            assert!(err.0.contains(fragment), "{input}: {err}");
            assert!(
                err.0.starts_with("Ngày sinh không có thật"),
                "{input}: {err}"
            );
        }
    }

    #[test]
    fn refuses_future_dates() {
        for input in ["16/06/2025", "01/01/2026", "31/12/2099", "15/06/2125"] {
            assert_eq!(
                BirthDate::parse_on(input, today()),
                Err(Invalid::new("Ngày sinh không được ở tương lai.")),
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_years_before_1900() {
        for input in ["31/12/1899", "01/01/1000", "01/01/0000"] {
            assert_eq!(
                BirthDate::parse_on(input, today()),
                Err(Invalid::new("Năm sinh phải từ năm 1900 trở về sau.")),
                "{input}"
            );
        }
        assert!(BirthDate::from_date_on(ymd(1899, 12, 31), today()).is_err());
    }

    #[test]
    fn from_date_on_applies_the_rules() {
        assert_eq!(
            BirthDate::from_date_on(ymd(1990, 3, 12), today()).map(|d| d.to_string()),
            Ok("12/03/1990".to_owned())
        );
        assert!(BirthDate::from_date_on(ymd(2025, 6, 16), today()).is_err());
    }

    #[test]
    fn display_is_zero_padded() {
        let d = BirthDate::parse_on("1/2/1903", today()).unwrap();
        assert_eq!(d.to_string(), "01/02/1903");
        assert_eq!(d.format(), "01/02/1903");
        assert_eq!(d.year(), 1903);
        assert_eq!(String::from(d), "01/02/1903");
    }

    #[test]
    fn ordering_follows_the_calendar() {
        let a = BirthDate::parse_on("31/12/1989", today()).unwrap();
        let b = BirthDate::parse_on("1/1/1990", today()).unwrap();
        assert!(a < b);
    }

    #[test]
    fn parse_uses_the_real_today() {
        assert!(BirthDate::parse("01/01/1990").is_ok());
        assert_eq!(
            BirthDate::parse("01/01/3000"),
            Err(Invalid::new("Ngày sinh không được ở tương lai."))
        );
    }

    #[test]
    fn serde_round_trip_and_revalidation() {
        let d = BirthDate::parse_on("5/7/1988", today()).unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "\"05/07/1988\"");
        assert_eq!(serde_json::from_str::<BirthDate>(&json).unwrap(), d);
        assert!(serde_json::from_str::<BirthDate>("\"1988-07-05\"").is_err());
        assert!(serde_json::from_str::<BirthDate>("\"30/02/1988\"").is_err());
        assert!(serde_json::from_str::<BirthDate>("\"01/01/3000\"").is_err());
    }
}
