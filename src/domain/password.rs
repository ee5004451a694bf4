//! The account password policy of the seed ("Sử dụng 8 ký tự trở lên bao gồm
//! chữ thường, chữ in hoa, số và ký tự đặc biệt"), plus refusal of common
//! passwords and of passwords built from the person's own data, and a
//! generator for the passwords sent by SMS.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::text;

/// Fewest characters (Unicode scalar values, after NFC) in a password.
pub const MIN_CHARS: usize = 8;
/// Most characters in a password.
pub const MAX_CHARS: usize = 128;
/// Length of the passwords made by [`generate_with`].
pub const GENERATED_LEN: usize = 12;

/// The rule text shown under password fields, as in the seed.
pub fn policy_text_vi() -> &'static str {
    "Sử dụng 8 ký tự trở lên bao gồm chữ thường, chữ in hoa, số và ký tự đặc biệt."
}

/// One rule of the password policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordRule {
    MinLength,
    MaxLength,
    Lowercase,
    Uppercase,
    Digit,
    Special,
    Common,
    ContainsPersonalData,
}

impl PasswordRule {
    /// Every rule, in the order they are reported.
    pub const ALL: [PasswordRule; 8] = [
        PasswordRule::MinLength,
        PasswordRule::MaxLength,
        PasswordRule::Lowercase,
        PasswordRule::Uppercase,
        PasswordRule::Digit,
        PasswordRule::Special,
        PasswordRule::Common,
        PasswordRule::ContainsPersonalData,
    ];

    /// Stable snake_case code (also the serde name), for APIs and templates.
    pub fn code(&self) -> &'static str {
        match self {
            PasswordRule::MinLength => "min_length",
            PasswordRule::MaxLength => "max_length",
            PasswordRule::Lowercase => "lowercase",
            PasswordRule::Uppercase => "uppercase",
            PasswordRule::Digit => "digit",
            PasswordRule::Special => "special",
            PasswordRule::Common => "common",
            PasswordRule::ContainsPersonalData => "contains_personal_data",
        }
    }

    /// What the user must fix, in Vietnamese.
    pub fn message_vi(&self) -> &'static str {
        match self {
            PasswordRule::MinLength => "Mật khẩu phải có ít nhất 8 ký tự.",
            PasswordRule::MaxLength => "Mật khẩu không được dài quá 128 ký tự.",
            PasswordRule::Lowercase => "Mật khẩu phải có ít nhất một chữ thường.",
            PasswordRule::Uppercase => "Mật khẩu phải có ít nhất một chữ in hoa.",
            PasswordRule::Digit => "Mật khẩu phải có ít nhất một chữ số.",
            PasswordRule::Special => {
                "Mật khẩu phải có ít nhất một ký tự đặc biệt (ví dụ: @ # $ % & * ! ?)."
            }
            PasswordRule::Common => {
                "Mật khẩu này quá phổ biến nên dễ bị đoán ra. Vui lòng chọn mật khẩu khác."
            }
            PasswordRule::ContainsPersonalData => {
                "Mật khẩu không được chứa số CMND/CCCD, số điện thoại, tên đăng nhập hoặc họ tên của anh/chị."
            }
        }
    }
}

impl fmt::Display for PasswordRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message_vi())
    }
}

/// The person's own data, which a password must not contain. Any field may
/// be left out; pass the raw or parsed values (`as_str()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PasswordContext<'a> {
    pub id_number: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub full_name: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// A password that meets the policy. Held in NFC so that the same password
