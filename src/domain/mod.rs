//! Pure domain types of `motcua`: values that can only exist once they have
//! passed the rules of the product ("parse, don't validate").
//!
//! Every constructor returns an [`Invalid`] (or, for passwords, the list of
//! broken [`PasswordRule`]s) whose message is polite Vietnamese for the user.

/// `TryFrom<String>`, `TryFrom<&str>` and `FromStr` for a type whose
/// `parse(&str) -> Result<Self, Invalid>` is the only way in.
macro_rules! parsed_from_str {
    ($t:ident) => {
        impl TryFrom<String> for $t {
            type Error = $crate::domain::Invalid;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $t::parse(&s)
            }
        }

        impl TryFrom<&str> for $t {
            type Error = $crate::domain::Invalid;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                $t::parse(s)
            }
        }

        impl std::str::FromStr for $t {
            type Err = $crate::domain::Invalid;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $t::parse(s)
            }
        }
    };
}

/// The accessor and conversions of a checked string newtype `$t(String)`:
/// `as_str` (documented with `$doc`), `AsRef<str>`, `Display` and
/// `From<$t> for String` show the held text; the [`parsed_from_str!`]
/// ones parse it.
macro_rules! string_newtype {
    ($t:ident, $doc:literal) => {
        impl $t {
            #[doc = $doc]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }

        parsed_from_str!($t);
    };
}

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
pub mod username;

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
