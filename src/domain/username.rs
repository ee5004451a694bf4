//! Usernames of the console and the portal.

use super::Invalid;

/// Staff usernames: 3–64 of a–z, 0–9, `.`, `_`, `-` (case-folded); citizens'
/// usernames are their ID numbers, which also fit.
pub fn parse(s: &str) -> Result<String, Invalid> {
    let u = s.trim().to_lowercase();
    if u.is_empty() {
        return Err(Invalid("Vui lòng nhập tên đăng nhập.".into()));
    }
    if !(3..=64).contains(&u.len())
        || !u
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Invalid(
            "Tên đăng nhập gồm 3–64 ký tự: chữ cái không dấu, chữ số, dấu chấm, gạch dưới hoặc gạch ngang."
                .into(),
        ));
    }
    Ok(u)
}
