//! Staff-assisted citizen accounts (seed part I): look up an ID number, fill
//! in the request with the scanned ID, print the request form, send the OTP
//! to the citizen's phone, create the account with the latest OTP; and the
//! list of accounts created by staff.
//!
//! A request in progress is a flow of kind [`FLOW_KIND`] owned by the staff
//! member who started it (nobody else sees it), expiring after
//! [`REQUEST_TTL`]; its scanned ID is stored at once and removed with the
//! request if the account is never created.

mod account;
mod in_progress;
mod list;
mod request;

pub use account::{account, account_by_seq, account_pdf, note_view, scan_file};
pub use in_progress::{RequestView, cancel, confirm, get_request, request_pdf, send_otp, sweep};
pub use list::{ListFilter, ListItem, ListPage, filter_units, list};
pub use request::{NewRequest, create_request};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::domain::{CitizenId, Permission};
use crate::error::{AppError, AppResult};
use crate::flows::Actor;
use crate::store::citizens::ScanRef;
use crate::store::flows::Flow;
use crate::store::{accounts, audit, citizens};

pub const FLOW_KIND: &str = "citizen_account";
/// A request left half-done expires after this many seconds.
pub const REQUEST_TTL: i64 = 3600;
/// Look-ups per staff member: this many per window...
pub const LOOKUPS_PER_WINDOW: usize = 20;
pub const LOOKUP_WINDOW: i64 = 600;
/// ...and this many per day.
pub const LOOKUPS_PER_DAY: usize = 300;
pub const DEFAULT_PER_PAGE: u64 = 20;
pub const MAX_PER_PAGE: u64 = 100;

pub const MSG_EXISTS: &str =
    "Công dân đã có tài khoản trên Cổng Dịch vụ công quốc gia, không cần tạo mới.";
const MSG_NOT_FOUND: &str = "Không tìm thấy yêu cầu tạo tài khoản.";
const MSG_NO_ACCOUNT: &str = "Không tìm thấy tài khoản công dân.";

/// What a request in progress holds (the flow's payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestData {
    pub code: String,
    pub id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub phone: String,
    pub email: Option<String>,
    pub unit: u64,
    pub unit_name: String,
    pub staff: String,
    pub staff_name: String,
    pub staff_phone: String,
    pub created_at: i64,
    pub scan: ScanRef,
}

fn decode(flow: &Flow) -> AppResult<RequestData> {
    postcard::from_bytes(&flow.payload)
        .map_err(|e| AppError::internal_from("bad request payload", e))
}

/// The actor must hold the permission somewhere.
fn require_any(actor: &Actor) -> AppResult<()> {
    if actor.account.has_any(Permission::CitizenAccountsCreate) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The actor may see accounts of `unit`; other units' objects do not exist
/// for them.
fn require_unit(app: &App, actor: &Actor, unit: u64, not_found: &str) -> AppResult<()> {
    require_any(actor)?;
    if app
        .tree()
        .allows(&actor.account, Permission::CitizenAccountsCreate, unit)
    {
        Ok(())
    } else {
        Err(AppError::NotFound(not_found.into()))
    }
}

fn object(id: &CitizenId) -> String {
    format!("citizen:{}", id.masked())
}

fn object_str(id: &str) -> String {
    match CitizenId::parse(id) {
        Ok(c) => object(&c),
        Err(_) => "citizen:?".into(),
    }
}

fn today(app: &App) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(app.now() + 7 * 3600, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Serialize)]
pub struct Lookup {
    pub id_number: String,
    pub exists: bool,
    pub phone_masked: Option<String>,
}

/// Is there an account with this ID number? Audited and rate-limited per
/// staff member.
pub async fn lookup(app: &Arc<App>, actor: &Actor, id_number: &str) -> AppResult<Lookup> {
    require_any(actor)?;
    let id = CitizenId::parse(id_number).map_err(|e| AppError::field("id_number", e.0))?;
    let now = app.now();
    let (me, ip) = (actor.username().to_string(), actor.ip.clone());
    app.db(move |app| {
        app.store.write(|w| {
            if let Err(wait) = citizens::note_lookup(
                w,
                &me,
                now,
                LOOKUPS_PER_WINDOW,
                LOOKUP_WINDOW,
                LOOKUPS_PER_DAY,
            )? {
                return Err(AppError::Limited {
                    message: format!(
                        "Anh/chị đã tra cứu quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau {wait} giây."
                    ),
                    retry_after: wait,
                });
            }
            let found = match accounts::by_id_number(w, id.as_str())? {
                Some(a) => Some(a),
                None => accounts::get(w, id.as_str())?,
            };
            audit::record(
                w,
                now,
                &me,
                "citizen_lookup",
                &object(&id),
                &ip,
                if found.is_some() { "đã có tài khoản" } else { "chưa có tài khoản" },
            )?;
            Ok(Lookup {
                id_number: id.as_str().to_string(),
                exists: found.is_some(),
                phone_masked: found.map(|a| crate::domain::phone::mask(&a.phone)),
            })
        })
    })
    .await
}
