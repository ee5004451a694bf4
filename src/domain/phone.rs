//! Vietnamese mobile phone numbers.

use serde::{Deserialize, Serialize};

use super::Invalid;

/// A Vietnamese mobile number, stored in the national 10-digit form
/// `0xxxxxxxxx` whose second digit is 3, 5, 7, 8 or 9.
///
/// [`PhoneNumber::parse`] accepts `0912 345 678`, `0912.345.678`,
/// `(091) 234-5678`, `+84 912 345 678`, `84912345678`, and also the common
/// `+84 (0) 912 345 678` / `+840912345678` where the trunk `0` is kept after
/// the country code. Landlines (`02…`) and foreign numbers are refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

const LENGTH_MESSAGE: &str =
    "Số điện thoại di động gồm 10 chữ số, bắt đầu bằng 0 (ví dụ: 0912345678) hoặc +84.";

/// A stored phone number masked for display (`***` when it does not parse).
pub fn mask(p: &str) -> String {
    PhoneNumber::parse(p)
        .map(|p| p.masked())
        .unwrap_or_else(|_| "***".into())
}

impl PhoneNumber {
    /// Parses and normalises a Vietnamese mobile number.
    pub fn parse(s: &str) -> Result<PhoneNumber, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Invalid::new("Vui lòng nhập số điện thoại."));
        }
        let mut digits = String::with_capacity(s.len());
        let mut plus = false;
        for c in s.chars() {
            match c {
                '0'..='9' => digits.push(c),
                // One leading '+', possibly inside a parenthesis: "(+84)".
                '+' if digits.is_empty() && !plus => plus = true,
                ' ' | '.' | '-' | '(' | ')' => {}
                _ => {
                    return Err(Invalid::new(
                        "Số điện thoại chỉ gồm chữ số; có thể viết kèm dấu cách, dấu chấm, dấu gạch ngang, dấu ngoặc đơn và dấu + ở đầu.",
                    ));
                }
            }
        }
        if digits.is_empty() {
            return Err(Invalid::new("Vui lòng nhập số điện thoại."));
        }
        let subscriber = if let Some(rest) = digits.strip_prefix("84") {
            // Country code; a trunk 0 kept after it ("+84 (0) 912…") is dropped.
            match rest.strip_prefix('0') {
                Some(r) if r.len() == 9 => r,
                _ => rest,
            }
        } else if plus {
            return Err(Invalid::new(
                "Chỉ chấp nhận số điện thoại di động Việt Nam (mã quốc gia +84).",
            ));
        } else if let Some(rest) = digits.strip_prefix('0') {
            rest
        } else {
            return Err(Invalid::new(LENGTH_MESSAGE));
        };
        if subscriber.starts_with('2') {
            return Err(Invalid::new(
                "Số máy bàn (đầu số 02) không nhận được tin nhắn OTP. Vui lòng nhập số điện thoại di động.",
            ));
        }
        if subscriber.len() == 10 && subscriber.starts_with('1') {
            return Err(Invalid::new(
                "Số di động 11 chữ số (đầu 01…) đã được chuyển sang 10 chữ số từ năm 2018. Vui lòng nhập số mới gồm 10 chữ số.",
            ));
        }
        if subscriber.len() != 9 {
            return Err(Invalid::new(LENGTH_MESSAGE));
        }
        match subscriber.as_bytes().first() {
            Some(b'3' | b'5' | b'7' | b'8' | b'9') => Ok(PhoneNumber(format!("0{subscriber}"))),
            _ => Err(Invalid::new(format!(
                "Đầu số 0{} không phải đầu số di động Việt Nam. Số di động bắt đầu bằng 03, 05, 07, 08 hoặc 09.",
                subscriber.get(..1).unwrap_or(subscriber)
            ))),
        }
    }

    /// First 3 digits, five stars, last 2 digits: `037*****89`.
    pub fn masked(&self) -> String {
        let head = self.0.get(..3).unwrap_or_default();
        let tail = self
            .0
            .get(self.0.len().saturating_sub(2)..)
            .unwrap_or_default();
        format!("{head}*****{tail}")
    }

    /// The international E.164 form `+84xxxxxxxxx`.
    pub fn e164(&self) -> String {
        format!("+84{}", self.0.get(1..).unwrap_or_default())
    }
}

string_newtype!(PhoneNumber, "The national form `0xxxxxxxxx`.");

/// A Vietnamese mobile network, known by the number's 3-digit prefix
/// (the national plan after the 2018 move to 10 digits). A number ported
/// to another network keeps its prefix, so this is the network the number
/// was issued by: good enough for delivery statistics, not for routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Carrier {
    Viettel,
    Vinaphone,
    MobiFone,
    Vietnamobile,
    Gmobile,
    Itel,
    Reddi,
    /// A prefix not in [`CARRIER_PREFIXES`].
    Other,
}

