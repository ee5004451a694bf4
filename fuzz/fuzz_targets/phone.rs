//! `PhoneNumber::parse`: a parsed number parses again to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use motcua::domain::PhoneNumber;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = PhoneNumber::parse(text) {
        let again = PhoneNumber::parse(p.as_str()).expect("a parsed number parses again");
        assert_eq!(again, p);
    }
});
