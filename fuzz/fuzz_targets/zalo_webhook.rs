//! Zalo webhook: signature check + event parsing over an arbitrary raw body
//! and header, then the conversation-turn extraction. Half of the inputs get
//! a valid signature so the code after the MAC check is reached too.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use motcua::channels::zalo;
use motcua::config::Config;

fn cfg() -> &'static Config {
    static CFG: OnceLock<Config> = OnceLock::new();
    CFG.get_or_init(|| {
        let mut c = Config::load_from(None, |_| None).expect("default config");
        c.zalo_app_id = Some("app1".into());
        c.zalo_oa_secret = Some("s3cret".into());
        c
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let now_ms = 1_700_000_000_000;
    let header = if mode & 1 == 0 {
        // Sign over whatever timestamp the body carries (if it is JSON).
        let ts = serde_json_timestamp(rest);
        Some(format!(
            "mac={}",
            zalo::signature("app1", rest, &ts, "s3cret")
        ))
    } else {
        let split = (mode as usize >> 1).min(rest.len());
        Some(String::from_utf8_lossy(&rest[..split]).into_owned())
    };
    let _ = zalo::verify(cfg(), header.as_deref(), rest, now_ms);
    let _ = zalo::verify(cfg(), None, rest, now_ms);
    if let Ok(v) = zalo::verify(cfg(), header.as_deref(), rest, now_ms) {
        let _ = zalo::handled(&v);
    }
    let _ = zalo::incoming(rest);
});

/// Best-effort extraction of `"timestamp"` as the server signs it.
fn serde_json_timestamp(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let Some(at) = s.find("\"timestamp\"") else {
        return String::new();
    };
    let tail = s[at + 11..]
        .trim_start()
        .trim_start_matches(':')
        .trim_start();
    let tail = tail.trim_start_matches('"');
    tail.chars().take_while(|c| c.is_ascii_digit()).collect()
}
