//! Text helpers shared by the domain types: Unicode normalisation and the
//! accent-insensitive "fold" used for searching and comparing Vietnamese text.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Returns `s` in Unicode Normalization Form C (the form we store).
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Folds text for search and comparison: NFD-decomposes, drops combining
/// marks (tones and vowel marks), maps đ/Đ to `d`, lowercases, collapses
/// whitespace runs to one space and trims.
///
/// `"Nguyễn Văn A"` → `"nguyen van a"`; NFC and NFD input fold the same.
/// The Icelandic eth `Ð`/`ð`, which looks exactly like `Đ` and is sometimes
/// typed instead of it, is also mapped to `d`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        match c {
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            _ => {
                // Lowercasing may itself produce combining marks (e.g. 'İ').
                for lower in c.to_lowercase() {
                    if !is_combining_mark(lower) {
                        out.push(lower);
                    }
                }
            }
        }
    }
    out
}

/// Keeps only the ASCII digits of `s`.
pub fn digits_only(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Trims `s` and replaces every run of whitespace inside it with one space.
pub fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_composes_decomposed_vietnamese() {
        let nfd: String = "Nguyễn Thị Phương".nfd().collect();
        assert_ne!(nfd, "Nguyễn Thị Phương");
        assert_eq!(nfc(&nfd), "Nguyễn Thị Phương");
        assert_eq!(nfc("abc"), "abc");
        assert_eq!(nfc(""), "");
    }

    #[test]
    fn fold_examples() {
        let cases = [
            ("Nguyễn Văn A", "nguyen van a"),
            ("  Trần   Thị\tBích\nNgọc  ", "tran thi bich ngoc"),
            ("ĐẶNG ĐỨC ĐẠT", "dang duc dat"),
            ("đường Đồng Khởi", "duong dong khoi"),
            ("Phạm Thị Thúy Hà", "pham thi thuy ha"),
            ("Ưng Hoàng Phúc", "ung hoang phuc"),
            ("Lê Ơn", "le on"),
            ("ăâêôơư ĂÂÊÔƠƯ", "aaeoou aaeoou"),
            ("áàảãạ ắằẳẵặ ấầẩẫậ", "aaaaa aaaaa aaaaa"),
            ("Ðinh Bộ Lĩnh", "dinh bo linh"),
            ("İstanbul", "istanbul"),
            ("BỘ PHẬN MỘT CỬA", "bo phan mot cua"),
            ("", ""),
            ("   ", ""),
            ("a\u{00A0}\u{00A0}b", "a b"),
            ("Hello, World! 123", "hello, world! 123"),
        ];
        for (input, expected) in cases {
            assert_eq!(fold(input), expected, "fold({input:?})");
        }
    }

    #[test]
    fn fold_is_the_same_for_nfc_and_nfd() {
        for s in [
            "Nguyễn Văn A",
            "Trung tâm Phục vụ hành chính công",
            "Bộ phận một cửa",
            "Huỳnh Thị Ngọc Hân",
            "Đỗ Quang Đạo",
        ] {
            let nfd: String = s.nfd().collect();
            let nfkd: String = s.nfkd().collect();
            assert_eq!(fold(&nfd), fold(s));
            assert_eq!(fold(&nfkd), fold(s));
        }
    }

    #[test]
    fn digits_only_keeps_ascii_digits() {
        assert_eq!(digits_only("+84 (912) 345-678"), "84912345678");
        assert_eq!(digits_only("abc"), "");
        assert_eq!(digits_only("０１２"), "", "full-width digits are not ASCII");
        assert_eq!(digits_only("0.9.1"), "091");
    }

    #[test]
    fn collapse_whitespace_trims_and_collapses() {
        assert_eq!(collapse_whitespace("  a   b \t c\n"), "a b c");
        assert_eq!(collapse_whitespace(""), "");
        assert_eq!(collapse_whitespace(" \u{00A0} "), "");
        assert_eq!(collapse_whitespace("x"), "x");
    }
}