/// Prefix → network.
pub const CARRIER_PREFIXES: &[(&str, Carrier)] = &[
    ("032", Carrier::Viettel),
    ("033", Carrier::Viettel),
    ("034", Carrier::Viettel),
    ("035", Carrier::Viettel),
    ("036", Carrier::Viettel),
    ("037", Carrier::Viettel),
    ("038", Carrier::Viettel),
    ("039", Carrier::Viettel),
    ("086", Carrier::Viettel),
    ("096", Carrier::Viettel),
    ("097", Carrier::Viettel),
    ("098", Carrier::Viettel),
    ("081", Carrier::Vinaphone),
    ("082", Carrier::Vinaphone),
    ("083", Carrier::Vinaphone),
    ("084", Carrier::Vinaphone),
    ("085", Carrier::Vinaphone),
    ("088", Carrier::Vinaphone),
    ("091", Carrier::Vinaphone),
    ("094", Carrier::Vinaphone),
    ("070", Carrier::MobiFone),
    ("076", Carrier::MobiFone),
    ("077", Carrier::MobiFone),
    ("078", Carrier::MobiFone),
    ("079", Carrier::MobiFone),
    ("089", Carrier::MobiFone),
    ("090", Carrier::MobiFone),
    ("093", Carrier::MobiFone),
    ("052", Carrier::Vietnamobile),
    ("056", Carrier::Vietnamobile),
    ("058", Carrier::Vietnamobile),
    ("092", Carrier::Vietnamobile),
    ("059", Carrier::Gmobile),
    ("099", Carrier::Gmobile),
    ("087", Carrier::Itel),
    ("055", Carrier::Reddi),
];

impl Carrier {
    /// The network of a national number `0xxxxxxxxx` (or its prefix).
    pub fn of(number: &str) -> Carrier {
        let p = number.get(..3).unwrap_or(number);
        CARRIER_PREFIXES
            .iter()
            .find(|(x, _)| *x == p)
            .map(|(_, c)| *c)
            .unwrap_or(Carrier::Other)
    }

    pub fn label(self) -> &'static str {
        match self {
            Carrier::Viettel => "Viettel",
            Carrier::Vinaphone => "Vinaphone",
            Carrier::MobiFone => "MobiFone",
            Carrier::Vietnamobile => "Vietnamobile",
            Carrier::Gmobile => "Gmobile",
            Carrier::Itel => "iTel",
            Carrier::Reddi => "Reddi",
            Carrier::Other => "Mạng khác",
        }
    }
}

