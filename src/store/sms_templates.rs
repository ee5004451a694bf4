//! The office's edits of the SMS templates (`sms::template`). A template
//! without a row here uses its default (today's text).

use super::WriteTx;
use serde::{Deserialize, Serialize};

use super::{Result, Table, Tx};

/// template key → the office's text.
pub const SMS_TEMPLATES: Table<Stored> = Table::new("sms_templates");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub text: String,
    /// "Bỏ dấu": send this template unaccented (GSM-7) even when unicode
    /// is on for the deployment.
    pub unaccent: bool,
    pub updated_at: i64,
    pub updated_by: String,
}

/// The text and switch in use for template `key` (`None`: the default).
pub fn get(tx: &impl Tx, key: &str) -> Result<Option<Stored>> {
    SMS_TEMPLATES.get(tx, key)
}

/// Every edited template, by key.
pub fn all(tx: &impl Tx) -> Result<Vec<(String, Stored)>> {
    let mut out = vec![];
    SMS_TEMPLATES.scan_all(tx, false, |k, v| {
        out.push((String::from_utf8_lossy(k).into_owned(), v));
        Ok(true)
    })?;
    Ok(out)
}

pub fn put(w: &WriteTx, key: &str, value: &Stored) -> Result<()> {
    SMS_TEMPLATES.put(w, key, value)
}

/// Back to the default; true when there was an edit.
pub fn reset(w: &WriteTx, key: &str) -> Result<bool> {
    SMS_TEMPLATES.delete(w, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn edits_are_kept_and_reset() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        assert_eq!(s.read(|r| get(r, "otp-dang-ky")).unwrap(), None);
        let v = Stored {
            text: "Ma OTP: {ma_otp}".into(),
            unaccent: true,
            updated_at: 5,
            updated_by: "quantri".into(),
        };
        s.write(|w| put(w, "otp-dang-ky", &v)).unwrap();
        assert_eq!(s.read(|r| get(r, "otp-dang-ky")).unwrap(), Some(v.clone()));
        assert_eq!(s.read(all).unwrap(), vec![("otp-dang-ky".to_string(), v)]);
        assert!(s.write(|w| reset(w, "otp-dang-ky")).unwrap());
        assert!(!s.write(|w| reset(w, "otp-dang-ky")).unwrap());
        assert_eq!(s.read(|r| get(r, "otp-dang-ky")).unwrap(), None);
    }
}
