//! Upload type detection by content (`upload::detect`: PDF, OLE2 .doc with a
//! WordDocument stream, .docx zip walk) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = motcua::upload::detect(data);
    let _ = motcua::upload::clean_file_name(&String::from_utf8_lossy(data));
    let _ = motcua::upload::attachment_disposition(&String::from_utf8_lossy(data));
});
