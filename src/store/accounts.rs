//! Accounts: one per person (ID number), used for the portal and, with grants,
//! for the console.

use super::WriteTx;
use serde::{Deserialize, Serialize};

use super::{Index, Result, Table, Tx, key};
use crate::domain::{Permission, PermissionSet};

pub const ACCOUNTS: Table<Account> = Table::new("accounts");
/// id_number → username
pub const BY_ID_NUMBER: Table<String> = Table::new("accounts_by_id_number");
/// (phone, username) → ()
pub const BY_PHONE: Index = Table::new("accounts_by_phone");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// Created from the command line or the setup link.
    Bootstrap,
    /// Created by an admin as a staff account.
    StaffByAdmin,
    /// Created by one-stop staff for a citizen at the counter.
    CitizenByStaff,
    /// Registered by the citizen on the portal.
    SelfRegistered,
}

pub use crate::domain::permission::{Grant, Holder};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub username: String,
    pub id_number: Option<String>,
    pub full_name: String,
    pub birth_date: Option<String>,
    /// 0xxxxxxxxx
    pub phone: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub must_change_password: bool,
    /// Province admin: sees and manages everything.
    pub superadmin: bool,
    /// Units the person works in (staff). Empty for citizens.
    pub units: Vec<u64>,
    pub grants: Vec<Grant>,
    pub origin: Origin,
    pub created_at: i64,
    pub created_by: Option<String>,
    pub created_unit: Option<u64>,
    pub failed_logins: u32,
    pub locked_until: i64,
    /// Bumped when the password changes or sessions must end.
    pub session_epoch: u32,
    pub disabled: bool,
}

impl Account {
    pub fn is_staff(&self) -> bool {
        self.superadmin || !self.units.is_empty() || !self.grants.is_empty()
    }

    /// Permissions granted on exactly `unit` (not inherited).
    pub fn grant_on(&self, unit: u64) -> PermissionSet {
        self.grants
            .iter()
            .find(|g| g.unit == unit)
            .map(|g| g.perms)
            .unwrap_or_default()
    }

    pub fn set_grant(&mut self, unit: u64, perms: PermissionSet) {
        self.grants.retain(|g| g.unit != unit);
        if !perms.is_empty() {
            self.grants.push(Grant { unit, perms });
        }
    }

    pub fn has_any(&self, p: Permission) -> bool {
        self.superadmin || self.grants.iter().any(|g| g.perms.contains(p))
    }
}

pub fn ensure_tables(w: &WriteTx) -> Result<()> {
    ACCOUNTS.ensure(w)?;
    BY_ID_NUMBER.ensure(w)?;
    BY_PHONE.ensure(w)
}

pub fn get(tx: &impl Tx, username: &str) -> Result<Option<Account>> {
    ACCOUNTS.get(tx, username)
}

pub fn by_id_number(tx: &impl Tx, id_number: &str) -> Result<Option<Account>> {
    match BY_ID_NUMBER.get(tx, id_number)? {
        Some(u) => get(tx, &u),
        None => Ok(None),
    }
}

/// Finds an account by username, or by ID number (citizens sign in with it).
pub fn find_login(tx: &impl Tx, login: &str) -> Result<Option<Account>> {
    if let Some(a) = get(tx, login)? {
        return Ok(Some(a));
    }
    by_id_number(tx, login)
}

fn phone_key(phone: &str, username: &str) -> Vec<u8> {
    key(&[phone.as_bytes(), username.as_bytes()])
}

/// Inserts or replaces an account, keeping the indexes right.
pub fn put(w: &WriteTx, a: &Account) -> Result<()> {
    if let Some(old) = get(w, &a.username)? {
        if old.phone != a.phone {
            BY_PHONE.delete(w, &phone_key(&old.phone, &old.username))?;
        }
        if let Some(id) = old
            .id_number
            .as_ref()
            .filter(|_| old.id_number != a.id_number)
        {
            BY_ID_NUMBER.delete(w, id)?;
        }
    }
    if let Some(id) = &a.id_number {
        BY_ID_NUMBER.put(w, id, &a.username)?;
    }
    BY_PHONE.put(w, &phone_key(&a.phone, &a.username), &())?;
    ACCOUNTS.put(w, &a.username, a)
}

pub fn usernames_by_phone(tx: &impl Tx, phone: &str) -> Result<Vec<String>> {
    let mut out = vec![];
    let mut prefix = phone.as_bytes().to_vec();
    prefix.push(0);
    BY_PHONE.scan_prefix(tx, &prefix, false, |k, ()| {
        out.push(String::from_utf8_lossy(&k[prefix.len()..]).into_owned());
        Ok(true)
    })?;
    Ok(out)
}

pub fn all(tx: &impl Tx) -> Result<Vec<Account>> {
    ACCOUNTS.all(tx)
}

pub fn rebuild_phone_index(w: &WriteTx) -> Result<()> {
    BY_PHONE.ensure(w)?;
    for a in ACCOUNTS.all(w)? {
        BY_PHONE.put(w, &phone_key(&a.phone, &a.username), &())?;
    }
    Ok(())
}

impl Holder for Account {
    fn superadmin(&self) -> bool {
        self.superadmin
    }
    fn grants(&self) -> &[Grant] {
        &self.grants
    }
}
