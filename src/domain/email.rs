//! E-mail addresses (a practical subset of RFC 5321/5322, ASCII only).

use serde::{Deserialize, Serialize};

use super::Invalid;

/// Longest accepted address, in characters.
pub const MAX_LEN: usize = 254;
/// Longest accepted local part (before `@`).
pub const MAX_LOCAL_LEN: usize = 64;

/// An e-mail address: trimmed, domain lowercased (the local part keeps its
/// case), at most 254 characters, `local@domain` with a dot-atom local part
/// and a domain of at least two labels of letters, digits and hyphens.
/// Internationalised domains must be written in their `xn--` form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

const LOCAL_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-.";

impl Email {
    /// Parses an e-mail address.
    pub fn parse(s: &str) -> Result<Email, Invalid> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Invalid::new("Vui lòng nhập địa chỉ email."));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(Invalid::new("Địa chỉ email không được chứa dấu cách."));
        }
        if s.chars().count() > MAX_LEN {
            return Err(Invalid::new(format!(
                "Địa chỉ email không được dài quá {MAX_LEN} ký tự."
            )));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(Invalid::new(
                "Địa chỉ email phải có ký tự @ (ví dụ: ten@gmail.com).",
            ));
        };
        if domain.contains('@') {
            return Err(Invalid::new("Địa chỉ email chỉ được có một ký tự @."));
        }
        check_local(local)?;
        let domain = domain.to_ascii_lowercase();
        check_domain(&domain)?;
        Ok(Email(format!("{local}@{domain}")))
    }

    /// The part before `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }

    /// The (lowercase) part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

fn check_local(local: &str) -> Result<(), Invalid> {
    if local.is_empty() {
        return Err(Invalid::new(
            "Thiếu phần tên trước ký tự @ trong địa chỉ email (ví dụ: ten@gmail.com).",
        ));
    }
    if local.chars().count() > MAX_LOCAL_LEN {
        return Err(Invalid::new(format!(
            "Phần tên trước ký tự @ không được dài quá {MAX_LOCAL_LEN} ký tự."
        )));
    }
    if let Some(bad) = local
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || LOCAL_SPECIALS.contains(*c)))
    {
        return Err(Invalid::new(format!(
            "Địa chỉ email có ký tự không hợp lệ \"{bad}\"; chỉ dùng chữ cái không dấu, chữ số và các dấu như . _ - +"
        )));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(Invalid::new(
            "Dấu chấm trong địa chỉ email không được đứng đầu, đứng cuối hay đứng liền nhau.",
        ));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), Invalid> {
    const BAD_DOMAIN: &str =
        "Tên miền của địa chỉ email không hợp lệ (ví dụ đúng: gmail.com, dichvucong.gov.vn).";
    if domain.is_empty() {
        return Err(Invalid::new(
            "Thiếu tên miền sau ký tự @ trong địa chỉ email (ví dụ: gmail.com).",
        ));
    }
    if !domain.contains('.') {
        return Err(Invalid::new(
            "Tên miền của địa chỉ email phải có dấu chấm (ví dụ: gmail.com).",
        ));
    }
    if let Some(bad) = domain
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(Invalid::new(format!(
            "Tên miền của địa chỉ email có ký tự không hợp lệ \"{bad}\"; chỉ dùng chữ cái không dấu, chữ số, dấu gạch ngang và dấu chấm."
        )));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for label in &labels {
        if label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-') {
            return Err(Invalid::new(BAD_DOMAIN));
        }
    }
    // The top-level domain is never all digits (that would be an IP address).
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Invalid::new(BAD_DOMAIN));
    }
    Ok(())
}

