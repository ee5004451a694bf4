//! Small helpers: OS randomness, hashing, time, masking.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Bytes from the OS CSPRNG. The OS generator failing is not recoverable.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if let Err(e) = getrandom::fill(&mut b) {
        // Without an OS random source no secret can be made safely.
        tracing::error!(error = %e, "OS random number generator failed");
        std::process::abort();
    }
    b
}

pub fn random_hex(n_bytes: usize) -> String {
    let mut v = vec![0u8; n_bytes];
    if getrandom::fill(&mut v).is_err() {
        std::process::abort();
    }
    hex::encode(v)
}

/// A 256-bit URL-safe token (session ids, flow ids, setup links).
pub fn random_token() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A uniformly random number in `0..n` from the OS CSPRNG (rejection sampling).
pub fn random_below(n: u32) -> u32 {
    let zone = u32::MAX - (u32::MAX % n);
    loop {
        let v = u32::from_le_bytes(random_bytes::<4>());
        if v < zone {
            return v % n;
        }
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| {
        // HMAC accepts keys of any length.
        unreachable!()
    });
    for p in parts {
        m.update(&(p.len() as u32).to_be_bytes());
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// Constant-time comparison.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Replaces every run of 4 or more digits by stars of the same length, for
/// log lines (codes, phone and ID numbers never reach a log in full).
/// Creates `dir` (and its parents) and makes it readable by the owner
/// only (0700 on Unix): data, uploads and backups hold citizens' records.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Makes every folder under `root` (and `root`) owner-only (0700), for a
/// data dir made before folders were created private.
pub fn tighten_dirs(root: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if !root.is_dir() {
            return Ok(());
        }
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700))?;
            for e in std::fs::read_dir(&d)?.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = root;
    Ok(())
}

pub fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 4 {
            out.extend(run.chars().map(|_| '*'));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The clock. Tests may move it forward; production reads the system time.
#[derive(Debug, Default)]
pub struct Clock {
    offset: std::sync::atomic::AtomicI64,
}

impl Clock {
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.offset.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn advance(&self, secs: i64) {
        self.offset
            .fetch_add(secs, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Formats a unix time as dd/mm/yyyy HH:MM in Vietnam time (UTC+7).
pub fn fmt_time(ts: i64) -> String {
    use chrono::TimeZone;
    let tz = chrono::FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| unreachable!());
    match tz.timestamp_opt(ts, 0).single() {
        Some(t) => t.format("%d/%m/%Y %H:%M").to_string(),
        None => String::new(),
    }
}

/// Formats a unix time as dd/mm/yyyy in Vietnam time.
pub fn fmt_date(ts: i64) -> String {
    fmt_time(ts).chars().take(10).collect()
}

/// Parses dd/mm/yyyy as the start of that day in Vietnam time.
pub fn parse_day_start(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%d/%m/%Y").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() - 7 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_long_digit_runs_only() {
        assert_eq!(
            mask_digits("Ma OTP 123456 het han sau 2 phut"),
            "Ma OTP ****** het han sau 2 phut"
        );
        assert_eq!(mask_digits("0912345678"), "**********");
        assert_eq!(mask_digits("2 phut, 123"), "2 phut, 123");
    }

    #[test]
    fn random_below_stays_in_range() {
        for _ in 0..1000 {
            assert!(random_below(10) < 10);
        }
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn dates_round_trip_in_vietnam_time() {
        let t = parse_day_start("26/11/2026").unwrap();
        assert_eq!(fmt_date(t), "26/11/2026");
        assert_eq!(fmt_time(t), "26/11/2026 00:00");
        assert!(parse_day_start("31/02/2026").is_none());
    }

    #[test]
    fn hmac_separates_parts() {
        assert_ne!(
            hmac_sha256(b"k", &[b"ab", b"c"]),
            hmac_sha256(b"k", &[b"a", b"bc"])
        );
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
    }
}
