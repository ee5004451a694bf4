//! What an SMS text costs: its encoding (GSM-7 or UCS-2), its length as
//! the network counts it, and its segments; and the unaccented form of a
//! Vietnamese text (`MOTCUA_SMS_UNICODE=off`).
//!
//! GSM 03.38: a message in the default alphabet holds 160 septets in one
//! segment, 153 per segment when split; characters of the extension table
//! (`^{}\[~]|€`) take two septets. Anything else makes the message UCS-2:
//! 70 characters in one segment, 67 per segment when split (characters
//! outside the BMP take two).

use unicode_normalization::UnicodeNormalization;

/// The default GSM 03.38 alphabet (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table (two septets each: escape + character).
const GSM_EXT: &str = "^{}\\[~]|€\u{000C}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl Encoding {
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2 (Unicode)",
        }
    }
}

/// How the network counts a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub encoding: Encoding,
    /// Characters as the network counts them (septets for GSM-7, UTF-16
    /// code units for UCS-2).
    pub units: usize,
    pub segments: usize,
}

/// The encoding, length and number of segments of `text`.
pub fn cost(text: &str) -> Cost {
    let mut septets = 0usize;
    let mut gsm = true;
    for c in text.chars() {
        if GSM_BASIC.contains(c) {
            septets += 1;
        } else if GSM_EXT.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    if gsm {
        let segments = match septets {
            0 => 1,
            n if n <= 160 => 1,
            n => n.div_ceil(153),
        };
        return Cost {
            encoding: Encoding::Gsm7,
            units: septets,
            segments,
        };
    }
    let units: usize = text.chars().map(char::len_utf16).sum();
    let segments = match units {
        0 => 1,
        n if n <= 70 => 1,
        n => n.div_ceil(67),
    };
    Cost {
        encoding: Encoding::Ucs2,
        units,
        segments,
    }
}

/// The text without Vietnamese diacritics (đ → d, Đ → D), so that it goes
/// as GSM-7. Other characters outside GSM-7 (curly quotes, dashes, …) are
/// replaced by their plain forms, or dropped when there is none.
pub fn unaccented(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        let mapped = match c {
            'đ' => 'd',
            'Đ' => 'D',
            '‘' | '’' | '‚' | '′' => '\'',
            '“' | '”' | '„' | '″' => '"',
            '–' | '—' | '−' => '-',
            '…' => {
                out.push_str("...");
                continue;
            }
            '\u{00A0}' => ' ',
            c => c,
        };
        if GSM_BASIC.contains(mapped) || GSM_EXT.contains(mapped) {
            out.push(mapped);
        } else if mapped.is_whitespace() {
            out.push(' ');
        }
    }
    out
}

/// The text as it will be sent: unaccented unless `unicode` is on.
pub fn for_sending(text: &str, unicode: bool) -> String {
    if unicode {
        text.to_string()
    } else {
        unaccented(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_is_gsm7_one_segment_up_to_160() {
        let t = "a".repeat(160);
        assert_eq!(
            cost(&t),
            Cost {
                encoding: Encoding::Gsm7,
                units: 160,
                segments: 1
            }
        );
        assert_eq!(cost(&"a".repeat(161)).segments, 2);
        assert_eq!(cost(&"a".repeat(306)).segments, 2);
        assert_eq!(cost(&"a".repeat(307)).segments, 3);
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let c = cost("{}");
        assert_eq!(c.encoding, Encoding::Gsm7);
        assert_eq!(c.units, 4);
    }

    #[test]
    fn vietnamese_is_ucs2_seventy_per_segment() {
        let c = cost("Mã OTP");
        assert_eq!(c.encoding, Encoding::Ucs2);
        assert_eq!(c.units, 6);
        assert_eq!(cost(&"ă".repeat(70)).segments, 1);
        assert_eq!(cost(&"ă".repeat(71)).segments, 2);
        assert_eq!(cost(&"ă".repeat(134)).segments, 2);
        assert_eq!(cost(&"ă".repeat(135)).segments, 3);
    }

    #[test]
    fn unaccented_removes_every_diacritic_and_keeps_gsm7() {
        let t = "Mã OTP đăng ký tài khoản là 123456, có hiệu lực trong 2 phút. ĐỪNG cung cấp “mã” này—cho ai…";
        let u = unaccented(t);
        assert_eq!(
            u,
            "Ma OTP dang ky tai khoan la 123456, co hieu luc trong 2 phut. DUNG cung cap \"ma\" nay-cho ai..."
        );
        assert_eq!(cost(&u).encoding, Encoding::Gsm7);
    }

    #[test]
    fn the_counter_otp_fits_one_segment_unaccented() {
        let t = "Mã OTP tạo tài khoản Cổng Dịch vụ công quốc gia của Ông/Bà là 123456, hiệu lực 2 phút. Chỉ đọc mã này cho cán bộ một cửa đang làm thủ tục cho Ông/Bà.";
        assert_eq!(cost(&unaccented(t)).segments, 1);
    }

    #[test]
    fn todays_otp_text_fits_one_segment_unaccented() {
        // The OTP text of flows::otp_flow, with its longest purpose.
        let t = "Mã OTP đăng ký tài khoản là 123456, có hiệu lực trong 2 phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai.";
        assert_eq!(cost(t).segments, 2);
        assert_eq!(cost(&unaccented(t)).segments, 1);
    }
}
