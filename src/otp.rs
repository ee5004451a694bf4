//! One-time codes: 6 digits from the OS CSPRNG, stored only as an HMAC bound
//! to the flow that asked for them. Pure rules; the caller persists the state.
//! See docs/design/otp.md.

use serde::{Deserialize, Serialize};

use crate::util;

/// A code is valid this long (seconds).
pub const TTL: i64 = 120;
/// A new code may be asked for this long after the last one (seconds).
pub const RESEND_COOLDOWN: i64 = 60;
/// Wrong tries per code; then it is dead.
pub const MAX_TRIES: u8 = 5;
/// Wrong tries per flow across resends; then the flow is dead.
pub const MAX_WRONG_PER_FLOW: u32 = 100;
/// Sends per phone per hour and per day.
pub const PER_PHONE_HOUR: usize = 10;
pub const PER_PHONE_DAY: usize = 50;
/// Codes asked for by anonymous flows (registration, password reset) per
/// client IP per hour, whether or not an SMS actually goes out.
pub const PER_IP_HOUR: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpState {
    hash: [u8; 32],
    pub issued_at: i64,
    pub expires_at: i64,
    pub tries_left: u8,
    pub used: bool,
    pub sends: u32,
    pub wrong_total: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OtpError {
    #[error("Mã OTP đã hết hiệu lực. Vui lòng bấm gửi lại để nhận mã mới.")]
    Expired,
    #[error("Mã OTP không đúng. Anh/chị còn {tries_left} lần thử.")]
    Wrong { tries_left: u8 },
    #[error("Mã OTP đã bị khóa do nhập sai quá nhiều lần. Vui lòng gửi lại để nhận mã mới.")]
    Dead,
    #[error("Mã OTP đã được sử dụng.")]
    Used,
    #[error("Chưa có mã OTP nào được gửi.")]
    NotSent,
    #[error("Vui lòng chờ {retry_after} giây trước khi yêu cầu mã mới.")]
    Cooldown { retry_after: i64 },
    #[error("Số điện thoại này đã nhận quá nhiều mã. Vui lòng thử lại sau {retry_after} giây.")]
    PhoneCap { retry_after: i64 },
    #[error("Phiên xác thực đã bị khóa do nhập sai quá nhiều lần. Vui lòng bắt đầu lại.")]
    FlowDead,
}

impl OtpError {
    /// Seconds until a new code may be asked for, where that applies.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            OtpError::Cooldown { retry_after } | OtpError::PhoneCap { retry_after } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }
}

/// Six digits, uniformly from the OS CSPRNG.
pub fn generate_code() -> String {
    format!("{:06}", util::random_below(1_000_000))
}

fn digest(key: &[u8; 32], flow_id: &str, code: &str) -> [u8; 32] {
    util::hmac_sha256(key, &[b"otp", flow_id.as_bytes(), code.as_bytes()])
}

/// Checks the per-phone caps against earlier send times; returns the send
/// list with `now` added, trimmed to the last 24 hours.
pub fn check_phone_caps(sends: &[i64], now: i64) -> Result<Vec<i64>, OtpError> {
    let mut recent: Vec<i64> = sends.iter().copied().filter(|t| now - t < 86_400).collect();
    recent.sort_unstable();
    let in_hour: Vec<i64> = recent.iter().copied().filter(|t| now - t < 3600).collect();
    if in_hour.len() >= PER_PHONE_HOUR {
        return Err(OtpError::PhoneCap {
            retry_after: (in_hour[in_hour.len() - PER_PHONE_HOUR] + 3600 - now).max(1),
        });
    }
    if recent.len() >= PER_PHONE_DAY {
        return Err(OtpError::PhoneCap {
            retry_after: (recent[recent.len() - PER_PHONE_DAY] + 86_400 - now).max(1),
        });
    }
    recent.push(now);
    Ok(recent)
}

impl OtpState {
    /// Issues a new code for a flow, replacing `prev` (whose code stops
    /// working). Refused during the resend cooldown. Returns the state to
    /// store and the code to send.
    pub fn issue(
        prev: Option<&OtpState>,
        key: &[u8; 32],
        flow_id: &str,
        now: i64,
    ) -> Result<(OtpState, String), OtpError> {
        if let Some(p) = prev {
            if p.wrong_total >= MAX_WRONG_PER_FLOW {
                return Err(OtpError::FlowDead);
            }
            let wait = p.issued_at + RESEND_COOLDOWN - now;
            if wait > 0 {
                return Err(OtpError::Cooldown { retry_after: wait });
            }
        }
        let code = generate_code();
        let state = OtpState {
            hash: digest(key, flow_id, &code),
            issued_at: now,
            expires_at: now + TTL,
            tries_left: MAX_TRIES,
            used: false,
            sends: prev.map_or(0, |p| p.sends) + 1,
            wrong_total: prev.map_or(0, |p| p.wrong_total),
        };
        Ok((state, code))
    }

    /// Seconds until a resend is allowed (0 = now).
    pub fn resend_wait(&self, now: i64) -> i64 {
        (self.issued_at + RESEND_COOLDOWN - now).max(0)
    }

    /// Checks a typed code. A wrong code uses up a try; the fifth wrong one
    /// kills the code. A right code works once.
    pub fn verify(
        &mut self,
        key: &[u8; 32],
        flow_id: &str,
        code: &str,
        now: i64,
    ) -> Result<(), OtpError> {
        if self.used {
            return Err(OtpError::Used);
        }
        if self.wrong_total >= MAX_WRONG_PER_FLOW {
            return Err(OtpError::FlowDead);
        }
        if self.tries_left == 0 {
            return Err(OtpError::Dead);
        }
        if now > self.expires_at {
            return Err(OtpError::Expired);
        }
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let ok = code.len() == 6
            && code.bytes().all(|b| b.is_ascii_digit())
            && util::ct_eq(&digest(key, flow_id, &code), &self.hash);
        if ok {
            self.used = true;
            return Ok(());
        }
        self.tries_left -= 1;
        self.wrong_total += 1;
        if self.tries_left == 0 {
            Err(OtpError::Dead)
        } else {
            Err(OtpError::Wrong {
                tries_left: self.tries_left,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: [u8; 32] = [7; 32];

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200).map(|_| generate_code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(codes.len() > 190);
    }

    #[test]
    fn right_code_works_once_and_is_bound_to_its_flow() {
        let (mut s, code) = OtpState::issue(None, &K, "f1", 1000).unwrap();
        let mut other = s.clone();
        assert_eq!(
            other.verify(&K, "f2", &code, 1001),
            Err(OtpError::Wrong { tries_left: 4 })
        );
        assert_eq!(s.verify(&K, "f1", &code, 1001), Ok(()));
        assert_eq!(s.verify(&K, "f1", &code, 1002), Err(OtpError::Used));
    }

    #[test]
    fn expires_after_two_minutes() {
        let (mut s, code) = OtpState::issue(None, &K, "f", 1000).unwrap();
        assert_eq!(s.clone().verify(&K, "f", &code, 1000 + TTL), Ok(()));
        assert_eq!(s.verify(&K, "f", &code, 1001 + TTL), Err(OtpError::Expired));
    }

    #[test]
    fn five_wrong_tries_kill_the_code() {
        let (mut s, code) = OtpState::issue(None, &K, "f", 0).unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for left in (1..5).rev() {
            assert_eq!(
                s.verify(&K, "f", wrong, 1),
                Err(OtpError::Wrong { tries_left: left })
            );
        }
        assert_eq!(s.verify(&K, "f", wrong, 1), Err(OtpError::Dead));
        assert_eq!(s.verify(&K, "f", &code, 1), Err(OtpError::Dead));
    }

    #[test]
    fn resend_replaces_code_after_cooldown_and_keeps_wrong_count() {
        let (mut s, old) = OtpState::issue(None, &K, "f", 0).unwrap();
        let wrong = if old == "000000" { "111111" } else { "000000" };
        let _ = s.verify(&K, "f", wrong, 1);
        assert_eq!(
            OtpState::issue(Some(&s), &K, "f", 30).unwrap_err(),
            OtpError::Cooldown { retry_after: 30 }
        );
        let (mut s2, new) = OtpState::issue(Some(&s), &K, "f", 60).unwrap();
        assert_eq!(s2.wrong_total, 1);
        assert_eq!(s2.sends, 2);
        if old != new {
            assert!(matches!(
                s2.clone().verify(&K, "f", &old, 61),
                Err(OtpError::Wrong { .. })
            ));
        }
        assert_eq!(s2.verify(&K, "f", &new, 61), Ok(()));
    }

    #[test]
    fn flow_dies_after_many_wrong_tries_across_resends() {
        let (mut s, _) = OtpState::issue(None, &K, "f", 0).unwrap();
        s.wrong_total = MAX_WRONG_PER_FLOW;
        assert_eq!(
            OtpState::issue(Some(&s), &K, "f", 1000).unwrap_err(),
            OtpError::FlowDead
        );
    }

    #[test]
    fn phone_caps_per_hour_and_day() {
        let mut sends = vec![];
        let mut t = 0;
        for _ in 0..10 {
            sends = check_phone_caps(&sends, t).unwrap();
            t += 61;
        }
        let e = check_phone_caps(&sends, t).unwrap_err();
        assert!(
            matches!(e, OtpError::PhoneCap { retry_after } if retry_after > 0 && retry_after <= 3600)
        );
        // Spread over the day: 50 allowed, the 51st refused.
        let day: Vec<i64> = (0..50).map(|i| i * 1000).collect();
        assert!(check_phone_caps(&day, 50_000).is_err());
        assert!(check_phone_caps(&day[1..], 50_000).is_ok());
        // Old sends fall out of the window.
        assert!(check_phone_caps(&day, 200_000).is_ok());
    }
}