string_newtype!(Email, "The address as stored.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_addresses() {
        let cases = [
            ("motcuahy@gmail.com", "motcuahy@gmail.com"),
            ("dichvucong@chinhphu.vn", "dichvucong@chinhphu.vn"),
            ("  Nguyen.Van.A@Example.COM  ", "Nguyen.Van.A@example.com"),
            ("a@b.co", "a@b.co"),
            ("user+tag@sub.domain.gov.vn", "user+tag@sub.domain.gov.vn"),
            ("o'neil@example.org", "o'neil@example.org"),
            ("x_y-z@my-host.example", "x_y-z@my-host.example"),
            ("1234@123.vn", "1234@123.vn"),
            (
                "a!#$%&*/=?^`{|}~@example.com",
                "a!#$%&*/=?^`{|}~@example.com",
            ),
            ("test@xn--bcher-kva.example", "test@xn--bcher-kva.example"),
            ("TEN@GMAIL.COM", "TEN@gmail.com"),
        ];
        for (input, expected) in cases {
            let e = Email::parse(input).unwrap_or_else(|err| panic!("{input:?}: {err}"));
            assert_eq!(e.as_str(), expected, "{input:?}");
        }
    }

    #[test]
    fn parts() {
        let e = Email::parse("Ten.Ho@GMAIL.com").unwrap();
        assert_eq!(e.local_part(), "Ten.Ho");
        assert_eq!(e.domain(), "gmail.com");
    }

    #[test]
    fn refuses_empty() {
        for input in ["", "   "] {
            assert_eq!(
                Email::parse(input),
                Err(Invalid::new("Vui lòng nhập địa chỉ email."))
            );
        }
    }

    #[test]
    fn refuses_missing_or_extra_at() {
        assert_eq!(
            Email::parse("motcuahy.gmail.com"),
            Err(Invalid::new(
                "Địa chỉ email phải có ký tự @ (ví dụ: ten@gmail.com)."
            ))
        );
        for input in ["a@b@c.com", "a@@b.com", "@@", "a@b.com@"] {
            assert_eq!(
                Email::parse(input),
                Err(Invalid::new("Địa chỉ email chỉ được có một ký tự @.")),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_spaces_inside() {
        for input in ["ten ho@gmail.com", "ten@gmail .com", "ten@\tgmail.com"] {
            assert_eq!(
                Email::parse(input),
                Err(Invalid::new("Địa chỉ email không được chứa dấu cách.")),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_bad_local_parts() {
        assert!(
            Email::parse("@gmail.com")
                .unwrap_err()
                .0
                .starts_with("Thiếu phần tên")
        );
        let long_local = format!("{}@gmail.com", "a".repeat(65));
        assert!(
            Email::parse(&long_local)
                .unwrap_err()
                .0
                .contains("64 ký tự")
        );
        assert!(Email::parse(&format!("{}@gmail.com", "a".repeat(64))).is_ok());
        for input in [".abc@gmail.com", "abc.@gmail.com", "a..b@gmail.com"] {
            assert!(
                Email::parse(input).unwrap_err().0.starts_with("Dấu chấm"),
                "{input:?}"
            );
        }
        for (input, bad) in [
            ("nguyễn@gmail.com", "ễ"),
            ("a(b)@gmail.com", "("),
            ("a,b@gmail.com", ","),
            ("\"quoted\"@gmail.com", "\""),
            ("a\\b@gmail.com", "\\"),
            ("a<b>@gmail.com", "<"),
            ("a;b@gmail.com", ";"),
        ] {
            let err = Email::parse(input).unwrap_err();
            assert!(
                err.0.contains(&format!("ký tự không hợp lệ \"{bad}\"")),
                "{input:?}: {err}"
            );
        }
    }

    #[test]
    fn refuses_bad_domains() {
        assert!(
            Email::parse("abc@")
                .unwrap_err()
                .0
                .starts_with("Thiếu tên miền")
        );
        for input in ["abc@localhost", "abc@gmail", "abc@com"] {
            assert!(
                Email::parse(input)
                    .unwrap_err()
                    .0
                    .contains("phải có dấu chấm"),
                "{input:?}"
            );
        }
        for input in [
            "abc@gmail_x.com",
            "abc@bücher.de",
            "abc@[127.0.0.1]",
            "abc@gmail.com/",
        ] {
            assert!(
                Email::parse(input)
                    .unwrap_err()
                    .0
                    .contains("có ký tự không hợp lệ"),
                "{input:?}"
            );
        }
        let bad =
            "Tên miền của địa chỉ email không hợp lệ (ví dụ đúng: gmail.com, dichvucong.gov.vn).";
        for input in [
            "abc@.gmail.com",
            "abc@gmail.com.",
            "abc@gmail..com",
            "abc@-gmail.com",
            "abc@gmail-.com",
            "abc@gmail.-com",
            "abc@127.0.0.1",
            "abc@example.123",
        ] {
            assert_eq!(Email::parse(input), Err(Invalid::new(bad)), "{input:?}");
        }
        let long_label = format!("abc@{}.com", "a".repeat(64));
        assert_eq!(Email::parse(&long_label), Err(Invalid::new(bad)));
        assert!(Email::parse(&format!("abc@{}.com", "a".repeat(63))).is_ok());
    }

    #[test]
    fn length_limit() {
        // 64 + 1 + 189 = 254 characters: accepted; one more is refused.
        let domain_254 = format!(
            "{}.{}.{}.com",
            "a".repeat(61),
            "b".repeat(61),
            "c".repeat(61)
        );
        let ok = format!("{}@{domain_254}", "x".repeat(64));
        assert_eq!(ok.len(), 254);
        assert!(Email::parse(&ok).is_ok());
        let too_long = format!("{}@{domain_254}a", "x".repeat(64));
        assert_eq!(
            Email::parse(&too_long),
            Err(Invalid::new("Địa chỉ email không được dài quá 254 ký tự."))
        );
    }

    #[test]
    fn conversions_and_serde() {
        let e = Email::parse("A@B.VN").unwrap();
        assert_eq!(e.to_string(), "A@b.vn");
        assert_eq!("A@b.vn".parse::<Email>(), Ok(e.clone()));
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, "\"A@b.vn\"");
        assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), e);
        assert!(serde_json::from_str::<Email>("\"not-an-email\"").is_err());
        assert_eq!(String::from(e), "A@b.vn");
    }
}
