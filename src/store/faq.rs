//! The office's knowledge-base edits: published versions (each holds the
//! whole overlay laid over the embedded `faq/`, so restoring one is
//! copying it), the office's evaluation cases (questions staff assigned to
//! an intent or marked out of scope), and which unanswered questions were
//! handled. The embedded `faq/` stays the starting content; version 0 is
//! "no edits".
//!
//! The overlay is kept as JSON inside the row (serde defaults on every
//! field), so a later build can add fields without a migration.

use std::collections::HashSet;

use super::WriteTx;
use serde::{Deserialize, Serialize};

use super::{Result, StoreError, Table, Tx, meta};
use crate::helpdesk::edit::Overlay;

/// version BE → a published version.
pub const VERSIONS: Table<Version> = Table::new("faq_versions");
/// id BE → an evaluation case the office added.
pub const CASES: Table<Case> = Table::new("faq_cases");
/// unanswered question id BE → how it was handled.
pub const HANDLED: Table<Handled> = Table::new("faq_handled");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub version: u64,
    pub created_at: i64,
    /// The staff member's username.
    pub by: String,
    /// What changed, in Vietnamese ("Sửa chủ đề “…”").
    pub summary: String,
    /// The whole overlay of this version, as JSON.
    pub overlay_json: String,
    /// The evaluation when it was published (0..=1).
    pub in_scope: f64,
    pub abstain: f64,
    /// Set when this version restored an older one.
    pub restored_from: Option<u64>,
}

impl Version {
    pub fn new(
        version: u64,
        created_at: i64,
        by: &str,
        summary: &str,
        overlay: &Overlay,
        (in_scope, abstain): (f64, f64),
        restored_from: Option<u64>,
    ) -> Result<Version> {
        Ok(Version {
            version,
            created_at,
            by: by.to_string(),
            summary: summary.to_string(),
            overlay_json: serde_json::to_string(overlay).map_err(|e| StoreError::Corrupt {
                table: VERSIONS.name,
                message: e.to_string(),
            })?,
            in_scope,
            abstain,
            restored_from,
        })
    }

    /// The overlay this version holds.
    pub fn overlay(&self) -> Result<Overlay> {
        serde_json::from_str(&self.overlay_json).map_err(|e| StoreError::Corrupt {
            table: VERSIONS.name,
            message: format!("version {}: {e}", self.version),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: u64,
    /// The question (redacted like every stored unanswered question).
    pub q: String,
    /// The intent it belongs to; `None`: out of scope.
    pub intent: Option<String>,
    pub at: i64,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handled {
    pub at: i64,
    pub by: String,
    /// The intent it was assigned to; `None`: marked out of scope.
    pub intent: Option<String>,
    /// The version that took it in.
    pub version: u64,
}

/// The newest published version, if any.
pub fn latest(tx: &impl Tx) -> Result<Option<Version>> {
    let mut out = None;
    VERSIONS.scan_all(tx, true, |_, v| {
        out = Some(v);
        Ok(false)
    })?;
    Ok(out)
}

/// The number of the newest version (0: the embedded knowledge base).
/// A point read: instances poll it every second.
pub fn latest_number(tx: &impl Tx) -> Result<u64> {
    let mut out = 0;
    tx.scan_raw(
        VERSIONS.name,
        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
        true,
        &mut |k, _| {
            out = <[u8; 8]>::try_from(k).map(u64::from_be_bytes).unwrap_or(0);
            Ok(false)
        },
    )?;
    Ok(out)
}

pub fn get(tx: &impl Tx, version: u64) -> Result<Option<Version>> {
    VERSIONS.get(tx, &version)
}

/// Versions, newest first, at most `limit`.
pub fn list(tx: &impl Tx, limit: usize) -> Result<Vec<Version>> {
    let mut out = vec![];
    VERSIONS.scan_all(tx, true, |_, v| {
        out.push(v);
        Ok(out.len() < limit)
    })?;
    Ok(out)
}

pub fn insert(w: &WriteTx, v: &Version) -> Result<()> {
    VERSIONS.put(w, &v.version, v)
}

pub fn add_case(w: &WriteTx, q: &str, intent: Option<&str>, at: i64, by: &str) -> Result<u64> {
    let id = meta::next_id(w, CASES.name)?;
    CASES.put(
        w,
        &id,
        &Case {
            id,
            q: q.to_string(),
            intent: intent.map(str::to_string),
            at,
            by: by.to_string(),
        },
    )?;
    Ok(id)
}

/// Every evaluation case the office added, oldest first.
pub fn cases(tx: &impl Tx) -> Result<Vec<Case>> {
    CASES.all(tx)
}

pub fn mark_handled(w: &WriteTx, unanswered: u64, h: &Handled) -> Result<()> {
    HANDLED.put(w, &unanswered, h)
}

/// Ids of the unanswered questions already handled.
pub fn handled_ids(tx: &impl Tx) -> Result<HashSet<u64>> {
    let mut out = HashSet::new();
    HANDLED.scan_all(tx, false, |k, _| {
        if let Ok(b) = <[u8; 8]>::try_from(k) {
            out.insert(u64::from_be_bytes(b));
        }
        Ok(true)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn versions_cases_and_handled_questions_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db.redb")).unwrap();
        assert_eq!(s.read(latest_number).unwrap(), 0);
        assert!(s.read(latest).unwrap().is_none());
        let mut o = Overlay::default();
        o.retired.insert("captcha".into());
        for n in 1..=3u64 {
            let v =
                Version::new(n, 100 + n as i64, "quantri", "Sửa", &o, (0.95, 0.9), None).unwrap();
            s.write(|w| insert(w, &v)).unwrap();
        }
        assert_eq!(s.read(latest_number).unwrap(), 3);
        let l = s.read(latest).unwrap().unwrap();
        assert_eq!(l.version, 3);
        assert_eq!(l.overlay().unwrap(), o);
        let all = s.read(|r| list(r, 2)).unwrap();
        assert_eq!(
            all.iter().map(|v| v.version).collect::<Vec<_>>(),
            vec![3, 2]
        );
        s.write(|w| {
            add_case(w, "giá vàng", None, 1, "quantri")?;
            add_case(w, "quen mk", Some("forgot-password"), 2, "quantri")?;
            mark_handled(
                w,
                7,
                &Handled {
                    at: 1,
                    by: "quantri".into(),
                    intent: None,
                    version: 3,
                },
            )
        })
        .unwrap();
        let c = s.read(cases).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].intent.as_deref(), Some("forgot-password"));
        assert_eq!(s.read(handled_ids).unwrap(), HashSet::from([7]));
        // An overlay written by a build with fewer fields still reads.
        let old = Version {
            overlay_json: "{\"retired\":[\"captcha\"]}".into(),
            ..l
        };
        assert_eq!(old.overlay().unwrap(), o);
    }
}
