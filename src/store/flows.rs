//! Multi-step journeys in progress (sign-in, registration, reset, staff
//! account creation). Each flow carries its own OTP state, so a code is bound
//! to the flow that asked for it.

use serde::{Deserialize, Serialize};

use super::{Result, Table};
use crate::otp::OtpState;

pub const FLOWS: Table<Flow> = Table::new("flows");
/// phone → send timestamps of the last 24 hours (OTP send caps).
pub const OTP_SENDS: Table<Vec<i64>> = Table::new("otp_sends");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub id: String,
    /// e.g. "staff_login", "setup", "registration"
    pub kind: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub username: Option<String>,
    /// Where the OTP goes (0xxxxxxxxx), if any.
    pub phone: Option<String>,
    pub otp: Option<OtpState>,
    /// The OTP step is done.
    pub verified: bool,
    /// Flow-specific data, postcard-encoded by the flow's owner.
    pub payload: Vec<u8>,
    pub ip: String,
}

impl Flow {
    /// A flow `id` of `kind` created `now`, ending at `expires_at`: nobody
    /// named, no phone, no code, no payload, no IP (set what applies with
    /// `Flow { .., ..Flow::new(..) }`).
    pub fn new(id: String, kind: &str, now: i64, expires_at: i64) -> Flow {
        Flow {
            id,
            kind: kind.to_string(),
            created_at: now,
            expires_at,
            username: None,
            phone: None,
            otp: None,
            verified: false,
            payload: vec![],
            ip: String::new(),
        }
    }
}

pub fn purge_expired(w: &crate::store::WriteTx, now: i64) -> Result<Vec<Flow>> {
    let mut dead = vec![];
    FLOWS.scan_all(w, false, |_, f| {
        if f.expires_at < now {
            dead.push(f);
        }
        Ok(true)
    })?;
    for f in &dead {
        FLOWS.delete(w, &f.id)?;
    }
    Ok(dead)
}