/// typed on any device hashes the same: when verifying a login, hash
/// [`normalize`]`(typed)` rather than the raw input.
///
/// `Debug` never shows the secret; there is no `Display` and no serde.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Checks `s` against every rule and returns all the broken ones, in
    /// [`PasswordRule::ALL`] order.
    pub fn parse(s: &str, ctx: &PasswordContext<'_>) -> Result<Password, Vec<PasswordRule>> {
        let s = normalize(s);
        let mut broken = Vec::new();
        let count = s.chars().count();
        if count < MIN_CHARS {
            broken.push(PasswordRule::MinLength);
        }
        if count > MAX_CHARS {
            broken.push(PasswordRule::MaxLength);
        }
        if !s.chars().any(char::is_lowercase) {
            broken.push(PasswordRule::Lowercase);
        }
        if !s.chars().any(char::is_uppercase) {
            broken.push(PasswordRule::Uppercase);
        }
        if !s.chars().any(|c| c.is_ascii_digit()) {
            broken.push(PasswordRule::Digit);
        }
        if !s.chars().any(is_special) {
            broken.push(PasswordRule::Special);
        }
        // "Too common" is said of a password that is long enough: a short
        // one is refused for its length, not for a word it contains.
        if count >= MIN_CHARS && is_common(&s) {
            broken.push(PasswordRule::Common);
        }
        if contains_personal_data(&s, ctx) {
            broken.push(PasswordRule::ContainsPersonalData);
        }
        if broken.is_empty() {
            Ok(Password(s))
        } else {
            Err(broken)
        }
    }

    /// The secret, for hashing. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The form of a typed password that is hashed and verified (NFC).
pub fn normalize(typed: &str) -> String {
    text::nfc(typed)
}

/// A special character: anything visible that is neither a letter (in any
/// script, so Vietnamese letters are letters), a digit, nor a space.
fn is_special(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control()
}

