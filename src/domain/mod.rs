//! Pure domain types of `motcua`: values that can only exist once they have
//! passed the rules of the product ("parse, don't validate").
//!
//! Every constructor returns an [`Invalid`] (or, for passwords, the list of
//! broken [`PasswordRule`]s) whose message is polite Vietnamese for the user.

pub mod birth_date;
pub mod chat;
pub mod citizen_id;
pub mod email;
pub mod name;
pub mod password;
pub mod permission;
pub mod phone;
pub mod scan;
pub mod text;
pub mod unit;

pub use birth_date::BirthDate;
pub use chat::{Button, Channel, TicketStatus};
pub use citizen_id::{CitizenId, IdKind, Sex};
pub use email::Email;
pub use name::PersonName;
pub use password::{Password, PasswordContext, PasswordRule};
pub use permission::{Permission, PermissionSet};
pub use phone::{Carrier, PhoneNumber};
pub use scan::ScanKind;
pub use unit::UnitName;

/// A value refused by a domain rule; the message is Vietnamese, for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    /// Builds an error from a user-facing Vietnamese message.
    pub fn new(message: impl Into<String>) -> Self {
        Invalid(message.into())
    }

    /// The user-facing Vietnamese message.
    pub fn message(&self) -> &str {
        &self.0
    }
}
