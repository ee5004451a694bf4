//! The FAQ text normaliser (Vietnamese folding, abbreviations, ID/phone
//! tokens) and the secret stripping applied to chat text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = motcua::helpdesk::normalize(text);
    let _ = motcua::helpdesk::fold(text);
    let _ = motcua::helpdesk::strip_secrets(text);
    let _ = motcua::helpdesk::redact(text);
    let _ = motcua::helpdesk::looks_sensitive(text);
});
