//! `BirthDate::parse` (and `parse_on` with a fixed today, so runs repeat).
#![no_main]
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use motcua::domain::BirthDate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = BirthDate::parse(text);
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let _ = BirthDate::parse_on(text, today);
});
