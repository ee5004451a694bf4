//! The daily SMS budget (`MOTCUA_SMS_DAILY_LIMIT`, segments per local day,
//! Vietnam time). Pure rules; the day's count lives in the store
//! (`store::sms::segments_on`) and is taken in the same write transaction
//! as the message it counts, so two requests cannot both spend the last
//! segments.
//!
//! Every queued message counts (a message, once queued, is sent: nothing is
//! dropped; a retry does not count again). Past the limit, staff-initiated
//! messages still go out (a citizen at the counter must get their code);
//! a citizen's own request that would send one is refused with
//! [`REFUSAL`] and changes nothing.

use super::template::Initiator;

/// What a citizen sees when the day's budget is spent.
pub const REFUSAL: &str = "Hệ thống đã gửi hết số tin nhắn SMS cho phép trong ngày hôm nay nên chưa gửi được mã OTP. Vui lòng thử lại vào ngày mai, hoặc đến Bộ phận một cửa để được cán bộ hỗ trợ.";

/// Whether a message of `segments` may be queued when `used` segments have
/// been queued today.
pub fn allows(limit: Option<u64>, initiator: Initiator, used: u64, segments: u64) -> bool {
    match (limit, initiator) {
        (None, _) => true,
        (Some(_), Initiator::Staff) => true,
        (Some(limit), _) => used.saturating_add(segments) <= limit,
    }
}

/// How the dashboard describes the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// No limit, or under 80 % of it.
    Fine,
    /// 80 % or more used.
    Near,
    /// The limit is reached: citizens' requests are refused.
    Spent,
}

pub fn level(limit: Option<u64>, used: u64) -> Level {
    match limit {
        None => Level::Fine,
        Some(l) if used >= l => Level::Spent,
        Some(l) if used.saturating_mul(5) >= l.saturating_mul(4) => Level::Near,
        Some(_) => Level::Fine,
    }
}

/// Seconds from `now` to the next local midnight (UTC+7): when the budget
/// starts again (the `Retry-After` of a refusal).
pub fn until_next_day(now: i64) -> i64 {
    const DAY: i64 = 86_400;
    let local = now + 7 * 3600;
    DAY - local.rem_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_always_citizens_within_the_limit() {
        assert!(allows(None, Initiator::Citizen, 1_000_000, 2));
        assert!(allows(Some(10), Initiator::Citizen, 8, 2));
        assert!(!allows(Some(10), Initiator::Citizen, 9, 2));
        assert!(!allows(Some(10), Initiator::Citizen, 10, 1));
        assert!(allows(Some(10), Initiator::Staff, 10, 2));
        assert!(allows(Some(0), Initiator::Staff, 0, 1));
        assert!(!allows(Some(0), Initiator::Citizen, 0, 1));
        // Messages queued before the mark existed are not refused
        // retroactively, but new ones always carry a mark.
        assert!(!allows(Some(1), Initiator::Unknown, 1, 1));
    }

    #[test]
    fn levels() {
        assert_eq!(level(None, 99), Level::Fine);
        assert_eq!(level(Some(100), 79), Level::Fine);
        assert_eq!(level(Some(100), 80), Level::Near);
        assert_eq!(level(Some(100), 100), Level::Spent);
        assert_eq!(level(Some(100), 130), Level::Spent);
        assert_eq!(level(Some(0), 0), Level::Spent);
    }

    #[test]
    fn next_local_midnight() {
        // 26/11/2025 08:00 Vietnam time = 01:00 UTC.
        let t = 1_764_118_800;
        assert_eq!(until_next_day(t), 16 * 3600);
        // 23:59:59 local: one second left.
        assert_eq!(until_next_day(t + 16 * 3600 - 1), 1);
        // Local midnight exactly: a whole day.
        assert_eq!(until_next_day(t + 16 * 3600), 86_400);
    }
}