impl PhoneNumber {
    pub fn carrier(&self) -> Carrier {
        Carrier::of(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let cases = [
            ("0912345678", "0912345678"),
            ("0372379009", "0372379009"),
            ("0352 379 009", "0352379009"),
            ("082 6959996", "0826959996"),
            ("091 2709689", "0912709689"),
            ("0912.345.678", "0912345678"),
            ("0912-345-678", "0912345678"),
            ("(091) 234-5678", "0912345678"),
            ("  0987654321  ", "0987654321"),
            ("+84912345678", "0912345678"),
            ("+84 912 345 678", "0912345678"),
            ("+84-912-345-678", "0912345678"),
            ("+84.912.345.678", "0912345678"),
            ("(+84) 912 345 678", "0912345678"),
            ("84912345678", "0912345678"),
            ("84 3 5237 9009", "0352379009"),
            ("+84 (0) 912 345 678", "0912345678"),
            ("+840912345678", "0912345678"),
            ("840912345678", "0912345678"),
            ("0562345678", "0562345678"),
            ("0701234567", "0701234567"),
            ("0841234567", "0841234567"),
            ("0861234567", "0861234567"),
            ("0398765432", "0398765432"),
        ];
        for (input, expected) in cases {
            let p = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(p.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn refuses_empty() {
        for input in ["", "   ", "+", "()", " - . "] {
            assert_eq!(
                PhoneNumber::parse(input),
                Err(Invalid::new("Vui lòng nhập số điện thoại.")),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_letters_and_symbols() {
        for input in [
            "09123456a8",
            "O912345678",
            "0912/345/678",
            "0912_345_678",
            "0912345678#",
            "09+12345678",
            "++84912345678",
            "+(+84)912345678",
            "0912345678+",
            "0912 345 678 ext 1",
            "０９１２３４５６７８",
            "tel:0912345678",
        ] {
            let err = PhoneNumber::parse(input).unwrap_err();
            assert!(
                err.0.starts_with("Số điện thoại chỉ gồm chữ số"),
                "{input:?}: {err}"
            );
        }
    }

    #[test]
    fn refuses_wrong_lengths() {
        for input in [
            "091234567",
            "09123456789",
            "0",
            "0000",
            "+8491234567",
            "+849123456789",
            "8491234567",
            "849123456789",
            "+84",
            "84",
            "912345678",
            "12345678901",
            "+8400912345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(input),
                Err(Invalid::new(LENGTH_MESSAGE)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_landlines() {
        for input in [
            "0221 3856789",
            "02213829883",
            "0243 8256 789",
            "+84 24 3825 6789",
            "84283456789",
        ] {
            let err = PhoneNumber::parse(input).unwrap_err();
            assert!(err.0.starts_with("Số máy bàn"), "{input:?}: {err}");
        }
    }

    #[test]
    fn refuses_non_mobile_prefixes() {
        for (input, prefix) in [
            ("0112345678", "01"),
            ("0412345678", "04"),
            ("0612345678", "06"),
            ("0012345678", "00"),
        ] {
            let err = PhoneNumber::parse(input).unwrap_err();
            assert!(
                err.0.contains(&format!("Đầu số {prefix} ")),
                "{input:?}: {err}"
            );
        }
    }

    #[test]
    fn refuses_old_eleven_digit_numbers_with_a_hint() {
        for input in [
            "01681234567",
            "0168 123 4567",
            "+84 168 123 4567",
            "841231234567",
        ] {
            let err = PhoneNumber::parse(input).unwrap_err();
            assert!(
                err.0.starts_with("Số di động 11 chữ số"),
                "{input:?}: {err}"
            );
        }
    }

    #[test]
    fn refuses_foreign_numbers() {
        for input in [
            "+1 202 555 0123",
            "+8613812345678",
            "+44 20 7946 0958",
            "+0912345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(input),
                Err(Invalid::new(
                    "Chỉ chấp nhận số điện thoại di động Việt Nam (mã quốc gia +84)."
                )),
                "{input:?}"
            );
        }
    }

    #[test]
    fn masked_and_e164() {
        let p = PhoneNumber::parse("0372379089").unwrap();
        assert_eq!(p.masked(), "037*****89");
        assert!(p.masked().starts_with("037*****"));
        assert_eq!(p.e164(), "+84372379089");
        assert_eq!(
            PhoneNumber::parse("+84 979 123 399").unwrap().masked(),
            "097*****99"
        );
    }

    #[test]
    fn conversions() {
        let p = PhoneNumber::parse("+84 912 345 678").unwrap();
        assert_eq!(p.to_string(), "0912345678");
        assert_eq!(p.as_ref(), "0912345678");
        assert_eq!("0912345678".parse::<PhoneNumber>(), Ok(p.clone()));
        assert_eq!(String::from(p), "0912345678");
    }

    #[test]
    fn serde_round_trip_and_revalidation() {
        let p = PhoneNumber::parse("0912 345 678").unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"0912345678\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), p);
        assert_eq!(
            serde_json::from_str::<PhoneNumber>("\"+84912345678\"").unwrap(),
            p
        );
        assert!(serde_json::from_str::<PhoneNumber>("\"0243825678\"").is_err());
        assert!(serde_json::from_str::<PhoneNumber>("\"abc\"").is_err());
    }

    #[test]
    fn carriers_by_prefix() {
        let c = |s: &str| PhoneNumber::parse(s).unwrap().carrier();
        assert_eq!(c("0987654321"), Carrier::Viettel);
        assert_eq!(c("0356789012"), Carrier::Viettel);
        assert_eq!(c("0912000001"), Carrier::Vinaphone);
        assert_eq!(c("0888123456"), Carrier::Vinaphone);
        assert_eq!(c("0901888484"), Carrier::MobiFone);
        assert_eq!(c("+84 78 123 4567"), Carrier::MobiFone);
        assert_eq!(c("0921234567"), Carrier::Vietnamobile);
        assert_eq!(c("0991234567"), Carrier::Gmobile);
        assert_eq!(c("0871234567"), Carrier::Itel);
        assert_eq!(c("0571234567"), Carrier::Other);
        assert_eq!(Carrier::of("098"), Carrier::Viettel);
        assert_eq!(Carrier::of(""), Carrier::Other);
        // Every prefix once.
        for (p, _) in CARRIER_PREFIXES {
            assert_eq!(
                CARRIER_PREFIXES.iter().filter(|(x, _)| x == p).count(),
                1,
                "{p}"
            );
        }
    }
}
