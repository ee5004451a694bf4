//! The audit log: who did what to which object, when, from where.

use super::WriteTx;
use serde::{Deserialize, Serialize};

use super::{Result, Table, Tx, meta};

pub const AUDIT: Table<AuditEntry> = Table::new("audit");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: u64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    /// The object acted on, with citizen data masked.
    pub object: String,
    pub ip: String,
    pub detail: String,
}

pub fn record(
    w: &WriteTx,
    at: i64,
    actor: &str,
    action: &str,
    object: &str,
    ip: &str,
    detail: &str,
) -> Result<u64> {
    let id = meta::next_id(w, "audit")?;
    AUDIT.put(
        w,
        &id,
        &AuditEntry {
            id,
            at,
            actor: actor.into(),
            action: action.into(),
            object: object.into(),
            ip: ip.into(),
            detail: detail.into(),
        },
    )?;
    Ok(id)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Newest first, at most `limit` entries matching the filter.
pub fn search(tx: &impl Tx, f: &AuditFilter, limit: usize) -> Result<Vec<AuditEntry>> {
    let mut out = vec![];
    AUDIT.scan_all(tx, true, |_, e| {
        if f.to.is_some_and(|t| e.at > t) {
            return Ok(true);
        }
        if f.from.is_some_and(|t| e.at < t) {
            return Ok(false);
        }
        let ok = f
            .actor
            .as_ref()
            .is_none_or(|a| e.actor.contains(a.as_str()))
            && f.action
                .as_ref()
                .is_none_or(|a| e.action.contains(a.as_str()));
        if ok {
            out.push(e);
        }
        Ok(out.len() < limit)
    })?;
    Ok(out)
}
