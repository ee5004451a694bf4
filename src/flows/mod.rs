//! The journeys, channel-agnostic: a web page, the JSON API or the CLI call
//! these with domain values and get domain results.

pub mod access_requests;
pub mod admin;
pub mod chat;
pub mod citizen_accounts;
pub mod faq;
pub mod otp_flow;
pub mod otp_journey;
pub mod password_reset;
pub mod registration;
pub mod reports;
pub mod setup;
pub mod sign_in;
pub mod sms_templates;
pub mod staff_units;
pub mod unit_import;

use std::collections::BTreeMap;

use crate::domain::password::rules_message;
use crate::domain::{Password, PasswordContext};
use crate::store::accounts::Account;

/// Who is acting, and from where (for the audit log and rate limits).
#[derive(Debug, Clone)]
pub struct Actor {
    pub account: Account,
    pub ip: String,
    /// The session token, when the actor came through a session.
    pub token: Option<String>,
    /// Signed in to the console (true) or the portal (false).
    pub console: bool,
}

impl Actor {
    pub fn username(&self) -> &str {
        &self.account.username
    }
}

/// The field errors of a new password and its confirmation (empty when
/// both are fine): the policy's broken rules, then a confirmation that
/// differs.
pub fn new_password_fields(
    password: &str,
    confirm: &str,
    ctx: &PasswordContext<'_>,
) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    if let Err(rules) = Password::parse(password, ctx) {
        fields.insert("password".to_string(), rules_message(&rules));
    }
    if password != confirm {
        fields.insert(
            "password_confirm".into(),
            "Mật khẩu xác nhận không khớp.".into(),
        );
    }
    fields
}
