//! `CitizenId::parse`: a parsed ID parses again to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use motcua::domain::CitizenId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = CitizenId::parse(text) {
        let again = CitizenId::parse(id.as_str()).expect("a parsed ID parses again");
        assert_eq!(again, id);
    }
});
