//! Staff access requests: a portal account asks for one-stop permissions.

use serde::{Deserialize, Serialize};

use super::{Result, Table, Tx, WriteTx, counters};

pub const REQUESTS: Table<AccessRequest> = Table::new("access_requests");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Pending,
    Approved,
    Rejected,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
        }
    }
    pub fn label_vi(&self) -> &'static str {
        match self {
            Status::Pending => "Chờ duyệt",
            Status::Approved => "Đã duyệt",
            Status::Rejected => "Từ chối",
        }
    }
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "pending" => Some(Status::Pending),
            "approved" => Some(Status::Approved),
            "rejected" => Some(Status::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    pub id: u64,
    pub username: String,
    pub unit: u64,
    pub position: String,
    pub work_phone: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
    pub status: Status,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub reason: Option<String>,
    pub permissions: Vec<String>,
}

pub fn all(tx: &impl Tx) -> Result<Vec<AccessRequest>> {
    let mut out = vec![];
    REQUESTS.scan_all(tx, true, |_, r| {
        out.push(r);
        Ok(true)
    })?;
    Ok(out)
}

/// Saves a request, keeping the count of pending requests per unit in step.
pub fn put(w: &WriteTx, r: &AccessRequest) -> Result<()> {
    if let Some(old) = REQUESTS.get(w, &r.id)?
        && old.status == Status::Pending
    {
        counters::add(w, counters::ACCESS_PENDING, old.unit, -1)?;
    }
    if r.status == Status::Pending {
        counters::add(w, counters::ACCESS_PENDING, r.unit, 1)?;
    }
    REQUESTS.put(w, &r.id, r)
}

/// Recounts the pending requests per unit (a migration step).
pub fn rebuild_counters(w: &WriteTx) -> Result<()> {
    let units: Vec<u64> = all(w)?
        .iter()
        .filter(|r| r.status == Status::Pending)
        .map(|r| r.unit)
        .collect();
    counters::rebuild(w, counters::ACCESS_PENDING, units)
}