static COMMON_LIST: &str = include_str!("common-passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_LIST
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Whether `password` is, or is a thin disguise of, a common password: the
/// whole (case-insensitive); the word left after stripping digits and
/// symbols from its ends ("Matkhau@123" → "matkhau", "@Admin2024" → "admin");
/// the same with common letter substitutions undone ("P@ssw0rd1" →
/// "password"); and the same without Vietnamese diacritics ("Mậtkhẩu@1").
pub fn is_common(password: &str) -> bool {
    let lower = text::nfc(&password.to_lowercase());
    if COMMON.contains(lower.as_str()) {
        return true;
    }
    let not_letter = |c: char| !c.is_alphabetic();
    let end = lower.trim_end_matches(not_letter);
    let mut cores = vec![
        end.to_owned(),
        end.trim_start_matches(not_letter).to_owned(),
    ];
    for one in ['i', 'l'] {
        let plain = undo_substitutions(end, one);
        cores.push(plain.trim_start_matches(not_letter).to_owned());
        cores.push(plain);
    }
    let folded: Vec<String> = cores
        .iter()
        .map(|c| text::fold(c).replace(' ', ""))
        .collect();
    cores.extend(folded);
    cores
        .iter()
        .any(|core| core.chars().count() >= 2 && COMMON.contains(core.as_str()))
}

/// Undoes "leet" substitutions (`p@ssw0rd` → `password`); `one` is what `1`
/// stands for.
fn undo_substitutions(s: &str, one: char) -> String {
    s.chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '0' => 'o',
            '3' => 'e',
            '1' => one,
            '!' => 'i',
            '$' | '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// Folded (lowercase, no diacritics, đ → d) and without spaces.
fn compact(s: &str) -> String {
    text::fold(s).replace(' ', "")
}

/// Whether the password contains the ID number, the phone number (as
/// `0xxxxxxxxx`, `84xxxxxxxxx` or the bare 9-digit subscriber number), the
/// username, the whole name without spaces ("nguyenvanhung"), or one of the
/// middle/given names of at least 4 letters ("hung" of "Nguyễn Văn Hùng").
/// The family name alone (first word) is not checked: a handful of family
/// names are shared by most people and would refuse ordinary words
/// ("Trần" → "tran" in "Tranquility"); the common ones are on the common
/// password list anyway. Comparison ignores case and diacritics.
fn contains_personal_data(password: &str, ctx: &PasswordContext<'_>) -> bool {
    let haystack = compact(password);
    let contains = |needle: &str, min_chars: usize| {
        needle.chars().count() >= min_chars && haystack.contains(needle)
    };
    if let Some(id) = ctx.id_number
        && contains(&compact(id), 6)
    {
        return true;
    }
    if let Some(phone) = ctx.phone {
        let digits = text::digits_only(phone);
        let subscriber = digits
            .get(digits.len().saturating_sub(9)..)
            .unwrap_or_default();
        if contains(subscriber, 6) {
            return true;
        }
    }
    if let Some(username) = ctx.username
        && contains(&compact(username), 4)
    {
        return true;
    }
    if let Some(name) = ctx.full_name {
        let folded = text::fold(name);
        if contains(&folded.replace(' ', ""), 4) {
            return true;
        }
        if folded.split(' ').skip(1).any(|word| contains(word, 4)) {
            return true;
        }
    }
    false
}

const GEN_LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
const GEN_UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const GEN_DIGITS: &[u8] = b"23456789";
const GEN_SPECIALS: &[u8] = b"@#$%&*+-=?";

/// Makes a [`GENERATED_LEN`]-character password that meets the policy, for
/// sending by SMS: at least one lowercase letter, uppercase letter, digit and
/// special character, the rest from all four, shuffled. The alphabet leaves
/// out look-alikes (`0 O o 1 l I`) and uses only characters of the GSM 7-bit
/// SMS alphabet.
///
/// `next_u32` must come from a cryptographically secure generator (for
/// example `rand`'s `OsRng`/`ThreadRng`); it is called a few dozen times.
pub fn generate_with(mut next_u32: impl FnMut() -> u32) -> String {
    let mut candidate = generate_once(&mut next_u32);
    // A random candidate practically never trips the common-password check;
    // retry a bounded number of times if it does (never loops forever, even
    // on a broken generator).
    for _ in 0..16 {
        if Password::parse(&candidate, &PasswordContext::default()).is_ok() {
            break;
        }
        candidate = generate_once(&mut next_u32);
    }
    candidate
}

fn generate_once(next_u32: &mut impl FnMut() -> u32) -> String {
    let all: Vec<u8> = [GEN_LOWER, GEN_UPPER, GEN_DIGITS, GEN_SPECIALS].concat();
    let mut chars: Vec<u8> = Vec::with_capacity(GENERATED_LEN);
    for class in [GEN_LOWER, GEN_UPPER, GEN_DIGITS, GEN_SPECIALS] {
        chars.push(pick(class, next_u32));
    }
    while chars.len() < GENERATED_LEN {
        chars.push(pick(&all, next_u32));
    }
    // Fisher–Yates shuffle.
    for i in (1..chars.len()).rev() {
        let j = below(i + 1, next_u32);
        chars.swap(i, j);
    }
    chars.into_iter().map(char::from).collect()
}

fn pick(set: &[u8], next_u32: &mut impl FnMut() -> u32) -> u8 {
    set.get(below(set.len(), next_u32)).copied().unwrap_or(b'a')
}

/// A number in `0..n` from one `u32` (Lemire's multiply-shift; the bias is
/// below n / 2³², negligible for n ≤ 66).
fn below(n: usize, next_u32: &mut impl FnMut() -> u32) -> usize {
    let wide = u64::from(next_u32()) * n as u64;
    (wide >> 32) as usize
}

/// The Vietnamese messages of the broken rules, as one sentence each.
pub fn rules_message(rules: &[PasswordRule]) -> String {
    let mut parts: Vec<&str> = rules.iter().map(|r| r.message_vi()).collect();
    parts.dedup();
    parts.join(" ")
}

#[cfg(test)]
mod common_tests {
    use super::*;

    #[test]
    fn a_short_password_is_refused_for_its_length_not_as_common() {
        let ctx = PasswordContext::default();
        let r = Password::parse("abc", &ctx).unwrap_err();
        assert!(r.contains(&PasswordRule::MinLength));
        assert!(!r.contains(&PasswordRule::Common), "{r:?}");
        let r = Password::parse("Matkhau@123", &ctx).unwrap_err();
        assert_eq!(r, vec![PasswordRule::Common]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> PasswordContext<'static> {
        PasswordContext::default()
    }

    fn rules(s: &str) -> Vec<PasswordRule> {
        Password::parse(s, &none()).err().unwrap_or_default()
    }

    #[test]
    fn accepts_strong_passwords() {
        for s in [
            "Tr0ng-Dong!Xanh",
            "Xk9#mPq2vL",
            "Hq7$wZ3n",
            "correct-Horse-battery-7",
            "Mưa rơi 2 giọt!",
            "Đường#Phố9x",
            "ÂuLạc@2024vn",
            "Zz9!Zz9!",
            "Gx7!pW3qR",
            &format!("Aa1!{}", "x".repeat(124)),
        ] {
            let p = Password::parse(s, &none()).unwrap_or_else(|r| panic!("{s:?}: {r:?}"));
            assert_eq!(p.expose(), s);
        }
    }

    #[test]
    fn reports_every_broken_rule() {
        use PasswordRule::*;
        assert_eq!(
            rules(""),
            vec![MinLength, Lowercase, Uppercase, Digit, Special]
        );
        // Too short: refused for its length, not as "too common".
        assert_eq!(rules("abc"), vec![MinLength, Uppercase, Digit, Special]);
        assert_eq!(rules("Ab1!"), vec![MinLength]);
        assert_eq!(rules("Ab1!xyz"), vec![MinLength]);
        assert_eq!(rules("password"), vec![Uppercase, Digit, Special, Common]);
        assert_eq!(rules("PASSWORD"), vec![Lowercase, Digit, Special, Common]);
        assert_eq!(rules("XKCDQWZB"), vec![Lowercase, Digit, Special]);
        assert_eq!(rules("xkcdqwzb"), vec![Uppercase, Digit, Special]);
        assert_eq!(rules("Xkcdqwzb"), vec![Digit, Special]);
        assert_eq!(rules("Xkcdqwz9"), vec![Special]);
        assert_eq!(rules("Xkcdqw!z"), vec![Digit]);
        assert_eq!(rules("XKCDQ!9Z"), vec![Lowercase]);
        assert_eq!(rules("xkcdq!9z"), vec![Uppercase]);
        assert_eq!(rules("38291746"), vec![Lowercase, Uppercase, Special]);
        assert_eq!(rules("!@#%^&*("), vec![Lowercase, Uppercase, Digit]);
        assert_eq!(rules(&format!("Aa1!{}", "x".repeat(125))), vec![MaxLength]);
        assert_eq!(
            rules("Xk c d q 9 z"),
            vec![Special],
            "a space is not special"
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 7 characters but 14+ bytes: too short.
        assert_eq!(rules("Đường9!"), vec![PasswordRule::MinLength]);
        // 8 characters: fine.
        assert!(Password::parse("Đường9!x", &none()).is_ok());
        // 128 multi-byte characters: fine; 129: too long.
        let ok = format!("Ư1!{}", "ữ".repeat(125));
        assert_eq!(ok.chars().count(), 128);
        assert!(Password::parse(&ok, &none()).is_ok());
        let long = format!("Ư1!{}", "ữ".repeat(126));
        assert_eq!(rules(&long), vec![PasswordRule::MaxLength]);
    }

    #[test]
    fn vietnamese_letters_are_letters_not_specials() {
        // "ơ", "ư", "đ" are lowercase letters, "Ơ", "Đ" uppercase ones.
        assert_eq!(rules("đườngphố1A"), vec![PasswordRule::Special]);
        assert_eq!(rules("ĐƯỜNGPHỐ1!"), vec![PasswordRule::Lowercase]);
        assert_eq!(rules("ĐƯỜNGphố!x"), vec![PasswordRule::Digit]);
    }

    #[test]
    fn nfd_input_is_stored_as_nfc() {
        use unicode_normalization::UnicodeNormalization;
        let nfc = "Đường#Phố9x";
        let nfd: String = nfc.nfd().collect();
        assert_ne!(nfd, nfc);
        let p = Password::parse(&nfd, &none()).unwrap();
        assert_eq!(p.expose(), nfc);
        assert_eq!(normalize(&nfd), nfc);
        assert_eq!(p, Password::parse(nfc, &none()).unwrap());
    }

    #[test]
    fn common_list_is_loaded_and_lowercase() {
        assert!(COMMON.len() >= 1000, "{} entries", COMMON.len());
        for entry in COMMON.iter() {
            assert_eq!(*entry, entry.to_lowercase(), "{entry:?} must be lowercase");
            assert_eq!(*entry, text::nfc(entry), "{entry:?} must be NFC");
        }
        for word in [
            "123456",
            "password",
            "qwerty",
            "matkhau",
            "anhyeuem",
            "123456a@",
            "abc@12345",
            "admin@123",
        ] {
            assert!(COMMON.contains(word), "{word}");
        }
    }

    #[test]
    fn refuses_common_passwords() {
        for s in [
            "Abc@12345",
            "Abc@123456",
            "Abcd@1234",
            "Aa@123456",
            "Aa123456@",
            "123456Aa@",
            "Matkhau@123",
            "MatKhau@2024",
            "Mậtkhẩu@123",
            "M@tkh@u123",
            "Anhyeuem@123",
            "Anhyeuem123!",
            "Emyeuanh#1",
            "P@ssw0rd",
            "P@ssw0rd1",
            "P@$$w0rd2024",
            "Password@123",
            "Password1!",
            "Qwerty@123",
            "Admin@2025",
            "@Admin2025",
            "123@Admin",
            "Vietnam@2024",
            "Hanoi@12345",
            "Dichvucong@1",
            "Welcome@123",
            "Iloveyou!1",
            "Tinhyeu@99",
            "Congdan@123",
            "Zaq1@wsx",
            "1Qaz@wsx",
        ] {
            let broken = rules(s);
            assert!(broken.contains(&PasswordRule::Common), "{s:?} → {broken:?}");
        }
        assert!(is_common("PASSWORD"));
        assert!(is_common("123456"));
        assert!(is_common("matkhau"));
        assert!(is_common("L3tm31n!!"), "leet with 1 as i and 3 as e");
    }

    #[test]
    fn does_not_flag_uncommon_passwords() {
        for s in [
            "Xk9#mPq2vL",
            "Tr0ng-Dong!Xanh",
            "Zy@8812Qp",
            "Q!7zkT4m",
            "Nhà#Tôi9Ở",
        ] {
            assert!(!is_common(s), "{s:?}");
        }
        // A single letter left after stripping is never looked up.
        assert!(!is_common("A1234567!"), "core 'a' is too short to look up");
    }

    #[test]
    fn refuses_personal_data() {
        let ctx = PasswordContext {
            id_number: Some("001090123456"),
            phone: Some("0912345678"),
            full_name: Some("Trần Văn Hùng"),
            username: Some("001090123456"),
        };
        let personal = |s: &str| {
            Password::parse(s, &ctx)
                .err()
                .unwrap_or_default()
                .contains(&PasswordRule::ContainsPersonalData)
        };
        for s in [
            "Xx!001090123456",
            "Xx!0912345678",
            "Xx!912345678",
            "Xx!+84912345678",
            "Xx!84912345678",
            "Trầnvănhùng@1",
            "TranVanHung@9x",
            "tran van hung!X9",
            "Hung@1990xyz",
            "HÙNG#2024qz",
            "Xyz9!hungpro",
        ] {
            assert!(personal(s), "{s:?} should be refused");
        }
        for s in [
            "Tranquility#42",
            "Vanilla#2024x",
            "Xk9#mPq2vL",
            "Xx!00109012",
            "Xx!9123456Q",
        ] {
            assert!(!personal(s), "{s:?} should be accepted");
            assert!(Password::parse(s, &ctx).is_ok(), "{s:?}");
        }
    }

    #[test]
    fn personal_data_edge_cases() {
        let phone_intl = PasswordContext {
            phone: Some("+84 912 345 678"),
            ..none()
        };
        assert!(Password::parse("Ab!0912345678", &phone_intl).is_err());
        let cmnd = PasswordContext {
            id_number: Some("123456789"),
            ..none()
        };
        assert_eq!(
            Password::parse("Zx!123456789", &cmnd).err(),
            Some(vec![PasswordRule::ContainsPersonalData])
        );
        let short_user = PasswordContext {
            username: Some("abc"),
            ..none()
        };
        assert!(
            Password::parse("Xabc!9zQw", &short_user).is_ok(),
            "usernames < 4 chars are not checked"
        );
        let user = PasswordContext {
            username: Some("Nguyen.Hoa"),
            ..none()
        };
        assert!(Password::parse("Q9!nguyen.hoaX", &user).is_err());
        let one_word = PasswordContext {
            full_name: Some("Ksor"),
            ..none()
        };
        assert!(Password::parse("Q9!ksorQQ", &one_word).is_err());
        let short_names = PasswordContext {
            full_name: Some("Lê Văn An"),
            ..none()
        };
        assert!(
            Password::parse("Q9!anvan#X", &short_names).is_ok(),
            "tokens < 4 letters"
        );
        assert!(
            Password::parse("Q9!levanan#X", &short_names).is_err(),
            "whole name"
        );
        let dd = PasswordContext {
            full_name: Some("Đỗ Đình Đức"),
            ..none()
        };
        assert!(Password::parse("Q9!dinhXY", &dd).is_err(), "đ folds to d");
        let empty = PasswordContext {
            id_number: Some(""),
            phone: Some(""),
            full_name: Some(""),
            username: Some(""),
        };
        assert!(Password::parse("Xk9#mPq2vL", &empty).is_ok());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let p = Password::parse("Xk9#mPq2vL", &none()).unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert_eq!(format!("{:?}", Ok::<_, ()>(p)), "Ok(Password(***))");
    }

    #[test]
    fn rule_codes_and_messages() {
        let codes: Vec<&str> = PasswordRule::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            [
                "min_length",
                "max_length",
                "lowercase",
                "uppercase",
                "digit",
                "special",
                "common",
                "contains_personal_data"
            ]
        );
        for rule in PasswordRule::ALL {
            assert!(rule.message_vi().starts_with("Mật khẩu"), "{rule:?}");
            assert_eq!(rule.to_string(), rule.message_vi());
            let json = serde_json::to_string(&rule).unwrap();
            assert_eq!(json, format!("\"{}\"", rule.code()));
            assert_eq!(serde_json::from_str::<PasswordRule>(&json).unwrap(), rule);
        }
        assert_eq!(
            policy_text_vi(),
            "Sử dụng 8 ký tự trở lên bao gồm chữ thường, chữ in hoa, số và ký tự đặc biệt."
        );
    }

    /// SplitMix64: a deterministic stand-in for the CSPRNG in tests.
    fn splitmix(seed: u64) -> impl FnMut() -> u32 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 32) as u32
        }
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        let mut rng = splitmix(42);
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let pw = generate_with(&mut rng);
            assert_eq!(pw.chars().count(), GENERATED_LEN, "{pw}");
            assert!(Password::parse(&pw, &none()).is_ok(), "{pw}");
            assert!(!pw.chars().any(|c| "0Oo1lI".contains(c)), "{pw}");
            assert!(pw.bytes().all(|b| GEN_LOWER.contains(&b)
                || GEN_UPPER.contains(&b)
                || GEN_DIGITS.contains(&b)
                || GEN_SPECIALS.contains(&b)));
            seen.insert(pw);
        }
        assert_eq!(seen.len(), 1000, "no repeats");
    }

    #[test]
    fn generator_uses_the_whole_alphabet_and_all_positions() {
        let mut rng = splitmix(7);
        let mut used = HashSet::new();
        let mut special_positions = HashSet::new();
        for _ in 0..2000 {
            let pw = generate_with(&mut rng);
            used.extend(pw.bytes());
            for (i, b) in pw.bytes().enumerate() {
                if GEN_SPECIALS.contains(&b) {
                    special_positions.insert(i);
                }
            }
        }
        let alphabet = GEN_LOWER.len() + GEN_UPPER.len() + GEN_DIGITS.len() + GEN_SPECIALS.len();
        assert_eq!(used.len(), alphabet);
        assert_eq!(
            special_positions.len(),
            GENERATED_LEN,
            "the shuffle moves classes around"
        );
    }

    #[test]
    fn generator_terminates_on_a_broken_rng() {
        for constant in [0, 1, u32::MAX / 2, u32::MAX] {
            let pw = generate_with(|| constant);
            assert_eq!(pw.len(), GENERATED_LEN);
        }
    }
}
